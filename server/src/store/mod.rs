//! Storage behind one trait, [`Store`], implemented for Postgres
//! ([`postgres::PgStore`]) and SQLite ([`sqlite::SqliteStore`]); one test suite
//! runs against both.
//!
//! The store holds only what the server may know: account names, salt seeds,
//! hashes of auth keys and tokens, wrapped data keys, encrypted device names,
//! and envelopes with their cleartext headers. The decisions of a push (stored,
//! duplicate, superseded, rejected) are made once, in [`plan`], so both
//! backends agree by construction.

use std::future::Future;

use sealsync_envelope::dto::PushResult;
use sealsync_envelope::{AccountId, Cursor, DeviceId, EnvelopeHeader, KeyId};

pub mod keys;
mod log;
pub mod operator;
pub mod pairings;
pub mod plan;
pub mod postgres;
mod shared;
pub mod sqlite;

pub use keys::{KeyChange, KeyState, NewPassphrase, Recovery, RecoveryState, Rotation};

/// What can go wrong in storage that a handler answers differently.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The account name or id is taken.
    #[error("an account with this {0} already exists")]
    AccountExists(&'static str),
    /// The device id is already registered on the account.
    #[error("this device id is already registered")]
    DeviceExists,
    /// The account was deleted while the request was in flight.
    #[error("the account no longer exists")]
    AccountNotFound,
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The embedded database's push writer failed.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The store was closed (the server is shutting down).
    #[error("the store is closed")]
    Closed,
    /// A push panicked (a bug); its transaction was rolled back.
    #[error("the push failed unexpectedly")]
    Panicked,
    /// The database contradicts itself (a bug, or a hand edit): what a
    /// push read under the account's lock changed before its write.
    #[error("inconsistent database: {0}")]
    Inconsistent(&'static str),
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database file could not be created or made private.
    #[error("database file: {0}")]
    Io(String),
}

/// A new device and the hash of its bearer token.
#[derive(Debug, Clone)]
pub struct NewDevice {
    /// Chosen by the device.
    pub id: DeviceId,
    /// The device's name, sealed by the client; opaque here.
    pub encrypted_name: Vec<u8>,
    /// SHA-256 of the bearer token (the token itself is never stored).
    pub token_hash: [u8; 32],
}

/// Everything registration writes, in one transaction.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// Chosen by the client (PROTOCOL.md §3.1).
    pub id: AccountId,
    /// Canonical account name.
    pub name: String,
    /// Protocol version the client registered with.
    pub protocol_version: u16,
    /// The client's random salt seed.
    pub salt_seed: [u8; 32],
    /// Hash of the auth key.
    pub auth_key_hash: [u8; 32],
    /// The data key's id.
    pub key_id: KeyId,
    /// The data key, wrapped by the client.
    pub wrapped_key: Vec<u8>,
    /// The first device.
    pub device: NewDevice,
    /// The recovery key, if the client set one up.
    pub recovery: Option<RecoveryState>,
}

/// What login needs to know about an account.
#[derive(Debug, Clone)]
pub struct AccountLogin {
    /// The account.
    pub id: AccountId,
    /// Its protocol version.
    pub protocol_version: u16,
    /// Its salt seed.
    pub salt_seed: [u8; 32],
    /// Hash of its auth key.
    pub auth_key_hash: [u8; 32],
}

/// A device as listed to its account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Its id.
    pub id: DeviceId,
    /// Its sealed name.
    pub encrypted_name: Vec<u8>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms of the last authenticated request (to the minute).
    pub last_seen_at: i64,
    /// Unix ms of revocation, if revoked.
    pub revoked_at: Option<i64>,
}

/// The device a bearer token belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Authenticated {
    /// Its account.
    pub account_id: AccountId,
    /// The device.
    pub device_id: DeviceId,
}

/// A decoded envelope offered for storage.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// Its cleartext header.
    pub header: EnvelopeHeader,
    /// Its canonical bytes, stored verbatim.
    pub bytes: Vec<u8>,
}

/// What a push did, as its transaction saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// One result per item, in order.
    pub results: Vec<PushResult>,
    /// The account's counter after the push.
    pub cursor: Cursor,
    /// The log as the push committed it (PROTOCOL.md §8.2, "Restored
    /// servers"): read with the push, so it costs no request of its own and
    /// its head is exactly `cursor`.
    pub log: sealsync_envelope::dto::LogState,
    /// The page asked for: read with the push, before its envelopes took
    /// their positions, so it holds none of them.
    pub page: Option<PullPage>,
}

