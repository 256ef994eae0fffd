//! The SQLite backend's push writer: one thread owning one connection of its
//! own, which runs each push whole, from `BEGIN IMMEDIATE` to `COMMIT`.
//!
//! SQLite takes one writer at a time whatever the pool, and sqlx runs each
//! statement on its connection's worker thread: a push of eight statements
//! was eight hand-offs between threads, and pushes racing for the write lock
//! waited in SQLite's busy handler, which sleeps. Here a push is one hand-off
//! there and one back, its statements run in-process on prepared, cached
//! statements, and pushes wait for each other in order on a bounded channel
//! (the pool's rarer writes, such as registration and key changes, still
//! meet the writer in the busy handler). Everything else (pulls,
//! authentication, key changes) stays on the sqlx pool; WAL mode lets those
//! read while a push writes.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};

use sealsync_envelope::{AccountId, Cursor, DeviceId, KeyId, RecordId};

use crate::store::plan::{AccountState, Existing, Plan, plan};
use crate::store::{Incoming, PageAsk, PullPage, Pushed, StoreError, key_id, to_i64, to_u64};

/// One push, and where its outcome goes.
struct Job {
    account_id: AccountId,
    items: Vec<Incoming>,
    page: Option<PageAsk>,
    max_account_bytes: u64,
    reply: oneshot::Sender<Result<Pushed, StoreError>>,
}

/// Pushes waiting for the writer at most; a push beyond them waits to be
/// queued (the HTTP connection limit bounds how many wait).
const QUEUE: usize = 64;

/// What the writer thread is told.
enum Message {
    Push(Job),
    /// Finish the queued pushes, close the connection, then answer.
    Close(oneshot::Sender<()>),
}

/// Handle to the writer thread; clones share it.
#[derive(Clone)]
pub(in crate::store) struct Writer {
    messages: mpsc::Sender<Message>,
    thread: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Writer")
    }
}

impl Writer {
    /// Opens the writer's connection to the database file at `path` (which
    /// `SqliteStore::connect` has created) and starts its thread. Statements
    /// are prepared at first use, after the migrations.
    pub fn start(path: &Path) -> Result<Self, StoreError> {
        let connection = open(path)?;
        let (messages, mut inbox) = mpsc::channel(QUEUE);
        let path = path.to_owned();
        let thread = std::thread::Builder::new()
            .name("sealsync-sqlite-writer".into())
            .spawn(move || run(connection, &path, &mut inbox))
            .map_err(|e| StoreError::Io(format!("cannot start the SQLite writer: {e}")))?;
        Ok(Self { messages, thread: Arc::new(Mutex::new(Some(thread))) })
    }

    /// Runs a push on the writer thread, after those queued before it. A
    /// push whose caller gave up before its turn (its request timed out, its
    /// client hung up) is skipped: it was promised nothing, and a retry
    /// queues anew. One that has begun commits, as a lost answer's would,
    /// and a retry with the same bytes is answered `duplicate`.
    pub async fn push(
        &self,
        account_id: AccountId,
        items: Vec<Incoming>,
        page: Option<PageAsk>,
        max_account_bytes: u64,
    ) -> Result<Pushed, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = Job { account_id, items, page, max_account_bytes, reply };
        self.messages.send(Message::Push(job)).await.map_err(|_| StoreError::Closed)?;
        // A reply dropped unanswered: the writer closed before this push's turn.
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Lets the queued pushes finish, then closes the connection; later
    /// pushes fail with [`StoreError::Closed`].
    pub async fn close(&self) {
        let (reply, closed) = oneshot::channel();
        if self.messages.send(Message::Close(reply)).await.is_ok() {
            let _ = closed.await;
        }
        let thread = self.thread.lock().map(|mut t| t.take()).unwrap_or(None);
        if let Some(thread) = thread {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

/// Opens a connection with the pool's settings (`SqliteStore::connect`),
/// naming the file as sqlx does (`SQLITE_OPEN_URI`).
fn open(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    let connection = Connection::open_with_flags(path, flags)?;
    connection.busy_timeout(Duration::from_secs(10))?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    connection.pragma_update(None, "foreign_keys", true)?;
    connection.pragma_update(None, "mmap_size", 268_435_456)?;
    connection.pragma_update(None, "wal_autocheckpoint", 10_000)?;
    Ok(connection)
}

/// The writer thread: one message at a time until closed or every handle is
/// gone.
fn run(mut connection: Connection, path: &Path, inbox: &mut mpsc::Receiver<Message>) {
    while let Some(message) = inbox.blocking_recv() {
        let job = match message {
            Message::Push(job) => job,
            Message::Close(reply) => {
                drop(connection);
                let _ = reply.send(());
                return;
            }
        };
        if job.reply.is_closed() {
            continue; // its caller gave up while it waited
        }
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            push(&mut connection, job.account_id, &job.items, job.page, job.max_account_bytes)
        }));
        let outcome = outcome.unwrap_or_else(|_| {
            tracing::error!(account = %job.account_id.0, "a push panicked; its transaction was rolled back");
            Err(StoreError::Panicked)
        });
        let _ = job.reply.send(outcome);
        if !connection.is_autocommit() {
            connection = recovered(connection, path);
        }
    }
}

