//! sealsync-client: a local-first journal (mood entries, PHQ-9/GAD-7
//! assessments, activities, schedules) in a SQLite file that is the device's
//! source of truth, and optional end-to-end-encrypted sync through a
//! sealsync server.
//!
//! [`Journal`] is the whole API, for the `sealsync` CLI and for an app's
//! backend (e.g. Tauri commands) alike: its methods are plain or `async`,
//! `Send`, and return serde-serializable results and [`ClientError`]s.
//!
//! ```no_run
//! # async fn demo() -> Result<(), sealsync_client::ClientError> {
//! use sealsync_client::{EnableOptions, Journal, Mood, Passphrase};
//! let mut journal = Journal::open("/home/me/.local/share/sealsync".as_ref())?;
//! let id = journal.create(&Mood { score: 6, note: "walked".into(), tags: vec![] })?;
//! journal
//!     .enable_sync(EnableOptions {
//!         server_url: "https://sync.example.org".into(),
//!         account_name: "me@example.org".into(),
//!         passphrase: Passphrase::new("a long passphrase".into())?,
//!         create: true,
//!         allow_insecure_http: false,
//!         device_name: "laptop".into(),
//!         recovery_key: true,
//!     })
//!     .await?;
//! let summary = journal.sync_now(&mut |progress| println!("{progress:?}")).await?;
//! println!("pushed {} pulled {}", summary.pushed, summary.pulled);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

pub mod api;
pub mod clock;
pub mod data;
pub mod domain;
mod error;
pub mod keyfile;
pub mod keyring;
mod private;
pub mod store;
pub mod strength;
pub mod sync;

pub use api::{Network, Retrying};
pub use clock::{SystemClock, WallClock};
pub use data::{DataError, Decryption, Encryption, ExportFormat, ExportOptions, ExportSummary, ImportReport};
pub use domain::ValidationError;
pub use domain::{Activity, Assessment, AssessmentKind, Mood, Record, RecordType, Recurrence, Schedule, Severity};
pub use error::ClientError;
pub use private::restrict_umask;
pub use sealsync_crypto::{Passphrase, RecoverySecret};
pub use sealsync_envelope::{AccountId, Cursor, DeviceId};
pub use store::Store;
pub use store::conflicts::{Conflict, Conflicted};
pub use store::sync_state::{QuarantineEntry, Refusal, SyncState};
pub use sync::controller::{Controller, ControllerConfig, ControllerHandle, SyncPhase, SyncStateEvent};
pub use sync::lock::SyncLock;
pub use sync::{
    DeviceInfo, EnableOptions, Enabled, KeyInfo, LinkOptions, Progress, RecoverOptions, RecoveryKey, ShownCode,
    SyncSummary,
};

use api::Http;
use serde::Serialize;
use uuid::Uuid;

/// A journal in a data directory: `journal.db` and, while sync is on, `keys.json`.
#[derive(Debug)]
pub struct Journal {
    store: Store,
    dir: PathBuf,
    /// Made at the first call that needs it, then kept: syncs reuse its connections.
    http: OnceLock<Http>,
    /// Timeouts and the retry observer the HTTP client is made with.
    network: api::Network,
    /// Certificate authorities trusted besides the system's (`--ca-file`).
    extra_roots: Vec<reqwest::Certificate>,
    /// Local edits made through this handle ([`Journal::local_changes`]).
    changes: u64,
    /// What `now` is: the system clock unless the app supplied another.
    clock: Arc<dyn WallClock>,
    /// Envelopes asked for per pull page.
    pull_page: std::num::NonZeroU32,
}

/// `sealsync sync status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncStatus {
    /// Whether sync is on.
    pub enabled: bool,
    /// Settings, while on.
    #[serde(flatten)]
    pub state: Option<SyncState>,
    /// Local changes waiting for upload.
    pub pending: u64,
    /// Envelopes that were not applied (at most
    /// [`store::sync_state::QUARANTINE_LIMIT`] that will not be retried, and
    /// each envelope once).
    pub quarantined: Vec<QuarantineEntry>,
    /// Older quarantined entries dropped to keep within that limit.
    pub quarantine_dropped: u64,
    /// What the server refused in the last sync (kept queued; empty when nothing was).
    pub refused: Vec<Refusal>,
    /// Records with entries in the conflict log (concurrent edits that lost a merge).
    pub conflicts: Vec<Conflicted>,
    /// The data key in use, and whether this device must unlock a new one.
    pub keys: Option<KeyInfo>,
}