/// The page a push's answer carries (PROTOCOL.md §8.2, "The page of a
/// push"): envelopes after `after`, at most `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageAsk {
    /// The device's cursor.
    pub after: Cursor,
    /// At most this many envelopes (at least 1).
    pub limit: u32,
}

/// One page of a pull.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullPage {
    /// `(server_seq, envelope bytes)`, ascending.
    pub envelopes: Vec<(Cursor, Vec<u8>)>,
    /// Whether more follow.
    pub more: bool,
}

/// How often `last_seen_at` is written: at most once a minute per device, so
/// authenticating a request is a read, not a write.
pub const LAST_SEEN_RESOLUTION_MS: i64 = 60_000;

/// The server's storage, the device-linking relay's ([`pairings`]) and the
/// operator's commands' ([`operator`]) included.
pub trait Store: pairings::PairingStore + operator::OperatorStore + Clone + Send + Sync + 'static {
    /// `"postgres"` or `"sqlite"`, for logs and metrics.
    fn backend(&self) -> &'static str;

    /// Applies pending migrations.
    fn migrate(&self) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A round trip to the database, for `GET /health`.
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The named 32-byte server secret, made at random on first use and shared
    /// by every server instance on the same database.
    fn server_secret(&self, name: &'static str) -> impl Future<Output = Result<[u8; 32], StoreError>> + Send;

    /// Creates the account, its first key and its first device, or nothing.
    fn create_account(&self, account: &NewAccount, now: i64) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Looks an account up by canonical name.
    fn account_by_name(&self, name: &str) -> impl Future<Output = Result<Option<AccountLogin>, StoreError>> + Send;

    /// The hash of an account's auth key.
    fn auth_key_hash(&self, account_id: AccountId)
    -> impl Future<Output = Result<Option<[u8; 32]>, StoreError>> + Send;

    /// Adds a device to an account.
    fn add_device(
        &self,
        account_id: AccountId,
        device: &NewDevice,
        now: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The live device whose token hashes to `token_hash`; refreshes its
    /// `last_seen_at` at most once per [`LAST_SEEN_RESOLUTION_MS`].
    fn authenticate(
        &self,
        token_hash: &[u8; 32],
        now: i64,
    ) -> impl Future<Output = Result<Option<Authenticated>, StoreError>> + Send;

    /// Whether `token_hash` is the token of a revoked device (whose row stays
    /// until its account is deleted): so a revoked device is told apart from
    /// one whose account is gone (PROTOCOL.md §8).
    fn token_revoked(&self, token_hash: &[u8; 32]) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Every device of the account, revoked ones included.
    fn list_devices(&self, account_id: AccountId) -> impl Future<Output = Result<Vec<DeviceInfo>, StoreError>> + Send;

    /// Replaces a live device's sealed name; `false` if the account has no such live device.
    fn rename_device(
        &self,
        account_id: AccountId,
        device_id: DeviceId,
        encrypted_name: &[u8],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Revokes a device; `false` if the account has no such live device.
    fn revoke_device(
        &self,
        account_id: AccountId,
        device_id: DeviceId,
        now: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Stores a batch under the account's lock; returns one result per item,
    /// the account's cursor after the push, its log as the push left it and,
    /// if asked, the page the answer carries. Takes the batch by value:
    /// SQLite hands it to its writer thread.
    fn push(
        &self,
        account_id: AccountId,
        items: Vec<Incoming>,
        page: Option<PageAsk>,
        max_account_bytes: u64,
    ) -> impl Future<Output = Result<Pushed, StoreError>> + Send;

    /// Envelopes with `server_seq > after`, ascending, at most `limit`.
    fn pull(
        &self,
        account_id: AccountId,
        after: Cursor,
        limit: u32,
    ) -> impl Future<Output = Result<PullPage, StoreError>> + Send;

    /// The account's log identity and counter (PROTOCOL.md §8.2, "Restored servers").
    fn log_state(
        &self,
        account_id: AccountId,
    ) -> impl Future<Output = Result<sealsync_envelope::dto::LogState, StoreError>> + Send;

    /// Replaces the account's log identity with a random one if it is still
    /// `seen` (so two devices reporting one loss renew it once); returns the
    /// log as it is after, and whether this call renewed it.
    fn renew_log(
        &self,
        account_id: AccountId,
        seen: sealsync_envelope::dto::LogId,
    ) -> impl Future<Output = Result<(sealsync_envelope::dto::LogState, bool), StoreError>> + Send;

    /// Deletes the account and every row of it, in one transaction.
    fn delete_account(&self, account_id: AccountId) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The account's keys: current, keyring, recovery key.
    fn key_state(&self, account_id: AccountId) -> impl Future<Output = Result<Option<KeyState>, StoreError>> + Send;

    /// Replaces the passphrase (salt seed, auth key hash, wrapped current key)
    /// if `old_auth_hash` is still stored; revokes every other device than
    /// `sign_out_all_but` in the same transaction.
    fn change_passphrase(
        &self,
        account_id: AccountId,
        old_auth_hash: &[u8; 32],
        new: &NewPassphrase,
        sign_out_all_but: Option<DeviceId>,
        now: i64,
    ) -> impl Future<Output = Result<KeyChange, StoreError>> + Send;

    /// Sets (or replaces) the recovery key, if `auth_hash` is still stored
    /// and `key` is current.
    fn set_recovery(
        &self,
        account_id: AccountId,
        auth_hash: &[u8; 32],
        key: KeyId,
        recovery: &RecoveryState,
    ) -> impl Future<Output = Result<KeyChange, StoreError>> + Send;

    /// Makes a new key current, if `auth_hash` is still stored and
    /// `rotation.previous` is still current.
    fn rotate(
        &self,
        account_id: AccountId,
        auth_hash: &[u8; 32],
        rotation: &Rotation,
        now: i64,
    ) -> impl Future<Output = Result<KeyChange, StoreError>> + Send;

    /// Sets a new passphrase proven by the recovery key and adds the device.
    fn recover(
        &self,
        account_id: AccountId,
        recovery: &Recovery,
        now: i64,
    ) -> impl Future<Output = Result<KeyChange, StoreError>> + Send;
}

/// A `devices` row as both backends select it.
pub(crate) type DeviceRow = (uuid::Uuid, Vec<u8>, i64, i64, Option<i64>);

impl From<DeviceRow> for DeviceInfo {
    fn from((id, encrypted_name, created_at, last_seen_at, revoked_at): DeviceRow) -> Self {
        Self { id: DeviceId(id), encrypted_name, created_at, last_seen_at, revoked_at }
    }
}

/// An `accounts` row as login selects it.
pub(crate) type AccountRow = (uuid::Uuid, i32, Vec<u8>, Vec<u8>);

impl From<AccountRow> for AccountLogin {
    fn from((id, version, salt_seed, hash): AccountRow) -> Self {
        Self {
            id: AccountId(id),
            protocol_version: u16::try_from(version).unwrap_or(0),
            salt_seed: bytes32(salt_seed),
            auth_key_hash: bytes32(hash),
        }
    }
}

/// A 32-byte column (seeds, hashes, secrets); the schema only stores 32 bytes there.
pub(crate) fn bytes32(bytes: Vec<u8>) -> [u8; 32] {
    bytes.try_into().unwrap_or([0; 32])
}

/// A key id column (16 bytes by schema).
pub(crate) fn key_id(bytes: &[u8]) -> KeyId {
    KeyId(bytes.try_into().unwrap_or([0; 16]))
}

/// Converts a stored signed 64-bit value to the wire's unsigned one; the
/// schema never stores a negative counter.
pub(crate) fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// Converts a wire value bounded by the protocol (`DeviceSeq::MAX`, cursors,
/// byte counts) to the signed 64-bit integer SQL stores.
pub(crate) fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Turns `limit + 1` fetched rows into a page and whether more remain.
pub(crate) fn page(mut rows: Vec<(i64, Vec<u8>)>, limit: u32) -> PullPage {
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    PullPage { envelopes: rows.into_iter().map(|(seq, bytes)| (Cursor(to_u64(seq)), bytes)).collect(), more }
}

/// Account deletion, in one transaction. The account row goes first: that
/// waits for a push in progress (pushes hold the row's lock) and makes every
/// later push find no account, so no envelope can be added after the
/// envelopes are deleted (on Postgres they have no foreign key: migration
/// 0002). Devices, their counters and keys go by cascade, and explicitly, and
/// so do the pairings the account's devices claimed and the account's name
/// (migration 0007). `$1` is the account id.
pub(crate) const DELETE_ACCOUNT: [&str; 7] = [
    "DELETE FROM accounts WHERE id = $1",
    "DELETE FROM account_names WHERE account_id = $1",
    "DELETE FROM envelopes WHERE account_id = $1",
    "DELETE FROM devices WHERE account_id = $1",
    "DELETE FROM device_counters WHERE account_id = $1",
    "DELETE FROM account_keys WHERE account_id = $1",
    "DELETE FROM pairings WHERE account_id = $1",
];
