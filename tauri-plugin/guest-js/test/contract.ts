/**
 * Compile-time checks of the bindings against the contract's wire shapes:
 * `npm test` runs `tsc` over this file, so a type that drifts from the JSON
 * the plugin sends (a renamed field, a missing union member, a wrong
 * command signature) fails the build.
 */
import * as api from '../src/index'
import type {
  DeviceView,
  EnabledView,
  PluginError,
  RecordView,
  Strength,
  SyncStateEvent,
  SyncPhase,
  SyncStateName,
  SyncStatusView,
  SyncSummaryView
} from '../src/index'

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
function assertType<T extends true>(_: T): void {}

// Every state the contract lists, and no other.
assertType<
  Equal<
    SyncStateName,
    'disabled' | 'idle' | 'syncing' | 'synced' | 'offline' | 'needsPassphrase' | 'revoked' | 'error'
  >
>(true)

assertType<Equal<SyncPhase, 'upload' | 'download'>>(true)

// A switch over the union must be exhaustive (adding a state breaks this).
export function describe(s: SyncStateEvent): string {
  switch (s.state) {
    case 'disabled':
    case 'idle':
    case 'needsPassphrase':
    case 'revoked':
      return s.state
    case 'syncing':
      return `${s.phase satisfies SyncPhase} ${s.done}/${s.total ?? '?'}`
    case 'synced':
      return `${s.at} ${s.pushed} ${s.pulled}`
    case 'offline':
      return `${s.retryAt} ${s.attempt} ${s.message}`
    case 'error':
      return `${s.code} ${s.message}`
    default: {
      const never: never = s
      return never
    }
  }
}

// Payloads written exactly as the plugin serializes them (camelCase, ms times).
export const status = {
  enabled: true,
  serverUrl: 'https://sync.example',
  deviceId: '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9',
  deviceName: null,
  lastSyncAt: 1_700_000_000_000,
  pending: 2,
  quarantined: 0,
  conflicts: 0,
  keyStorage: 'keychain',
  state: { state: 'offline', retryAt: 1_700_000_060_000, attempt: 3, message: 'unreachable' }
} satisfies SyncStatusView

export const strength = {
  score: 3,
  acceptable: true,
  warning: null,
  suggestions: []
} satisfies Strength

export const enabled = { deviceId: status.deviceId, recoveryKey: null } satisfies EnabledView
export const summary = {
  pushed: 1,
  pulled: 2,
  quarantined: 0,
  conflicts: 0,
  refused: 0
} satisfies SyncSummaryView
export const device = {
  id: status.deviceId,
  name: 'Laptop',
  createdAt: 1,
  lastSeenAt: 2,
  revoked: false,
  current: true
} satisfies DeviceView
export const record = {
  id: status.deviceId,
  kind: 'mood',
  fields: { score: 4 },
  createdAt: 1,
  updatedAt: 2,
  deleted: false
} satisfies RecordView
export const deletedRecord = { ...record, fields: null, deleted: true } satisfies RecordView
export const unnamedDevice = { ...device, name: null } satisfies DeviceView
export const error = { code: 'wrong_passphrase', message: 'Wrong passphrase' } satisfies PluginError

// @ts-expect-error a score outside 0..4 is not a Strength
export const badStrength: Strength = { ...strength, score: 5 }
// @ts-expect-error snake_case fields are not what the plugin sends
export const badStatus: SyncStatusView = { ...status, last_sync_at: 1 }

// Command signatures.
assertType<Equal<ReturnType<typeof api.status>, Promise<SyncStatusView>>>(true)
assertType<Equal<ReturnType<typeof api.syncNow>, Promise<SyncSummaryView>>>(true)
assertType<Equal<ReturnType<typeof api.devices>, Promise<DeviceView[]>>>(true)
assertType<Equal<ReturnType<typeof api.enable>, Promise<EnabledView>>>(true)
assertType<
  Equal<
    Parameters<typeof api.enable>[0],
    { mode: 'new' | 'join'; serverUrl: string; accountName: string; passphrase: string; deviceName: string }
  >
>(true)
assertType<Equal<Awaited<ReturnType<typeof api.newRecoveryKey>>, { recoveryKey: string }>>(true)
export const off: Promise<() => void> = api.onSyncState((s) => void describe(s))