/// A connection left inside a transaction (its `ROLLBACK` on drop failed):
/// roll back again, or failing that open a new connection, so no later push
/// finds a transaction already open and every later push fails.
fn recovered(connection: Connection, path: &Path) -> Connection {
    let _ = connection.execute_batch("ROLLBACK");
    if connection.is_autocommit() {
        return connection;
    }
    match open(path) {
        Ok(fresh) => fresh,
        Err(e) => {
            tracing::error!(error = %e, "could not reopen the SQLite writer's connection");
            connection
        }
    }
}

/// Reads a push's account, keys, stored pairs, device marks and page, plans
/// it ([`plan`]), and writes the plan, in one `BEGIN IMMEDIATE` transaction.
fn push(
    connection: &mut Connection,
    account_id: AccountId,
    items: &[Incoming],
    ask: Option<PageAsk>,
    max_account_bytes: u64,
) -> Result<Pushed, StoreError> {
    let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let account = &account_id.0.as_bytes()[..];
    let (state, log_id, key_ids) = account_and_keys(&tx, account)?;
    let existing = stored_pairs(&tx, account, items)?;
    let marks = device_marks(&tx, account)?;
    let page = ask.map(|ask| page(&tx, account, ask)).transpose()?;
    let plan = plan(items, &existing, &key_ids, &marks, state, max_account_bytes);
    write(&tx, account, &plan)?;
    tx.commit()?;
    let log = crate::store::log::after_push(&log_id, plan.seq, marks, &plan.marks);
    Ok(Pushed { results: plan.results, cursor: Cursor(plan.seq), log, page })
}