impl Journal {
    /// Opens the journal in `dir`, privately (on Unix; threat-model.md §2.4):
    ///
    /// - it sets the process umask to 077 ([`restrict_umask`]) and leaves it
    ///   so: every file created from then on, by the journal, SQLite or the
    ///   rest of the app, is readable and writable by the user alone from its
    ///   first byte;
    /// - a directory it creates is 0700; an existing one must belong to the
    ///   user and be writable by no one else, or it is refused
    ///   ([`ClientError::InsecurePermissions`]);
    /// - `journal.db-wal`, `-shm`, `-journal` and `keys.json`, if already
    ///   there, must be regular files of the user's that no one else may
    ///   read or write, or they are refused rather than used; `journal.db`
    ///   itself, if the user's, is made 0600.
    pub fn open(dir: &Path) -> Result<Self, ClientError> {
        Self::open_with_clock(dir, Arc::new(SystemClock))
    }

    /// [`Journal::open`], reading the time from `clock` rather than the
    /// system clock: edits are stamped, and remote stamps bounded
    /// (PROTOCOL.md §5), by what it says.
    pub fn open_with_clock(dir: &Path, clock: Arc<dyn WallClock>) -> Result<Self, ClientError> {
        restrict_umask();
        private::prepare_dir(dir)?;
        let path = dir.join("journal.db");
        private::check_file(&path, private::Loose::Repair)?;
        for suffix in ["-wal", "-shm", "-journal"] {
            private::check_file(&dir.join(format!("journal.db{suffix}")), private::Loose::Refuse)?;
        }
        keyfile::check(dir)?;
        let store = Store::open(&path)?;
        Ok(Self {
            store,
            dir: dir.to_owned(),
            http: OnceLock::new(),
            network: api::Network::default(),
            extra_roots: Vec::new(),
            changes: 0,
            clock,
            pull_page: sync::PULL_PAGE,
        })
    }

    /// Trusts the certificate authorities in the PEM file `path` for every
    /// later call to the server, besides the system's (`--ca-file`,
    /// `SEALSYNC_CA_FILE`): for a self-hosted server whose certificate a
    /// private CA signed. Verification is never turned off.
    pub fn trust_ca_file(&mut self, path: &Path) -> Result<(), ClientError> {
        self.extra_roots = api::load_ca_file(path)?;
        self.http = OnceLock::new();
        Ok(())
    }

    fn http(&self) -> Result<Http, ClientError> {
        if let Some(http) = self.http.get() {
            return Ok(http.clone());
        }
        let http = Http::with(self.network.clone(), self.extra_roots.clone())?;
        Ok(self.http.get_or_init(|| http).clone())
    }

