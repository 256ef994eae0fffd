//! The client's errors: each one a sentence a person can act on, with a stable
//! `code` for an app (e.g. a Tauri front end) to branch on.

use serde::Serialize;

use crate::domain::ValidationError;

/// Why a journal or sync operation did not complete. Nothing is half-written:
/// every local change is one transaction.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// A field failed validation.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// No record of that kind has that id.
    #[error("no {kind} with id {id}")]
    NotFound {
        /// Record kind.
        kind: &'static str,
        /// The id asked for.
        id: String,
    },
    /// The record was deleted; deletes are final.
    #[error("the {kind} {id} was deleted")]
    Deleted {
        /// Record kind.
        kind: &'static str,
        /// Its id.
        id: String,
    },
    /// The local database failed.
    #[error("{}", storage_message(.0))]
    Storage(#[from] rusqlite::Error),
    /// The local database could not be migrated.
    #[error("local database migration failed: {0}")]
    Migration(String),
    /// A file in the data directory could not be read or written.
    #[error("{what}: {source}")]
    Io {
        /// Which file and operation.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The data directory, or a file in it, could be read or written by
    /// others, or is not the user's own: the journal refuses to use it.
    #[error("{path} {problem}; refusing to use it")]
    InsecurePermissions {
        /// The directory or file.
        path: String,
        /// What is wrong, and how to fix it.
        problem: String,
    },
    /// The data directory given does not exist (a typo must not look like
    /// an empty journal).
    #[error(
        "{0} does not exist, so there is no journal there; check the path, or pass --create (or run `sealsync \
         --data-dir {0} init`) to start a new journal"
    )]
    NoJournal(String),
    /// The operation needs sync, which is off.
    #[error("sync is not enabled; run `sealsync sync enable` first")]
    SyncDisabled,
    /// Sync is already on.
    #[error("sync is already enabled with {server} as {account}; run `sealsync sync disable` first")]
    SyncAlreadyEnabled {
        /// The server.
        server: String,
        /// The account.
        account: String,
    },
    /// A server URL that is not acceptable.
    #[error("{0}")]
    InvalidServerUrl(String),
    /// A new passphrase is quick to guess (zxcvbn, [`crate::strength`]):
    /// nothing was derived or sent.
    #[error(
        "this passphrase is too easy to guess: {reason}. {advice} For example, five random words: \"{suggestion}\""
    )]
    WeakPassphrase {
        /// Why (zxcvbn's warning, or the estimated number of guesses).
        reason: String,
        /// zxcvbn's advice.
        advice: String,
        /// A strong passphrase made of random words, to take or adapt.
        suggestion: String,
    },
    /// The passphrase does not unlock the account (or the account does not exist).
    #[error("wrong passphrase, or no such account on this server; nothing was uploaded")]
    WrongPassphrase,
    /// The account name is already taken on this server.
    #[error("an account named {0} already exists on this server; omit --new to join it")]
    AccountExists(String),
    /// The server does not accept new accounts.
    #[error("this server does not accept new accounts")]
    RegistrationClosed,
    /// A key derivation, wrapping or version check failed.
    #[error(transparent)]
    Crypto(#[from] sealsync_crypto::Error),
    /// The device's clock is far behind changes it has seen.
    #[error(transparent)]
    Clock(#[from] sealsync_envelope::hlc::ClockError),
    /// A record could not be sealed.
    #[error("cannot seal a record: {0}")]
    Seal(#[from] sealsync_envelope::Error),
    /// The server could not be reached (after retries).
    #[error("cannot reach the server: {0}")]
    Network(String),
    /// The server's answer was larger than this client accepts for that
    /// request; it stopped reading there (PROTOCOL.md §12).
    #[error("the server's answer is larger than the {limit} bytes this client accepts for it; it was not used")]
    ResponseTooLarge {
        /// The cap, in bytes.
        limit: u64,
    },
    /// The server's session answer (registration or login) names another
    /// account, device or protocol version than the ones this device sent or
    /// derived: nothing was saved.
    #[error(
        "the server's answer names another {0} than this device sent; nothing was saved. \
         The server, or something between it and this device, is misbehaving"
    )]
    SessionMismatch(&'static str),
    /// The server answered with an error.
    #[error("the server refused the request: {detail} ({code})")]
    Server {
        /// HTTP status.
        status: u16,
        /// The problem document's code.
        code: String,
        /// Its detail.
        detail: String,
        /// Seconds the server asked to wait (`Retry-After`), if it did.
        retry_after: Option<u64>,
    },
    /// The server refused some local changes (they stay queued): the
    /// reasons, joined. `sync now` ends with this after its summary.
    #[error("the server refused {count} change(s), kept queued here: {reasons}")]
    Refused {
        /// How many.
        count: u64,
        /// Each reason, with what to do.
        reasons: String,
    },
    /// Quarantined envelopes failed again on retry (they stay quarantined).
    #[error("{0} envelope(s) still fail and stay quarantined; see `sealsync sync quarantine list`")]
    StillQuarantined(u64),
    /// The server says this device reused counters or keys: it must re-enrol.
    #[error(
        "the server rejected this device's changes ({0}); run `sealsync sync disable` then `sync enable` to re-enrol"
    )]
    ReenrolRequired(String),
    /// The server's answer breaks the sync protocol (PROTOCOL.md §8.2, §12),
    /// e.g. a pull page that does not move the cursor forward: the sync
    /// stops rather than loop, and nothing from that answer is applied.
    #[error(
        "the server broke the sync protocol ({0}); nothing from that answer was applied. \
         Try again later; if it persists, the server (or something between it and this device) is misbehaving"
    )]
    ProtocolViolation(String),
    /// The server holds a newer counter than this device ever issued for some
    /// of its own newest edits: someone else pushed under this device's id,
    /// so its token is compromised (or a copy of the device, restored from a
    /// backup, is syncing). The edits stay queued.
    #[error(
        "someone else pushed changes under this device's id ({device}): its token is compromised, or a copy of \
         this device restored from a backup is syncing. {queued} edit(s) stay queued here. From another device run \
         `sealsync devices revoke {device}`, then here `sealsync sync disable` and `sealsync sync enable`: the \
         queued edits go up with the new enrolment"
    )]
    DeviceCompromised {
        /// This device.
        device: sealsync_envelope::DeviceId,
        /// Edits kept queued.
        queued: u64,
    },
    /// The server's log is behind what this device saw of it, or has another
    /// identity (PROTOCOL.md §8.2, "Restored servers"): it was restored from
    /// an older backup. A sync heals this itself (every record is sent again
    /// and the log pulled from the start); the error surfaces only if the
    /// healing sync finds it again.
    #[error("the server appears to have been restored from an older backup ({0})")]
    ServerRestored(crate::sync::restore::Evidence),
    /// This device was revoked (from another device of the account).
    #[error("this device was revoked and is no longer signed in; run `sealsync sync disable`")]
    SignedOut,
    /// The account's data key was rotated on another device and this device
    /// has not got the new key: nothing was pushed or merged.
    #[error(
        "the account's data key was rotated on another device: run `sealsync sync unlock` (with the passphrase), or link this device again from one that has the new key"
    )]
    NeedsUnlock,
    /// The recovery key does not match this account (or it has none).
    #[error("that recovery key does not open this account (or the account has no recovery key)")]
    WrongRecoveryKey,
    /// Device linking did not complete; nothing was saved.
    #[error("linking failed: {0}")]
    LinkFailed(String),
    /// The server no longer knows this device's account: it was deleted
    /// (`sealsync sync delete-account` on a device of it). Every record stays here.
    #[error(
        "the sync account was deleted (from one of its devices), or the server lost it; every record stays on \
         this device. Run `sealsync sync disable`, then `sealsync sync enable --new` to sync again"
    )]
    AccountDeleted,
    /// An export or import failed; an import that fails changes nothing.
    #[error(transparent)]
    Data(#[from] crate::data::DataError),
    /// Another sync of this journal (another process, or another handle in
    /// this one) is running: nothing was done; try again when it finishes.
    #[error("another sync of this journal is running; nothing was done, try again when it finishes")]
    SyncBusy,
    /// Another device changed the keys first (a rotation): try again.
    #[error("another device changed the account's keys at the same time; run the command again")]
    KeysChanged,
}