/// The page the push's answer carries, read before its envelopes take their
/// positions, so it holds none of them.
fn page(tx: &Connection, account: &[u8], ask: PageAsk) -> Result<PullPage, StoreError> {
    let mut statement = tx.prepare_cached(
        "SELECT server_seq, envelope FROM envelopes WHERE account_id = ?1 AND server_seq > ?2 \
         ORDER BY server_seq LIMIT ?3",
    )?;
    let rows = statement
        .query_map((account, to_i64(ask.after.0), i64::from(ask.limit) + 1), |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<Vec<(i64, Vec<u8>)>, _>>()?;
    Ok(crate::store::page(rows, ask.limit))
}

/// The account's counter, stored bytes and log identity, and its key ids,
/// the current one first (see `plan`).
fn account_and_keys(tx: &Connection, account: &[u8]) -> Result<(AccountState, Vec<u8>, Vec<KeyId>), StoreError> {
    let mut statement = tx.prepare_cached(
        "SELECT a.seq, a.stored_bytes, a.log_id, k.key_id FROM accounts a \
         LEFT JOIN account_keys k ON k.account_id = a.id WHERE a.id = ?1 ORDER BY k.key_id = a.current_key_id DESC",
    )?;
    let mut rows = statement.query([account])?;
    let Some(first) = rows.next()? else { return Err(StoreError::AccountNotFound) };
    let state = AccountState { seq: to_u64(first.get(0)?), stored_bytes: to_u64(first.get(1)?) };
    let log_id: Vec<u8> = first.get(2)?;
    let mut key_ids: Vec<KeyId> = first.get::<_, Option<Vec<u8>>>(3)?.as_deref().map(key_id).into_iter().collect();
    while let Some(row) = rows.next()? {
        key_ids.extend(row.get::<_, Option<Vec<u8>>>(3)?.as_deref().map(key_id));
    }
    Ok((state, log_id, key_ids))
}

/// What the account stores for each pushed (record, device) pair: one
/// primary-key lookup each, on one prepared statement.
fn stored_pairs(
    tx: &Connection,
    account: &[u8],
    items: &[Incoming],
) -> Result<HashMap<(RecordId, DeviceId), Existing>, StoreError> {
    let mut statement = tx.prepare_cached(
        "SELECT device_seq, envelope FROM envelopes WHERE account_id = ?1 AND record_id = ?2 AND device_id = ?3",
    )?;
    let mut existing = HashMap::new();
    for item in items {
        let (record, device) = (item.header.record_id, item.header.device_id);
        let mut rows = statement.query((account, &record.0.as_bytes()[..], &device.0.as_bytes()[..]))?;
        if let Some(row) = rows.next()? {
            existing.insert((record, device), Existing { device_seq: to_u64(row.get(0)?), envelope: row.get(1)? });
        }
    }
    Ok(existing)
}

/// Every device mark of the account (PROTOCOL.md §8.2, the counter rule):
/// the plan needs those of the devices pushing, the answer's `log` all.
fn device_marks(tx: &Connection, account: &[u8]) -> Result<HashMap<DeviceId, u64>, StoreError> {
    let mut statement =
        tx.prepare_cached("SELECT device_id, max_device_seq FROM device_counters WHERE account_id = ?1")?;
    let mut rows = statement.query([account])?;
    let mut marks = HashMap::new();
    while let Some(row) = rows.next()? {
        marks.insert(DeviceId(uuid::Uuid::from_bytes(row.get(0)?)), to_u64(row.get(1)?));
    }
    Ok(marks)
}

/// Writes a plan: the raised device marks (never lowering one), the stored
/// envelopes, and the account's counter and size.
fn write(tx: &Connection, account: &[u8], plan: &Plan<'_>) -> Result<(), StoreError> {
    let mut raise = tx.prepare_cached(
        "INSERT INTO device_counters (account_id, device_id, max_device_seq) VALUES (?1, ?2, ?3) \
         ON CONFLICT (account_id, device_id) DO UPDATE SET \
         max_device_seq = max(excluded.max_device_seq, device_counters.max_device_seq)",
    )?;
    for (device, mark) in &plan.marks {
        raise.execute((account, &device.0.as_bytes()[..], to_i64(*mark)))?;
    }
    let mut insert = tx.prepare_cached(
        "INSERT INTO envelopes (account_id, record_id, device_id, device_seq, server_seq, envelope) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (account_id, record_id, device_id) DO UPDATE SET \
         device_seq = excluded.device_seq, server_seq = excluded.server_seq, envelope = excluded.envelope",
    )?;
    for row in &plan.rows {
        insert.execute((
            account,
            &row.record_id.0.as_bytes()[..],
            &row.device_id.0.as_bytes()[..],
            to_i64(row.device_seq),
            to_i64(row.server_seq),
            row.envelope,
        ))?;
    }
    if !plan.rows.is_empty() {
        let mut update = tx.prepare_cached("UPDATE accounts SET seq = ?2, stored_bytes = ?3 WHERE id = ?1")?;
        update.execute((account, to_i64(plan.seq), to_i64(plan.stored_bytes)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::store::sqlite::SqliteStore;
    use crate::store::{Store, StoreError};
    use sealsync_envelope::AccountId;

    #[tokio::test]
    async fn a_push_after_shutdown_is_refused_and_the_wal_is_folded_in() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sealsync.db");
        let store = SqliteStore::connect(&format!("sqlite://{}", path.display()), 2).await.unwrap();
        store.migrate().await.unwrap();
        let missing = store.push(AccountId::random(), Vec::new(), None, u64::MAX).await;
        assert!(matches!(missing, Err(StoreError::AccountNotFound)), "{missing:?}");

        store.checkpoint_and_close().await.unwrap();
        let closed = store.push(AccountId::random(), Vec::new(), None, u64::MAX).await;
        assert!(matches!(closed, Err(StoreError::Closed)), "{closed:?}");
        let wal = dir.path().join("sealsync.db-wal");
        assert!(!wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0);
    }

    #[tokio::test]
    async fn an_in_memory_database_is_refused_rather_than_split_from_the_writer() {
        for url in ["sqlite::memory:", "sqlite://:memory:", "sqlite://sealsync.db?mode=memory"] {
            let refused = SqliteStore::connect(url, 1).await;
            assert!(matches!(refused, Err(StoreError::Io(_))), "{url}: {refused:?}");
        }
    }
}