    /// Sets the overall deadline of each network call, its retries included
    /// (default [`api::DEFAULT_DEADLINE`], 60 s), and who is told before
    /// each retry (e.g. to show "retrying in 4 s (attempt 2 of 4)").
    pub fn set_network(&mut self, network: api::Network) {
        self.network = network;
        self.http = OnceLock::new();
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How many local edits this handle has made since it opened: a sync
    /// controller ([`sync::controller`]) watches it to sync soon after one.
    pub fn local_changes(&self) -> u64 {
        self.changes
    }

    /// Creates a record; returns its id.
    pub fn create<T: RecordType>(&mut self, fields: &T) -> Result<Uuid, ClientError> {
        let id = self.store.create(fields, self.clock.now())?;
        self.changes += 1;
        Ok(id)
    }

    /// Creates many records of one kind in one transaction (an import, a
    /// bulk entry); returns their ids in order. All are validated first: one
    /// invalid record writes nothing. Far faster than [`Journal::create`] in
    /// a loop, which commits once per record.
    pub fn create_many<T: RecordType>(&mut self, records: &[T]) -> Result<Vec<Uuid>, ClientError> {
        let ids = self.store.create_many(records, self.clock.now())?;
        self.changes += ids.len() as u64;
        Ok(ids)
    }

    /// Replaces a record's content; only the field groups that change are
    /// stamped. Returns `false`, and changes nothing, when nothing differs.
    pub fn update<T: RecordType>(&mut self, id: Uuid, fields: &T) -> Result<bool, ClientError> {
        let changed = self.store.update(id, fields, self.clock.now())?;
        self.changes += u64::from(changed);
        Ok(changed)
    }

    /// The record's conflict log: values of its field groups that lost to a
    /// concurrent edit on another device, oldest first.
    pub fn conflicts<T: RecordType>(&self, id: Uuid) -> Result<Vec<Conflict>, ClientError> {
        self.store.conflicts::<T>(id)
    }

    /// Makes a logged value current again, as a new edit that syncs, and
    /// removes it from the log.
    pub fn restore_conflict<T: RecordType>(&mut self, id: Uuid, conflict: i64) -> Result<(), ClientError> {
        self.store.restore_conflict::<T>(id, conflict, self.clock.now())?;
        self.changes += 1;
        Ok(())
    }

    /// Removes a logged value, keeping the record as it is.
    pub fn dismiss_conflict<T: RecordType>(&mut self, id: Uuid, conflict: i64) -> Result<(), ClientError> {
        self.store.dismiss_conflict::<T>(id, conflict)
    }

    /// Deletes a record (final; its content is erased on every device).
    pub fn delete<T: RecordType>(&mut self, id: Uuid) -> Result<(), ClientError> {
        self.store.delete::<T>(id, self.clock.now())?;
        self.changes += 1;
        Ok(())
    }

    /// One record, or `NotFound`.
    pub fn get<T: RecordType>(&self, id: Uuid) -> Result<Record<T>, ClientError> {
        self.store.get(id)?.ok_or_else(|| ClientError::NotFound { kind: T::KIND, id: id.to_string() })
    }

    /// All records of a kind.
    pub fn list<T: RecordType>(&self, include_deleted: bool) -> Result<Vec<Record<T>>, ClientError> {
        self.store.list(include_deleted)
    }

    /// Turns sync on (creating or joining the account); queues every record.
    /// A new account's recovery key, if one was made, is in the answer: show
    /// it to the user once; it is not stored anywhere.
    pub async fn enable_sync(&mut self, options: EnableOptions) -> Result<Enabled, ClientError> {
        let http = self.http()?;
        sync::enable(&mut self.store, &self.dir, &http, options).await
    }

    /// Links this device to an account without the passphrase: shows a
    /// short code through `show` and waits until a signed-in device approves
    /// it (`approve_device`).
    pub async fn link(
        &mut self,
        options: LinkOptions,
        show: &mut (dyn FnMut(&ShownCode) + Send),
    ) -> Result<SyncState, ClientError> {
        let http = self.http()?;
        sync::link::link(&mut self.store, &self.dir, &http, options, show).await
    }

    /// Approves a new device by the code it shows: `approve` is asked with
    /// the new device's name before any key is sealed to it.
    pub async fn approve_device(
        &mut self,
        code: &str,
        approve: &mut (dyn FnMut(&str) -> bool + Send),
    ) -> Result<String, ClientError> {
        let http = self.http()?;
        sync::link::approve(&mut self.store, &self.dir, &http, code, approve).await
    }

    /// Joins an account with its recovery key and sets a new passphrase.
    pub async fn recover(&mut self, options: RecoverOptions) -> Result<SyncState, ClientError> {
        let http = self.http()?;
        sync::keys::recover(&mut self.store, &self.dir, &http, options).await
    }

    /// Changes the passphrase; the other devices keep syncing, unless
    /// `sign_out_others` revokes them in the same step.
    pub async fn change_passphrase(
        &mut self,
        old: &Passphrase,
        new: &Passphrase,
        sign_out_others: bool,
    ) -> Result<(), ClientError> {
        let http = self.http()?;
        sync::keys::change_passphrase(&mut self.store, &self.dir, &http, old, new, sign_out_others).await
    }

    /// Makes a new recovery key (the old one stops working); show it once.
    pub async fn new_recovery_key(&mut self, passphrase: &Passphrase) -> Result<RecoveryKey, ClientError> {
        let http = self.http()?;
        sync::keys::new_recovery_key(&mut self.store, &self.dir, &http, passphrase).await
    }

    /// Rotates the account's data key (after a device is lost): nothing
    /// written from now on opens with the old keys.
    pub async fn rotate_key(&mut self, passphrase: &Passphrase) -> Result<KeyInfo, ClientError> {
        let http = self.http()?;
        sync::keys::rotate_key(&mut self.store, &self.dir, &http, passphrase).await
    }

    /// Gets the account's current key with the passphrase, after another
    /// device rotated it.
    pub async fn unlock(&mut self, passphrase: &Passphrase) -> Result<KeyInfo, ClientError> {
        let http = self.http()?;
        sync::keys::unlock(&mut self.store, &self.dir, &http, passphrase).await
    }

    /// Asks for pull pages of at most `envelopes` (default 1,000; the server
    /// may send fewer). Each page is merged, and the cursor saved, as it
    /// arrives: on a slow or flaky link smaller pages keep more of a sync
    /// that is cut off.
    pub fn set_pull_page(&mut self, envelopes: std::num::NonZeroU32) {
        self.pull_page = envelopes;
    }

    /// Pushes local changes and pulls remote ones. One sync of a journal at
    /// a time, across processes: [`ClientError::SyncBusy`] while another
    /// holds the journal's [`SyncLock`].
    pub async fn sync_now(&mut self, progress: &mut (dyn FnMut(Progress) + Send)) -> Result<SyncSummary, ClientError> {
        let http = self.http()?;
        let _lock = SyncLock::try_acquire(&self.dir)?;
        let result =
            sync::sync_now(&mut self.store, &self.dir, &http, self.clock.clone(), self.pull_page, progress).await;
        // Remembered for `sync status`, which is local.
        match &result {
            Err(ClientError::SignedOut) => self.store.mark_signed_out(self.clock.now().0)?,
            Err(ClientError::SyncDisabled) | Ok(_) => {}
            Err(_) => self.store.mark_partial_sync(self.clock.now().0)?,
        }
        result
    }

    /// Quarantined envelopes, oldest first, with what their headers claim.
    pub fn quarantine(&self) -> Result<Vec<QuarantineEntry>, ClientError> {
        self.store.quarantine()
    }

    /// Merges quarantined envelopes again (all, or those at one
    /// `server_seq`), e.g. after `unlock` got a missing key: the ones that
    /// still fail go back with their reason (`quarantined` in the answer).
    pub fn retry_quarantine(&mut self, only: Option<u64>) -> Result<SyncSummary, ClientError> {
        let http = self.http()?;
        let _lock = SyncLock::try_acquire(&self.dir)?;
        sync::retry_quarantine(&mut self.store, &self.dir, &http, self.clock.clone(), only)
    }

    /// Drops quarantined envelopes (all, or those at one `server_seq`):
    /// they are not applied. Returns how many.
    pub fn clear_quarantine(&mut self, only: Option<u64>) -> Result<u64, ClientError> {
        self.store.clear_quarantine(only)
    }

    /// Whether sync is on (`None`: off) and, if so, whether this device must
    /// first unlock a key another device rotated to (`Some(true)`).
    pub fn sync_enabled(&self) -> Result<Option<bool>, ClientError> {
        if self.store.sync_state()?.is_none() {
            return Ok(None);
        }
        Ok(Some(keyfile::load(&self.dir)?.is_some_and(|keys| keys.status.needs_unlock)))
    }

    /// Sync settings, pending changes and quarantine.
    pub fn sync_status(&self) -> Result<SyncStatus, ClientError> {
        let state = self.store.sync_state()?;
        Ok(SyncStatus {
            enabled: state.is_some(),
            state,
            pending: self.store.outbox_len()?,
            quarantined: self.store.quarantine()?,
            quarantine_dropped: self.store.quarantine_dropped()?,
            refused: self.store.refused()?,
            conflicts: self.store.conflicted()?,
            keys: keyfile::load(&self.dir)?.map(|k| KeyInfo::of(&k)),
        })
    }

    /// Turns sync off: revokes this device on the server when reachable; keeps
    /// every record, forgets keys and token.
    pub async fn disable_sync(&mut self) -> Result<(), ClientError> {
        let http = self.http()?;
        sync::disable(&mut self.store, &self.dir, &http).await
    }

    /// The account's devices.
    pub async fn devices(&mut self) -> Result<Vec<DeviceInfo>, ClientError> {
        let http = self.http()?;
        sync::devices(&mut self.store, &self.dir, &http).await
    }

    /// Revokes a device of the account.
    pub async fn revoke_device(&mut self, device: DeviceId) -> Result<(), ClientError> {
        let http = self.http()?;
        sync::revoke(&mut self.store, &self.dir, &http, device).await
    }
}

/// The user's own copy (docs/EXPORT.md): export, import, erasure.
impl Journal {
    /// Every record (and, if asked, every deleted one) as an export file's
    /// bytes: JSON or CSV, age-encrypted if asked. Reads one snapshot.
    pub fn export(&self, options: &ExportOptions) -> Result<(Vec<u8>, ExportSummary), ClientError> {
        data::export::export(&self.store, options)
    }

