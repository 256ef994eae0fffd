/**
 * The hand-written types (src/types.ts) against the ones the plugin crate
 * generates from its Rust types with ts-rs (`bindings/`, written by the
 * crate's test): each pair must be assignable both ways, so a field renamed,
 * added, dropped or retyped on either side fails `npm test`. Compiled only
 * when `bindings/` exists (see package.json `test:bindings`).
 */
import type * as Rust from '../bindings/index'
import type * as Mine from '../src/types'

type Agree<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
function agree<T extends true>(_: T): void {}

agree<Agree<Mine.SyncStateEvent, Rust.SyncStateEvent>>(true)
agree<Agree<Mine.SyncPhase, Rust.SyncPhase>>(true)
agree<Agree<Mine.SyncStatusView, Rust.SyncStatusView>>(true)
agree<Agree<Mine.KeyStorage, Rust.KeyStorage>>(true)
agree<Agree<Mine.EnableMode, Rust.EnableMode>>(true)
agree<Agree<Mine.EnabledView, Rust.EnabledView>>(true)
agree<Agree<Mine.RecoveryKeyView, Rust.RecoveryKeyView>>(true)
agree<Agree<Mine.SyncSummaryView, Rust.SyncSummaryView>>(true)
agree<Agree<Mine.DeviceView, Rust.DeviceView>>(true)
agree<Agree<Mine.RecordKind, Rust.RecordKind>>(true)
agree<Agree<Mine.RecordView, Rust.RecordView>>(true)
agree<Agree<Mine.CreatedView, Rust.CreatedView>>(true)
agree<Agree<Mine.UpdatedView, Rust.UpdatedView>>(true)
agree<Agree<Mine.Strength, Rust.Strength>>(true)
agree<Agree<Mine.PluginError, Rust.PluginError>>(true)
