/**
 * The plugin's payload types, written by hand from the command/event contract
 * (the Rust structs use `#[serde(rename_all = "camelCase")]`). Names match the
 * Rust types so these can later re-export the Rust-generated ones in
 * `../bindings/` and let `tsc` check that both sides agree.
 * Updated with desk's notes at the top of the contract (17:35 UTC).
 */

/** Unix time in milliseconds. */
export type UnixMillis = number

/** Lower-case hyphenated UUID. */
export type Uuid = string

/** Where this device keeps its keys: the OS secret store or a 0600 file. */
export type KeyStorage = 'keychain' | 'file'

/** What every command rejects with. `code` is stable; `message` is for people. */
export interface PluginError {
  code: PluginErrorCode
  message: string
}

/**
 * The error codes the plugin documents: its own, then the client library's
 * passed through. Other strings may appear; `message` is always a sentence.
 */
export type PluginErrorCode =
  | 'wrong_passphrase'
  | 'offline'
  | 'rate_limited'
  | 'revoked'
  | 'not_enabled'
  | 'already_enabled'
  | 'weak_passphrase'
  | 'invalid_input'
  | 'not_found'
  | 'server_refused'
  | 'needs_unlock'
  | 'sync_busy'
  | 'internal'
  | 'deleted'
  | 'keys_changed'
  | 'wrong_recovery_key'
  | 'account_exists'
  | 'registration_closed'
  | 'reenrol_required'
  | 'device_compromised'
  | 'protocol_violation'
  | 'session_mismatch'
  | 'insecure_permissions'
  | 'crypto'
  | 'clock'
  | (string & {})

/** Which half of a sync is under way. */
export type SyncPhase = 'upload' | 'download'

/** Payload of the `sealsync://state` event: the sync controller's state. */
export type SyncStateEvent =
  | { state: 'disabled' }
  | { state: 'idle' }
  | { state: 'syncing'; phase: SyncPhase; done: number; total: number | null }
  | { state: 'synced'; at: UnixMillis; pushed: number; pulled: number }
  | { state: 'offline'; retryAt: UnixMillis; attempt: number; message: string }
  | { state: 'needsPassphrase' }
  | { state: 'revoked' }
  | { state: 'error'; code: string; message: string }

/** The `state` tag of {@link SyncStateEvent}. */
export type SyncStateName = SyncStateEvent['state']

/** `status()`: everything the settings page shows. */
export interface SyncStatusView {
  enabled: boolean
  serverUrl: string | null
  deviceId: Uuid | null
  /** May be null while on; `devices()` names the device with `current: true`. */
  deviceName: string | null
  lastSyncAt: UnixMillis | null
  pending: number
  /** Items received from the server that this device could not read. */
  quarantined: number
  conflicts: number
  keyStorage: KeyStorage | null
  state: SyncStateEvent
}

/** `passphrase_strength()`: zxcvbn-style score 0 (weak) to 4 (strong). */
export interface Strength {
  score: 0 | 1 | 2 | 3 | 4
  acceptable: boolean
  warning: string | null
  suggestions: string[]
}

/** `enable()` with `mode: "new"` creates an account; `"join"` adds this device to one. */
export type EnableMode = 'new' | 'join'

/** `enable()`: the recovery key is only returned when a new account was created. */
export interface EnabledView {
  deviceId: Uuid
  recoveryKey: string | null
}

/** `sync_now()`: what one sync moved. */
export interface SyncSummaryView {
  pushed: number
  pulled: number
  quarantined: number
  conflicts: number
  refused: number
}

/** `devices()`: one device of the account. */
export interface DeviceView {
  id: Uuid
  /** Null when this device cannot read the name. */
  name: string | null
  createdAt: UnixMillis
  lastSeenAt: UnixMillis | null
  revoked: boolean
  /** True for the device this app runs on. */
  current: boolean
}

/** `new_recovery_key()`: shown once, never stored by the plugin. */
export interface RecoveryKeyView {
  recoveryKey: string
}

/** The four record kinds of the journal. */
export type RecordKind = 'mood' | 'assessment' | 'activity' | 'schedule'

/** A kind's fields object as the library serializes it. */
export type RecordFields = Record<string, unknown>

/** `create()`: the new record's id. */
export interface CreatedView {
  id: Uuid
}

/** `update()`: false when the new fields equal the stored ones. */
export interface UpdatedView {
  changed: boolean
}

/** `get()` / `list()`: one record. */
export interface RecordView {
  id: Uuid
  kind: RecordKind
  /** Null once deleted (a deleted record's content is erased). */
  fields: RecordFields | null
  createdAt: UnixMillis
  updatedAt: UnixMillis
  deleted: boolean
}
