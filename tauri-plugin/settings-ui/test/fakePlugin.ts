/**
 * A stand-in for the sealsync plugin's Rust side, behind Tauri's own IPC mock
 * (`mockIPC` from @tauri-apps/api/mocks, with event mocking on). It answers
 * the contract's commands from a small in-memory account, records every
 * call, rejects with `{ code, message }` like the plugin, and emits
 * `sealsync://state` events the way the sync controller does.
 */
import { emit } from '@tauri-apps/api/event'
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks'
import type {
  DeviceView,
  PluginError,
  Strength,
  SyncStateEvent,
  SyncStatusView
} from 'tauri-plugin-sealsync-api'

export const T0 = Date.UTC(2026, 2, 14, 9, 30, 0) // 14 Mar 2026 09:30:00 UTC
export const THIS_DEVICE = '0b7c3d7e-2a8f-4c1e-9b52-6f0d3a1c9e01'
export const PHONE = '5d2e9f10-7c44-4b8a-a1d3-2e6b7f8c9a02'
export const OLD_TABLET = '9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c03'
export const RECOVERY_KEY = 'R7KD-9XQ2-M4TB-P8WN-3HJC-V6ZF-Y1GS-E5LA'
export const GOOD_PASSPHRASE = 'correct horse battery staple'

export interface Call {
  cmd: string
  args: Record<string, unknown> | undefined
}

export interface FakeOptions {
  enabled?: boolean
  state?: SyncStateEvent
  lastSyncAt?: number | null
  pending?: number
  quarantined?: number
  /** Makes the next call of a command reject with this error. */
  failNext?: Partial<Record<string, PluginError>>
}

export class FakePlugin {
  calls: Call[] = []
  enabled: boolean
  state: SyncStateEvent
  lastSyncAt: number | null
  pending: number
  quarantined: number
  failNext: Partial<Record<string, PluginError>>
  passphrase = GOOD_PASSPHRASE
  devices: DeviceView[]

  constructor(o: FakeOptions = {}) {
    this.enabled = o.enabled ?? false
    this.state = o.state ?? (this.enabled ? { state: 'idle' } : { state: 'disabled' })
    this.lastSyncAt = o.lastSyncAt ?? (this.enabled ? T0 : null)
    this.pending = o.pending ?? 0
    this.quarantined = o.quarantined ?? 0
    this.failNext = { ...o.failNext }
    this.devices = this.enabled ? this.defaultDevices() : []
    mockIPC((cmd, args) => this.handle(cmd, args as Record<string, unknown> | undefined), {
      shouldMockEvents: true
    })
  }

  defaultDevices(): DeviceView[] {
    return [
      { id: THIS_DEVICE, name: 'Laptop', createdAt: T0 - 86_400_000, lastSeenAt: T0, revoked: false, current: true },
      { id: PHONE, name: 'Phone', createdAt: T0 - 3_600_000, lastSeenAt: null, revoked: false, current: false },
      { id: OLD_TABLET, name: null, createdAt: T0 - 7_200_000, lastSeenAt: T0 - 7_000_000, revoked: true, current: false }
    ]
  }

  /** The commands called so far, with their arguments, under `plugin:sealsync|`. */
  called(cmd: string): Call[] {
    return this.calls.filter((c) => c.cmd === cmd)
  }

  /** Emits a state event as the controller would. */
  async emitState(s: SyncStateEvent): Promise<void> {
    this.state = s
    await emit('sealsync://state', s)
  }

  status(): SyncStatusView {
    return {
      enabled: this.enabled,
      serverUrl: this.enabled ? 'https://sync.example.org' : null,
      deviceId: this.enabled ? THIS_DEVICE : null,
      deviceName: null, // the plugin does not know it yet; devices() does
      lastSyncAt: this.lastSyncAt,
      pending: this.pending,
      quarantined: this.quarantined,
      conflicts: 0,
      keyStorage: this.enabled ? 'keychain' : null,
      state: this.state
    }
  }

  strength(p: string): Strength {
    const score = Math.min(4, Math.floor(p.length / 6)) as Strength['score']
    return {
      score,
      acceptable: score >= 3,
      warning: score < 3 ? 'Short passphrases are easy to guess.' : null,
      suggestions: score < 3 ? ['Add another word or two.'] : []
    }
  }

  private handle(full: string, args: Record<string, unknown> | undefined): unknown {
    const prefix = 'plugin:sealsync|'
    if (!full.startsWith(prefix)) throw { code: 'internal', message: `unexpected ${full}` }
    const cmd = full.slice(prefix.length)
    this.calls.push({ cmd, args })
    const fail = this.failNext[cmd]
    if (fail) {
      delete this.failNext[cmd]
      return Promise.reject(fail)
    }
    switch (cmd) {
      case 'status':
        return this.status()
      case 'passphrase_strength':
        return this.strength(String(args?.passphrase))
      case 'enable': {
        if (this.enabled) throw { code: 'already_enabled', message: 'sync is already on' }
        if (args?.mode === 'join' && args.passphrase !== this.passphrase)
          return Promise.reject({ code: 'wrong_passphrase', message: 'wrong passphrase' })
        this.enabled = true
        this.state = { state: 'idle' }
        this.devices = this.defaultDevices()
        return { deviceId: THIS_DEVICE, recoveryKey: args?.mode === 'new' ? RECOVERY_KEY : null }
      }
      case 'disable':
        this.enabled = false
        this.state = { state: 'disabled' }
        this.lastSyncAt = null
        return null
      case 'sync_now':
        this.lastSyncAt = T0 + 60_000
        this.pending = 0
        return { pushed: 2, pulled: 5, quarantined: 0, conflicts: 0, refused: 0 }
      case 'devices':
        return this.devices.map((d) => ({ ...d }))
      case 'revoke_device': {
        const d = this.devices.find((x) => x.id === args?.deviceId)
        if (!d) return Promise.reject({ code: 'not_found', message: 'no such device' })
        d.revoked = true
        return null
      }
      case 'unlock':
        if (args?.passphrase !== this.passphrase)
          return Promise.reject({ code: 'wrong_passphrase', message: 'wrong passphrase' })
        this.state = { state: 'idle' }
        return null
      case 'change_passphrase':
        if (args?.oldPassphrase !== this.passphrase)
          return Promise.reject({ code: 'wrong_passphrase', message: 'wrong passphrase' })
        this.passphrase = String(args.newPassphrase)
        return null
      case 'rotate_key':
        if (args?.passphrase !== this.passphrase)
          return Promise.reject({ code: 'wrong_passphrase', message: 'wrong passphrase' })
        return null
      case 'new_recovery_key':
        if (args?.passphrase !== this.passphrase)
          return Promise.reject({ code: 'wrong_passphrase', message: 'wrong passphrase' })
        return { recoveryKey: 'NEW1-NEW2-NEW3-NEW4-NEW5-NEW6-NEW7-NEW8' }
      default:
        return Promise.reject({ code: 'internal', message: `fake has no ${cmd}` })
    }
  }
}

export { clearMocks }