    /// [`Journal::export`] into the file `path`, written atomically and
    /// readable by the user alone.
    pub fn export_to_file(&self, path: &Path, options: &ExportOptions) -> Result<ExportSummary, ClientError> {
        let (bytes, summary) = self.export(options)?;
        data::export::write_file(path, &bytes)?;
        Ok(summary)
    }

    /// Merges an export (JSON or CSV, plain or age-encrypted) into the
    /// journal by the sync rule, in one transaction: a newer local change is
    /// never overwritten, the same file twice changes nothing the second
    /// time, and a file that cannot be read whole changes nothing.
    pub fn import(&mut self, bytes: &[u8], key: &Decryption) -> Result<ImportReport, ClientError> {
        let document = data::import::read(bytes, key)?;
        let report = data::import::import(&mut self.store, &document)?;
        self.changes += report.added + report.updated;
        Ok(report)
    }

    /// [`Journal::import`] of the file `path`.
    pub fn import_file(&mut self, path: &Path, key: &Decryption) -> Result<ImportReport, ClientError> {
        let bytes = zeroize::Zeroizing::new(
            std::fs::read(path).map_err(ClientError::io(format!("cannot read {}", path.display())))?,
        );
        self.import(&bytes, key)
    }

    /// Deletes the sync account and every row of it on the server (after
    /// checking the passphrase there), then turns sync off here. Every
    /// record stays on this device; the other devices are told at their next
    /// sync ([`ClientError::AccountDeleted`]).
    pub async fn delete_account(&mut self, passphrase: &Passphrase) -> Result<(), ClientError> {
        let http = self.http()?;
        sync::keys::delete_account(&mut self.store, &self.dir, &http, passphrase).await
    }

