//! What the commands take and answer, as the front end sees them (camelCase
//! JSON; times in Unix ms; ids as UUID strings). Each derives `ts_rs::TS`:
//! `guest-js/bindings/` holds their TypeScript, checked by a test.

use sealsync_client::{DeviceInfo, SyncStateEvent, SyncSummary};
use serde::{Deserialize, Serialize};

/// `status()`.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatusView {
    /// Whether sync is on.
    pub enabled: bool,
    /// The server, while on.
    pub server_url: Option<String>,
    /// This device's id, while on.
    pub device_id: Option<String>,
    /// This device's name: `null` (the journal does not keep it locally;
    /// `devices()` lists it).
    pub device_name: Option<String>,
    /// Unix ms of the last completed sync.
    pub last_sync_at: Option<u64>,
    /// Local changes waiting to be sent.
    pub pending: u64,
    /// Received changes that could not be applied.
    pub quarantined: u64,
    /// Records with edits that lost to a concurrent edit elsewhere.
    pub conflicts: u64,
    /// Where this device keeps its keys, while on.
    pub key_storage: Option<KeyStorage>,
    /// What sync is doing now.
    pub state: SyncStateEvent,
}

/// Where the keys are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub enum KeyStorage {
    /// The operating system's secret store.
    Keychain,
    /// A file only this user can read, in the journal's directory.
    File,
}

/// `enable({ mode })`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub enum EnableMode {
    /// Create a new account.
    New,
    /// Join an existing account with its passphrase.
    Join,
}

/// `enable()`'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct EnabledView {
    /// This device.
    pub device_id: String,
    /// A new account's recovery key: show it once, never store it.
    pub recovery_key: Option<String>,
}

/// `new_recovery_key()`'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct RecoveryKeyView {
    /// Show it once, never store it.
    pub recovery_key: String,
}

/// `sync_now()`'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct SyncSummaryView {
    /// Local changes sent.
    pub pushed: u64,
    /// Changes received.
    pub pulled: u64,
    /// Received changes that could not be applied.
    pub quarantined: u64,
    /// Edits that lost to a concurrent edit and went to the conflict log.
    pub conflicts: u64,
    /// Local changes the server refused (kept, sent again later).
    pub refused: u64,
}

impl From<SyncSummary> for SyncSummaryView {
    fn from(s: SyncSummary) -> Self {
        Self {
            pushed: s.pushed,
            pulled: s.pulled,
            quarantined: s.quarantined,
            conflicts: s.conflicts,
            refused: s.rejected,
        }
    }
}

/// A device of the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct DeviceView {
    /// Its id.
    pub id: String,
    /// Its name, if this device can read it.
    pub name: Option<String>,
    /// Unix ms.
    pub created_at: u64,
    /// Unix ms, to the minute.
    pub last_seen_at: Option<u64>,
    /// Signed out.
    pub revoked: bool,
    /// This device.
    pub current: bool,
}

impl From<DeviceInfo> for DeviceView {
    fn from(d: DeviceInfo) -> Self {
        Self {
            id: d.id.to_string(),
            name: d.name,
            created_at: d.created_at,
            last_seen_at: Some(d.last_seen_at).filter(|&t| t > 0),
            revoked: d.revoked_at.is_some(),
            current: d.current,
        }
    }
}

/// The four kinds of record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub enum RecordKind {
    /// A mood entry.
    Mood,
    /// A PHQ-9 or GAD-7 assessment.
    Assessment,
    /// An activity.
    Activity,
    /// A schedule of an activity.
    Schedule,
}

/// `create()`'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct CreatedView {
    /// The new record's id.
    pub id: String,
}

/// `update()`'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct UpdatedView {
    /// `false` when the fields were already these.
    pub changed: bool,
}

/// A record.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct RecordView {
    /// Its id.
    pub id: String,
    /// Its kind.
    pub kind: RecordKind,
    /// The kind's fields as the library serializes them; `null` once deleted.
    #[ts(type = "Record<string, unknown> | null")]
    pub fields: Option<serde_json::Value>,
    /// Unix ms.
    pub created_at: u64,
    /// Unix ms of the last change.
    pub updated_at: u64,
    /// Deleted (its content is erased).
    pub deleted: bool,
}
