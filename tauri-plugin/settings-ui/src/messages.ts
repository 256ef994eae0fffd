/**
 * Everything the panel says to a person: error codes and sync states turned
 * into plain sentences, and times in the user's local time. Kept apart from
 * the components so the wording is in one place (and free of protocol words).
 */
import type { PluginError, SyncStateEvent } from 'tauri-plugin-sealsync-api'

/** Plain sentence for a failed command; falls back to the plugin's message. */
export function errorText(e: PluginError): string {
  return knownErrorText(e) ?? `Something went wrong: ${e.message}`
}

/** Our own sentence for the codes that have one, else null. */
function knownErrorText(e: PluginError): string | null {
  switch (e.code) {
    case 'wrong_passphrase':
      return 'That passphrase is not right. Check it and try again.'
    case 'offline':
      return 'The sync server could not be reached. Check the address and your internet connection.'
    case 'rate_limited':
      return 'The sync server is busy. Wait a minute and try again.'
    case 'revoked':
      return 'This device was removed from your sync account.'
    case 'not_enabled':
      return 'Sync is off on this device.'
    case 'already_enabled':
      return 'Sync is already on. Turn it off first to use another account.'
    case 'weak_passphrase':
      return 'That passphrase is too easy to guess. Make it longer or less common.'
    case 'invalid_input':
      return e.message || 'Something you entered is not valid.'
    case 'not_found':
      return 'That could not be found. It may have been removed already.'
    case 'server_refused':
      return `The sync server said no: ${e.message}`
    case 'needs_unlock':
    case 'keys_changed':
      return 'Enter your passphrase first: the encryption key was renewed on another device.'
    case 'sync_busy':
      return 'A sync is already running. It will finish on its own.'
    case 'account_exists':
      return 'There is already an account on that server. Choose "Join" to use it from this device.'
    case 'registration_closed':
      return 'That sync server is not taking new accounts.'
    case 'wrong_recovery_key':
      return 'That recovery key is not right. Check it and try again.'
    case 'reenrol_required':
      return 'This device has to join your account again: turn sync off, then on.'
    case 'device_compromised':
      return "Someone else may be using this device's access to your sync account. Remove this device from another of your devices, then turn sync off and on here. Your unsent changes are kept."
    default:
      return null
  }
}

const timeFormat = (locale?: string) =>
  new Intl.DateTimeFormat(locale, { timeStyle: 'medium' })
const dateTimeFormat = (locale?: string) =>
  new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' })

/** A unix-ms time as the user's local date and time. */
export function localDateTime(ms: number, locale?: string): string {
  return dateTimeFormat(locale).format(new Date(ms))
}

/** A unix-ms time as the user's local time of day (for "next try at"). */
export function localTime(ms: number, locale?: string): string {
  return timeFormat(locale).format(new Date(ms))
}

/** ISO string for a `<time datetime>` attribute. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString()
}

/** One line describing the current sync state. */
export function stateText(s: SyncStateEvent, locale?: string): string {
  switch (s.state) {
    case 'disabled':
      return 'Sync is off.'
    case 'idle':
      return 'Sync is on. Waiting for changes.'
    case 'syncing': {
      const what = s.phase === 'upload' ? 'Sending your changes' : 'Getting changes from your other devices'
      return s.total === null ? `${what}…` : `${what}: ${s.done} of ${s.total}…`
    }
    case 'synced':
      return `Up to date. Last synced at ${localTime(s.at, locale)}.`
    case 'offline':
      return `Can't reach the sync server. Trying again at ${localTime(s.retryAt, locale)}.`
    case 'needsPassphrase':
      return 'Sync is paused until you enter your passphrase.'
    case 'revoked':
      return 'This device was removed from your sync account.'
    case 'error':
      return `Sync stopped: ${knownErrorText(s) ?? s.message}`
  }
}

/** A device's name, or plain words when this device cannot read it. */
export function deviceLabel(name: string | null): string {
  return name ?? 'Unnamed device'
}

/** Words for a passphrase strength score 0..4. */
export const strengthWords = ['Very weak', 'Weak', 'Fair', 'Good', 'Strong'] as const
