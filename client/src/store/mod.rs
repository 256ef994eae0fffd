//! The local store: one SQLite file (rusqlite, WAL) that is the device's
//! source of truth. Every local change is one transaction: the record, the
//! clock and (only while sync is on) the outbox entry commit together.
//!
//! - [`records`]: the four typed tables, local edits and the merge of remote ones;
//! - [`conflicts`]: the log of concurrent edits that lost a merge;
//! - [`sync_state`]: sync settings, cursor, outbox, replay marks, quarantine.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, Transaction};
use rusqlite_migration::{M, Migrations};
use sealsync_envelope::{Clock, Hlc, UnixMillis};

use crate::error::ClientError;

pub mod conflicts;
pub mod records;
pub mod server_log;
pub mod sync_state;

/// The client schema's migrations (`migrations/client/`).
fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(include_str!("../../../migrations/client/0001_init.sql")),
        M::up(include_str!("../../../migrations/client/0002_outbox_by_counter.sql")),
        M::up(include_str!("../../../migrations/client/0003_sealed_apart.sql")),
        M::up(include_str!("../../../migrations/client/0004_field_groups.sql")),
        M::up(include_str!("../../../migrations/client/0005_bounded_quarantine.sql")),
        M::up(include_str!("../../../migrations/client/0006_compromised_token.sql")),
        M::up(include_str!("../../../migrations/client/0007_refusals_and_sign_out.sql")),
        M::up(include_str!("../../../migrations/client/0008_server_log.sql")),
        M::up(include_str!("../../../migrations/client/0009_seen_high.sql")),
    ])
}

/// Prepared statements kept per connection: more than the distinct
/// statements of an edit and a sync (four record tables, outbox, merge).
const STATEMENT_CACHE: usize = 128;

/// An open journal database.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (creating and migrating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, ClientError> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // A first sync writes every record: read pages through mmap instead of
        // a pread per page, and checkpoint the WAL less often.
        conn.pragma_update(None, "mmap_size", 256 * 1024 * 1024)?;
        conn.pragma_update(None, "wal_autocheckpoint", 10_000)?;
        conn.pragma_update(None, "cache_size", -65_536)?;
        // Every statement a sync runs stays prepared: with rusqlite's default
        // of 16 the cache thrashed, and parsing SQL took a third of a sync.
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        // `rarray(?)`: a page's ids bound as one parameter.
        rusqlite::vtab::array::load_module(&conn)?;
        migrations().to_latest(&mut conn).map_err(|e| ClientError::Migration(e.to_string()))?;
        Ok(Self { conn })
    }

    /// Runs `f` in one transaction: all of it commits, or none of it.
    pub(crate) fn transaction<R>(
        &mut self,
        f: impl FnOnce(&Transaction<'_>) -> Result<R, ClientError>,
    ) -> Result<R, ClientError> {
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let result = f(&tx)?;
        tx.commit()?;
        Ok(result)
    }

    /// Runs `f` in one read transaction: everything it reads is one snapshot.
    pub(crate) fn read<R>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<R, ClientError>) -> Result<R, ClientError> {
        let tx = self.conn.unchecked_transaction()?;
        let result = f(&tx)?;
        tx.commit()?;
        Ok(result)
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }
}

/// Stamps a local change: ticks this device's clock inside the transaction.
pub(crate) fn tick(tx: &Transaction<'_>, now: UnixMillis) -> Result<Hlc, ClientError> {
    let mut clock = load_clock(tx)?;
    let stamp = clock.tick(now)?;
    save_clock(tx, &clock)?;
    Ok(stamp)
}

pub(crate) fn load_clock(tx: &Transaction<'_>) -> Result<Clock, ClientError> {
    let last: i64 =
        tx.prepare_cached("SELECT clock_last FROM local_state WHERE id = 1")?.query_row([], |r| r.get(0))?;
    Ok(Clock::new(Hlc::from_u64(last as u64)))
}

pub(crate) fn save_clock(tx: &Transaction<'_>, clock: &Clock) -> Result<(), ClientError> {
    tx.prepare_cached("UPDATE local_state SET clock_last = ?1 WHERE id = 1")?
        .execute([clock.last().as_u64() as i64])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        migrations().validate().unwrap();
    }

    #[test]
    fn sealed_bytes_queued_before_migration_3_survive_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.db");
        {
            let mut conn = Connection::open(&path).unwrap();
            migrations().to_version(&mut conn, 2).unwrap();
            conn.execute_batch(
                "INSERT INTO outbox (device_seq, record_id, kind, envelope) VALUES \
                   (7, 'a', 'mood', x'0102'), (8, 'b', 'mood', NULL);",
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        let sealed: Vec<(i64, Vec<u8>)> = store
            .conn()
            .prepare("SELECT device_seq, envelope FROM sealed")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(sealed, [(7, vec![1, 2])], "a retry must still send the bytes sealed before the upgrade");
        assert_eq!(store.outbox_len().unwrap(), 2);
    }
}