    /// Erases the journal from this device: the key file is overwritten and
    /// deleted, then the database files. Nothing on a sync server changes
    /// ([`Journal::delete_account`] first for that).
    pub fn erase(self) -> Result<(), ClientError> {
        let Self { store, dir, .. } = self;
        drop(store);
        data::erase::erase(&dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn the_journal_is_private_without_touching_an_existing_directory() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let shared = tempfile::tempdir().unwrap();
        std::fs::set_permissions(shared.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        Journal::open(shared.path()).unwrap();
        assert_eq!(mode(shared.path()), 0o755, "an existing directory keeps its mode");
        assert_eq!(mode(&shared.path().join("journal.db")), 0o600);

        let created = shared.path().join("new");
        Journal::open(&created).unwrap();
        assert_eq!(mode(&created), 0o700);
    }

    #[cfg(unix)]
    fn modes(dir: &Path) -> Vec<(String, u32)> {
        use std::os::unix::fs::PermissionsExt;
        let mut modes: Vec<(String, u32)> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| {
                let entry = entry.unwrap();
                (entry.file_name().to_string_lossy().into_owned(), entry.metadata().unwrap().permissions().mode())
            })
            .collect();
        modes.sort();
        modes
    }

    /// While the journal is open and written to, every file in its directory
    /// (the database, SQLite's -wal and -shm) is the user's alone.
    #[cfg(unix)]
    #[test]
    fn every_file_is_private_from_its_first_byte() {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("journal");
        let mut journal = Journal::open(&dir).unwrap();
        journal.create(&Mood { score: 4, note: "private".into(), tags: vec![] }).unwrap();
        let modes = modes(&dir);
        assert!(modes.iter().any(|(name, _)| name == "journal.db-wal"), "{modes:?}");
        for (name, mode) in &modes {
            assert_eq!(mode & 0o077, 0, "{name} is open to others: {mode:o}");
        }
    }

    /// Files planted beside the journal before it opens (here world-readable,
    /// and held open by whoever planted them) are refused, not used.
    #[cfg(unix)]
    #[test]
    fn planted_files_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        for name in ["journal.db-wal", "journal.db-shm", "keys.json"] {
            let dir = tempfile::tempdir().unwrap();
            let planted = dir.path().join(name);
            let _held = std::fs::File::create(&planted).unwrap();
            std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o666)).unwrap();
            match Journal::open(dir.path()) {
                Err(ClientError::InsecurePermissions { path, .. }) => assert!(path.ends_with(name), "{path}"),
                other => panic!("a planted {name} was not refused: {other:?}"),
            }
        }
    }

    /// A data directory others can write to is refused (they could plant or
    /// swap files in it); one the journal creates is private.
    #[cfg(unix)]
    #[test]
    fn a_data_directory_others_can_write_to_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        for mode in [0o777, 0o770, 0o1777, 0o722] {
            let dir = tempfile::tempdir().unwrap();
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(mode)).unwrap();
            match Journal::open(dir.path()) {
                Err(ClientError::InsecurePermissions { .. }) => {}
                other => panic!("a directory of mode {mode:o} was not refused: {other:?}"),
            }
            assert!(modes(dir.path()).is_empty(), "nothing was created in it");
        }
    }
}
