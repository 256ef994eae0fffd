//! [`Store`] on an embedded SQLite file: the zero-configuration default for a
//! self-hoster's small box. WAL mode lets pulls read while a push writes; every
//! push runs under `BEGIN IMMEDIATE`, which takes the database's write lock up
//! front and so orders pushes exactly as the account row lock does on Postgres.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Sqlite};
use uuid::Uuid;

use sealsync_envelope::{AccountId, Cursor, DeviceId, KeyId, RecordId};

use super::plan::{AccountState, Existing, plan};
use super::{
    AccountLogin, AccountRow, Authenticated, DeviceInfo, DeviceRow, Incoming, KeyChange, KeyState,
    LAST_SEEN_RESOLUTION_MS, NewAccount, NewDevice, NewPassphrase, PullPage, Pushed, Recovery, RecoveryState, Rotation,
    Store, StoreError, bytes32, key_id, keys::Proof, to_i64, to_u64,
};

/// SQLite storage over a connection pool.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(super) pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file named by a `sqlite://` URL.
    /// The file (and SQLite's `-wal` and `-shm` beside it, which take its
    /// mode) is the server user's alone: it holds auth-key hashes, salt seeds
    /// and the fake-salt secret.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?;
        make_private(options.get_filename())?;
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
            // on the critical path of every request (three per push).
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
        Ok(Self { pool })
    }

    /// Folds the WAL into the main file and closes every connection: after a
    /// clean shutdown `sealsync.db` alone is the whole database (a copy of
    /// it is a complete backup).
    pub async fn checkpoint_and_close(&self) -> Result<(), StoreError> {
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
        if path.as_os_str().is_empty() || path == std::path::Path::new(":memory:") {
            return Ok(());
        }
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

/// The most parameters one SQLite statement may bind
/// (`SQLITE_MAX_VARIABLE_NUMBER`: 32,766 in the bundled SQLite since 3.32;
/// a statement above it fails with "too many SQL variables").
const MAX_VARIABLES: usize = 32_766;

/// Rows per statement in a push: a push may carry up to 10,000 envelopes
/// (the most `--max-envelopes-per-push` accepts), and at six parameters a
/// row that would be 60,000, so the lookup and the insert go in chunks.
/// 2,000 rows (12,000 parameters) is the largest push the reference client
/// sends and the server's default limit: such a push stays one statement per
/// step, as it was before chunking, and the statements of a larger one have
/// one of two shapes, which sqlx keeps prepared.
const ROWS_PER_STATEMENT: usize = 2_000;

/// Parameters of one inserted envelope row.
const INSERT_PARAMETERS: usize = 6;

const _: () = assert!(ROWS_PER_STATEMENT * INSERT_PARAMETERS <= MAX_VARIABLES);
// The lookup binds two per row and the account id once.
const _: () = assert!(ROWS_PER_STATEMENT * 2 < MAX_VARIABLES);

/// The unique constraint on account names, as SQLite's message names it.
const NAME_CONSTRAINT: &str = "accounts.name";

/// A write transaction holding SQLite's write lock from its first statement.
async fn begin_write(pool: &SqlitePool) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

super::shared::insert_device_fn!(sqlx::Sqlite);
super::keys::key_helpers!(sqlx::Sqlite);
super::shared::device_marks_fns!(sqlx::Sqlite);

/// Raises the marks a push's stored envelopes moved up (never lowers one).
async fn raise_device_marks(
    tx: &mut sqlx::Transaction<'_, Sqlite>,
    account_id: AccountId,
    marks: &[(DeviceId, u64)],
) -> Result<(), StoreError> {
    for &(device, mark) in marks {
        sqlx::query(
            "INSERT INTO device_counters (account_id, device_id, max_device_seq) VALUES ($1, $2, $3) \
             ON CONFLICT (account_id, device_id) DO UPDATE SET max_device_seq = \
               CASE WHEN excluded.max_device_seq > device_counters.max_device_seq \
               THEN excluded.max_device_seq ELSE device_counters.max_device_seq END",
        )
        .bind(account_id.0)
        .bind(device.0)
        .bind(to_i64(mark))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

fn unique_violation(error: &sqlx::Error) -> Option<String> {
    match error {
        sqlx::Error::Database(db) if db.is_unique_violation() => Some(db.message().to_owned()),
        _ => None,
    }
}

/// A push's first read: the account's `seq`, `stored_bytes` and `log_id`,
/// with one of its key ids (`None` for an account without keys).
type AccountKeyRow = (i64, i64, Vec<u8>, Option<Vec<u8>>);

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
        items: &[Incoming],
        max_account_bytes: u64,
    ) -> Result<Pushed, StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        // The account and its keys, the current one first (see `plan`), in
        // one statement: the write lock is held, so nothing moves between.
        let rows: Vec<AccountKeyRow> = sqlx::query_as(
            "SELECT a.seq, a.stored_bytes, a.log_id, k.key_id FROM accounts a \
             LEFT JOIN account_keys k ON k.account_id = a.id WHERE a.id = ?1 ORDER BY k.key_id = a.current_key_id DESC",
        )
        .bind(account_id.0)
        .fetch_all(&mut *tx)
        .await?;
        let (seq, stored_bytes, log_id) =
            rows.first().map(|(seq, bytes, log, _)| (*seq, *bytes, log.clone())).ok_or(StoreError::AccountNotFound)?;
        let key_ids: Vec<KeyId> = rows.iter().filter_map(|(_, _, _, k)| k.as_deref().map(key_id)).collect();

        // SQLite has no arrays, so the pairs and rows go in as VALUES lists,
        // a chunk of at most ROWS_PER_STATEMENT rows per statement.
        let mut existing = HashMap::new();
        for chunk in items.chunks(ROWS_PER_STATEMENT) {
            let mut lookup = QueryBuilder::<Sqlite>::new(
                "SELECT record_id, device_id, device_seq, envelope FROM envelopes WHERE account_id = ",
            );
            lookup.push_bind(account_id.0).push(" AND (record_id, device_id) IN (");
            lookup.push_values(chunk, |mut row, item| {
                row.push_bind(item.header.record_id.0).push_bind(item.header.device_id.0);
            });
            lookup.push(")");
            let rows: Vec<(Uuid, Uuid, i64, Vec<u8>)> = lookup.build_query_as().fetch_all(&mut *tx).await?;
            for (record, device, device_seq, envelope) in rows {
                existing.insert(
                    (RecordId(record), DeviceId(device)),
                    Existing { device_seq: to_u64(device_seq), envelope },
                );
            }
        }

        let state = AccountState { seq: to_u64(seq), stored_bytes: to_u64(stored_bytes) };
        let marks = device_marks(&mut tx, account_id).await?;
        let plan = plan(items, &existing, &key_ids, &marks, state, max_account_bytes);
        raise_device_marks(&mut tx, account_id, &plan.marks).await?;
        for chunk in plan.rows.chunks(ROWS_PER_STATEMENT) {
            let mut insert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO envelopes (account_id, record_id, device_id, device_seq, server_seq, envelope) ",
            );
            insert.push_values(chunk, |mut row, r| {
                row.push_bind(account_id.0)
                    .push_bind(r.record_id.0)
                    .push_bind(r.device_id.0)
                    .push_bind(to_i64(r.device_seq))
                    .push_bind(to_i64(r.server_seq))
                    .push_bind(r.envelope.to_vec());
            });
            insert.push(
                " ON CONFLICT (account_id, record_id, device_id) DO UPDATE SET \
                 device_seq = excluded.device_seq, server_seq = excluded.server_seq, envelope = excluded.envelope",
            );
            insert.build().execute(&mut *tx).await?;
        }
        if !plan.rows.is_empty() {
            sqlx::query("UPDATE accounts SET seq = ?2, stored_bytes = ?3 WHERE id = ?1")
                .bind(account_id.0)
                .bind(to_i64(plan.seq))
                .bind(to_i64(plan.stored_bytes))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        let log = super::log::after_push(&log_id, plan.seq, marks, &plan.marks);
        Ok(Pushed { results: plan.results, cursor: Cursor(plan.seq), log })
    }
}
