//! [`Store`] on an embedded SQLite file: the zero-configuration default for a
//! self-hoster's small box. WAL mode lets pulls read while a push writes; every
//! push runs under `BEGIN IMMEDIATE`, which takes the database's write lock up
//! front and so orders pushes exactly as the account row lock does on Postgres.
//! Pushes run on a writer thread of their own ([`writer`]), everything else on
//! the sqlx pool.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use uuid::Uuid;

use sealsync_envelope::{AccountId, Cursor, DeviceId, KeyId};

use super::{
    AccountLogin, AccountRow, Authenticated, DeviceInfo, DeviceRow, Incoming, KeyChange, KeyState,
    LAST_SEEN_RESOLUTION_MS, NewAccount, NewDevice, NewPassphrase, PageAsk, PullPage, Pushed, Recovery, RecoveryState,
    Rotation, Store, StoreError, bytes32, key_id, keys::Proof, to_i64, to_u64,
};
use writer::Writer;

mod writer;

/// SQLite storage over a connection pool and a push writer.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(super) pool: SqlitePool,
    writer: Writer,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file named by a `sqlite://` URL.
    /// The file (and SQLite's `-wal` and `-shm` beside it, which take its
    /// mode) is the server user's alone: it holds auth-key hashes, salt seeds
    /// and the fake-salt secret.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        // The push writer opens the same file: an in-memory database
        // (`sqlite::memory:`, `mode=memory`) would be another one for it.
        if url.contains(":memory:") || url.contains("mode=memory") {
            return Err(StoreError::Io("the SQLite store needs a database file, not an in-memory database".into()));
        }
        let options = SqliteConnectOptions::from_str(url)?;
        let path = options.get_filename().to_owned();
        make_private(&path)?;
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            // Reads through mmap instead of a pread per page, and fewer WAL
            // checkpoints (each one fsyncs): profiles of bulk syncs were
            // dominated by those system calls.
            .pragma("mmap_size", "268435456")
            .pragma("wal_autocheckpoint", "10000");
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections)
            // No peer can drop an embedded connection, and sqlx pings each one
            // on its way back to the pool already: a second ping on the way
            // out put one more round trip to the connection's worker thread
            // on the critical path of every request.
            .test_before_acquire(false)
            // A write that fails for want of disk space (SQLITE_FULL) can make
            // SQLite roll the transaction back itself; sqlx's ROLLBACK on drop
            // then fails, and the connection would stay "in a transaction" for
            // good, refusing every later BEGIN even once space returns. Flush
            // the rollback (a ping runs after it) and close such a connection.
            .after_release(|conn, _| {
                Box::pin(async move {
                    use sqlx::Connection;
                    if !conn.is_in_transaction() {
                        return Ok(true); // the usual case: no round trip
                    }
                    conn.ping().await?;
                    Ok(!conn.is_in_transaction())
                })
            })
            .connect_with(options)
            .await?;
        let writer = Writer::start(&path)?;
        Ok(Self { pool, writer })
    }

    /// Folds the WAL into the main file and closes every connection: after a
    /// clean shutdown `sealsync.db` alone is the whole database (a copy of
    /// it is a complete backup).
    pub async fn checkpoint_and_close(&self) -> Result<(), StoreError> {
        self.writer.close().await;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&self.pool).await?;
        self.pool.close().await;
        Ok(())
    }
}

/// Creates the database file 0600 if it is missing, and takes group and
/// other access away from an existing one and its `-wal`/`-shm` (servers
/// before this check made them 0644). SQLite gives new `-wal` and `-shm`
/// files the main file's mode.
fn make_private(path: &std::path::Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let io = |e: std::io::Error| StoreError::Io(format!("{}: {e}", path.display()));
        std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(path).map_err(io)?;
        let mut names = vec![path.to_owned()];
        for suffix in ["-wal", "-shm"] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            names.push(name.into());
        }
        for name in names.iter().filter(|n| n.exists()) {
            let mode = std::fs::metadata(name).map_err(io)?.permissions().mode();
            if mode & 0o077 != 0 {
                std::fs::set_permissions(name, std::fs::Permissions::from_mode(mode & 0o700)).map_err(io)?;
            }
        }
    }
    let _ = path;
    Ok(())
}

/// The unique constraint on account names, as SQLite's message names it.
const NAME_CONSTRAINT: &str = "accounts.name";

/// A write transaction holding SQLite's write lock from its first statement.
async fn begin_write(pool: &SqlitePool) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

super::shared::insert_device_fn!(sqlx::Sqlite);
super::keys::key_helpers!(sqlx::Sqlite);
fn unique_violation(error: &sqlx::Error) -> Option<String> {
    match error {
        sqlx::Error::Database(db) if db.is_unique_violation() => Some(db.message().to_owned()),
        _ => None,
    }
}

impl Store for SqliteStore {
    super::shared::shared_queries!();
    super::keys::key_queries!();
    super::log::log_queries!();

    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("../migrations/server-sqlite").run(&self.pool).await?;
        Ok(())
    }

    async fn push(
        &self,
        account_id: AccountId,
        items: Vec<Incoming>,
        page: Option<PageAsk>,
        max_account_bytes: u64,
    ) -> Result<Pushed, StoreError> {
        self.writer.push(account_id, items, page, max_account_bytes).await
    }
}