/// What a local database error says to a person; a full disk is named as
/// such (the transaction rolled back: nothing of the change was saved).
fn storage_message(error: &rusqlite::Error) -> String {
    match error.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DiskFull) => {
            "the disk holding the journal is full: nothing of this change was saved; free some space and try again"
                .to_owned()
        }
        _ => format!("local database error: {error}"),
    }
}

impl ClientError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "invalid",
            Self::NotFound { .. } => "not_found",
            Self::Deleted { .. } => "deleted",
            Self::Storage(_) => "storage",
            Self::Migration(_) => "migration",
            Self::Io { .. } => "io",
            Self::InsecurePermissions { .. } => "insecure_permissions",
            Self::SyncDisabled => "sync_disabled",
            Self::NoJournal(_) => "no_journal",
            Self::SyncAlreadyEnabled { .. } => "sync_already_enabled",
            Self::InvalidServerUrl(_) => "invalid_server_url",
            Self::WrongPassphrase => "wrong_passphrase",
            Self::WeakPassphrase { .. } => "weak_passphrase",
            Self::AccountExists(_) => "account_exists",
            Self::RegistrationClosed => "registration_closed",
            Self::Crypto(_) => "crypto",
            Self::Clock(_) => "clock",
            Self::Seal(_) => "seal",
            Self::Network(_) => "network",
            Self::ResponseTooLarge { .. } => "response_too_large",
            Self::SessionMismatch(_) => "session_mismatch",
            Self::Server { .. } => "server",
            Self::Refused { .. } => "refused",
            Self::StillQuarantined(_) => "quarantined",
            Self::ReenrolRequired(_) => "reenrol_required",
            Self::ProtocolViolation(_) => "protocol_violation",
            Self::DeviceCompromised { .. } => "device_compromised",
            Self::ServerRestored(_) => "server_restored",
            Self::SignedOut => "signed_out",
            Self::NeedsUnlock => "needs_unlock",
            Self::WrongRecoveryKey => "wrong_recovery_key",
            Self::KeysChanged => "keys_changed",
            Self::AccountDeleted => "account_deleted",
            Self::Data(e) => e.code(),
            Self::SyncBusy => "sync_busy",
            Self::LinkFailed(_) => "link_failed",
        }
    }

    /// How long the server asked to wait before the next try (`Retry-After`
    /// on a 429 or 503), if it did.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Self::Server { retry_after, .. } => retry_after.map(std::time::Duration::from_secs),
            _ => None,
        }
    }

    /// Wraps an I/O error with what was being done.
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let what = what.into();
        move |source| Self::Io { what, source }
    }
}

/// `{ "code": "...", "message": "..." }`, for an app's front end.
impl Serialize for ClientError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("ClientError", 2)?;
        s.serialize_field("code", self.code())?;
        s.serialize_field("message", &self.to_string())?;
        s.end()
    }
}
