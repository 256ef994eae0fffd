/**
 * Typed wrappers for the sealsync Tauri plugin: one function per command
 * (`invoke('plugin:sealsync|<command>')`) and {@link onSyncState} for the
 * controller's state event. Every function rejects with a {@link PluginError}.
 */
import { invoke } from '@tauri-apps/api/core'
import { listen, type UnlistenFn } from '@tauri-apps/api/event'

import type {
  CreatedView,
  DeviceView,
  EnableMode,
  EnabledView,
  PluginError,
  RecordFields,
  RecordKind,
  RecordView,
  RecoveryKeyView,
  Strength,
  SyncStateEvent,
  SyncStatusView,
  SyncSummaryView,
  UpdatedView,
  Uuid
} from './types'

export type * from './types'
export type { UnlistenFn }

/** Name of the event carrying {@link SyncStateEvent}. */
export const SYNC_STATE_EVENT = 'sealsync://state'

/** True when `e` has the `{ code, message }` shape the plugin rejects with. */
export function isPluginError(e: unknown): e is PluginError {
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof (e as PluginError).code === 'string' &&
    typeof (e as PluginError).message === 'string'
  )
}

/**
 * Turns whatever a rejected `invoke` carried into a {@link PluginError}, so
 * callers can always switch on `code` (a string rejection, e.g. a missing
 * permission, becomes `internal`).
 */
export function toPluginError(e: unknown): PluginError {
  if (isPluginError(e)) return { code: e.code, message: e.message }
  if (e instanceof Error) return { code: 'internal', message: e.message }
  return { code: 'internal', message: String(e) }
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(`plugin:sealsync|${command}`, args)
  } catch (e) {
    throw toPluginError(e)
  }
}

// --- sync settings ---------------------------------------------------------

/** Whether sync is on, where it syncs to, what waits, and the current state. */
export function status(): Promise<SyncStatusView> {
  return call('status')
}

/** Scores a passphrase (nothing is stored or sent to the server). */
export function passphraseStrength(passphrase: string): Promise<Strength> {
  return call('passphrase_strength', { passphrase })
}

/** Arguments of {@link enable}. */
export interface EnableArgs {
  mode: EnableMode
  serverUrl: string
  /** The account's name on the server (e.g. an email address); the same on every device. */
  accountName: string
  passphrase: string
  deviceName: string
}

/** Creates an account (`mode: "new"`) or joins one, and starts syncing. */
export function enable(args: EnableArgs): Promise<EnabledView> {
  return call('enable', { ...args })
}

/** Forgets the server and this device's keys; the journal stays. */
export function disable(): Promise<null> {
  return call('disable')
}

/** Syncs now and resolves with what moved. */
export function syncNow(): Promise<SyncSummaryView> {
  return call('sync_now')
}

/** The account's devices, this one marked `current`. */
export function devices(): Promise<DeviceView[]> {
  return call('devices')
}

/** Revokes a device; revoking the current one signs this device out. */
export function revokeDevice(deviceId: Uuid): Promise<null> {
  return call('revoke_device', { deviceId })
}

/** Re-wraps the account key under a new passphrase. */
export function changePassphrase(oldPassphrase: string, newPassphrase: string): Promise<null> {
  return call('change_passphrase', { oldPassphrase, newPassphrase })
}

/** Makes a new recovery key (the old one stops working); show it once. */
export function newRecoveryKey(passphrase: string): Promise<RecoveryKeyView> {
  return call('new_recovery_key', { passphrase })
}

/** Rotates the account's data key. */
export function rotateKey(passphrase: string): Promise<null> {
  return call('rotate_key', { passphrase })
}

/** Unlocks this device's keys after the app was told `needsPassphrase`. */
export function unlock(passphrase: string): Promise<null> {
  return call('unlock', { passphrase })
}

// --- records ---------------------------------------------------------------

/** Creates a record of `kind`. */
export function create(kind: RecordKind, fields: RecordFields): Promise<CreatedView> {
  return call('create', { kind, fields })
}

/** Replaces a record's fields. */
export function update(kind: RecordKind, id: Uuid, fields: RecordFields): Promise<UpdatedView> {
  return call('update', { kind, id, fields })
}

/** Deletes a record (kept as deleted so the deletion syncs). */
export function remove(kind: RecordKind, id: Uuid): Promise<null> {
  return call('delete', { kind, id })
}

/** One record by id. */
export function get(kind: RecordKind, id: Uuid): Promise<RecordView> {
  return call('get', { kind, id })
}

/** All records of `kind`, deleted ones too when asked. */
export function list(kind: RecordKind, includeDeleted = false): Promise<RecordView[]> {
  return call('list', { kind, includeDeleted })
}

// --- events ----------------------------------------------------------------

/** Calls `handler` with every state the sync controller reports. */
export function onSyncState(handler: (state: SyncStateEvent) => void): Promise<UnlistenFn> {
  return listen<SyncStateEvent>(SYNC_STATE_EVENT, (event) => handler(event.payload))
}
