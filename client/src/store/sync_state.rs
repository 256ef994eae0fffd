//! Sync bookkeeping: settings and cursor, the outbox and its sealed bytes,
//! replay marks, the quarantine, and pinned protocol versions. With sync off,
//! none of these tables is written except by `enable`/`disable`.

use std::collections::HashMap;
use std::rc::Rc;

use rusqlite::types::Value;
use rusqlite::vtab::array::Array;
use rusqlite::{OptionalExtension, Transaction, params};
use sealsync_envelope::{AccountId, Cursor, DeviceId, DeviceSeq, RecordId, RecordSealer};
use serde::Serialize;
use uuid::Uuid;

use super::{Store, records};
use crate::error::ClientError;

/// Sync settings of this device, while sync is on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncState {
    /// The server's base URL.
    pub server_url: String,
    /// The canonical account name.
    pub account_name: String,
    /// The account.
    pub account_id: AccountId,
    /// This device as registered.
    pub device_id: DeviceId,
    /// The account's protocol version.
    pub protocol_version: u16,
    /// Pulled up to here.
    pub cursor: Cursor,
    /// Unix ms of the last completed sync.
    pub last_sync_at: Option<u64>,
    /// Unix ms when this device found that someone else pushes under its id
    /// (its token is compromised, or a copy of it is syncing): revoke it from
    /// another device, then `sync disable` and `sync enable` here.
    pub compromised_at: Option<u64>,
    /// Unix ms when the server last refused this device's token (revoked, or
    /// the account deleted): `sync disable`, then join again.
    pub signed_out_at: Option<u64>,
    /// Unix ms when a sync last stopped part-way (what it pushed or merged
    /// before that is kept); shown beside `last_sync_at`.
    pub last_partial_at: Option<u64>,
}

/// A quarantined envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuarantineEntry {
    /// Its position in the account's log.
    pub server_seq: u64,
    /// Why it was not applied.
    pub reason: String,
    /// Whether it will be retried (stamped ahead of this device's clock).
    pub deferred: bool,
    /// Unix ms.
    pub received_at: u64,
    /// The record, device and counter its header names, when it decodes
    /// (unauthenticated until it opens: what the envelope claims).
    pub record_id: Option<Uuid>,
    /// The device that claims to have sealed it.
    pub device_id: Option<DeviceId>,
    /// That device's counter.
    pub device_seq: Option<u64>,
}

/// Local changes the server refused, of one reason (they stay queued).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Refusal {
    /// The server's reject code (PROTOCOL.md §8.2), e.g. `quota_exceeded`.
    pub code: String,
    /// How many changes.
    pub count: u64,
    /// Their sealed size in bytes (for a quota: how much more room they need).
    pub bytes: u64,
    /// What it means and what to do, for a person.
    pub reason: String,
}

/// How much one push may carry: how many outbox entries [`outgoing`] takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BatchLimit {
    /// Envelopes.
    pub envelopes: usize,
    /// Sum of the envelopes' encoded sizes (the CBOR framing around them is
    /// a few bytes each, well inside the rest of the request limit).
    pub bytes: usize,
}

/// One outbox entry, sealed.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    pub device_seq: u64,
    pub envelope: Vec<u8>,
}

/// Queues a local change for upload, replacing the record's queued one if
/// any; with sync off it does nothing.
pub(crate) fn enqueue(tx: &Transaction<'_>, id: Uuid, kind: &str, table: &str) -> Result<(), ClientError> {
    let seq: Option<i64> = tx
        .prepare_cached("SELECT next_device_seq FROM sync_state WHERE id = 1")?
        .query_row([], |r| r.get(0))
        .optional()?;
    let Some(seq) = seq else { return Ok(()) };
    tx.prepare_cached("UPDATE sync_state SET next_device_seq = ?1 WHERE id = 1")?.execute([seq + 1])?;
    let id = id.to_string();
    let queued: Option<i64> = tx
        .prepare_cached(&format!("SELECT outbox_seq FROM {table} WHERE id = ?1"))?
        .query_row([&id], |r| r.get(0))
        .optional()?
        .flatten();
    if let Some(queued) = queued {
        tx.prepare_cached("DELETE FROM outbox WHERE device_seq = ?1")?.execute([queued])?;
    }
    tx.prepare_cached("INSERT INTO outbox (device_seq, record_id, kind) VALUES (?1, ?2, ?3)")?
        .execute(params![seq, id, kind])?;
    tx.prepare_cached(&format!("UPDATE {table} SET outbox_seq = ?1 WHERE id = ?2"))?.execute(params![seq, id])?;
    Ok(())
}

/// Queues the changes of a batch of new records ([`Store::create_many`]):
/// the counter is read once and written once, and a new record has no
/// queued change to replace.
///
/// [`Store::create_many`]: crate::store::Store::create_many
pub(crate) struct Enqueuer {
    /// The next counter, or `None` with sync off (nothing is queued).
    next: Option<i64>,
}

impl Enqueuer {
    pub(crate) fn start(tx: &Transaction<'_>) -> Result<Self, ClientError> {
        let next = tx
            .prepare_cached("SELECT next_device_seq FROM sync_state WHERE id = 1")?
            .query_row([], |r| r.get(0))
            .optional()?;
        Ok(Self { next })
    }

    /// Queues a record written in this transaction, never queued before.
    pub(crate) fn new_record(
        &mut self,
        tx: &Transaction<'_>,
        id: Uuid,
        kind: &str,
        table: &str,
    ) -> Result<(), ClientError> {
        let Some(seq) = self.next else { return Ok(()) };
        let id = id.to_string();
        tx.prepare_cached("INSERT INTO outbox (device_seq, record_id, kind) VALUES (?1, ?2, ?3)")?
            .execute(params![seq, id, kind])?;
        tx.prepare_cached(&format!("UPDATE {table} SET outbox_seq = ?1 WHERE id = ?2"))?.execute(params![seq, id])?;
        self.next = Some(seq + 1);
        Ok(())
    }

    pub(crate) fn finish(self, tx: &Transaction<'_>) -> Result<(), ClientError> {
        if let Some(next) = self.next {
            tx.prepare_cached("UPDATE sync_state SET next_device_seq = ?1 WHERE id = 1")?.execute([next])?;
        }
        Ok(())
    }
}

/// Queues every queued change again under a new counter, so it is sealed
/// again (with the current key) before it is sent: after a key rotation the
/// sealed bytes under the old key would be refused.
pub(crate) fn requeue_all(tx: &Transaction<'_>) -> Result<(), ClientError> {
    let queued: Vec<(String, String)> = tx
        .prepare("SELECT record_id, kind FROM outbox ORDER BY device_seq")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (id, kind) in queued {
        let Some(&(kind, table)) = records::KINDS.iter().find(|(k, _)| *k == kind) else { continue };
        enqueue(tx, id.parse().unwrap_or_default(), kind, table)?;
    }
    Ok(())
}

fn parse<T: std::str::FromStr>(text: String) -> rusqlite::Result<T> {
    text.parse().map_err(|_| rusqlite::Error::InvalidColumnType(0, text, rusqlite::types::Type::Text))
}

impl Store {
    /// Records that a sync stopped part-way.
    pub(crate) fn mark_partial_sync(&self, now: u64) -> Result<(), ClientError> {
        self.conn().prepare_cached("UPDATE sync_state SET last_partial_at = ?1 WHERE id = 1")?.execute([now as i64])?;
        Ok(())
    }

    /// Records that the server refused this device's token.
    pub(crate) fn mark_signed_out(&self, now: u64) -> Result<(), ClientError> {
        self.conn().prepare_cached("UPDATE sync_state SET signed_out_at = ?1 WHERE id = 1")?.execute([now as i64])?;
        Ok(())
    }

    /// What the server refused in the last sync (empty when nothing was).
    pub fn refused(&self) -> Result<Vec<Refusal>, ClientError> {
        let json: Option<String> = self
            .conn()
            .prepare_cached("SELECT refused FROM sync_state WHERE id = 1")?
            .query_row([], |r| r.get(0))
            .optional()?
            .flatten();
        Ok(json.and_then(|j| serde_json::from_str(&j).ok()).unwrap_or_default())
    }

    /// The sync settings, or `None` while sync is off.
    pub fn sync_state(&self) -> Result<Option<SyncState>, ClientError> {
        let row = self
            .conn()
            .prepare_cached(
                "SELECT server_url, account_name, account_id, device_id, protocol_version, cursor, last_sync_at, \
                 compromised_at, signed_out_at, last_partial_at FROM sync_state WHERE id = 1",
            )?
            .query_row([], |r| {
                Ok(SyncState {
                    server_url: r.get(0)?,
                    account_name: r.get(1)?,
                    account_id: AccountId(parse(r.get(2)?)?),
                    device_id: DeviceId(parse(r.get(3)?)?),
                    protocol_version: r.get(4)?,
                    cursor: Cursor(r.get::<_, i64>(5)? as u64),
                    last_sync_at: r.get::<_, Option<i64>>(6)?.map(|t| t as u64),
                    compromised_at: r.get::<_, Option<i64>>(7)?.map(|t| t as u64),
                    signed_out_at: r.get::<_, Option<i64>>(8)?.map(|t| t as u64),
                    last_partial_at: r.get::<_, Option<i64>>(9)?.map(|t| t as u64),
                })
            })
            .optional()?;
        Ok(row)
    }

    /// Turns sync on: records the settings and queues every record for upload
    /// as this device's, in one transaction. Returns how many were queued.
    pub(crate) fn enable_sync(&mut self, state: &SyncState) -> Result<usize, ClientError> {
        self.transaction(|tx| {
            clear(tx)?;
            tx.execute(
                "INSERT INTO sync_state (id, server_url, account_name, account_id, device_id, protocol_version) \
                 VALUES (1, ?1, ?2, ?3, ?4, ?5)",
                params![
                    state.server_url,
                    state.account_name,
                    state.account_id.to_string(),
                    state.device_id.to_string(),
                    state.protocol_version
                ],
            )?;
            pin(tx, &state.server_url, &state.account_name, state.protocol_version)?;
            let all = records::adopt_all(tx)?;
            for &(id, kind, table) in &all {
                enqueue(tx, id, kind, table)?;
            }
            Ok(all.len())
        })
    }

    /// Turns sync off: forgets settings, cursor, outbox, marks and quarantine;
    /// keeps every record (and the pinned versions).
    pub(crate) fn disable_sync(&mut self) -> Result<(), ClientError> {
        self.transaction(clear)
    }

    /// The highest protocol version used with this account on this server.
    pub(crate) fn pinned_version(&self, server_url: &str, account_name: &str) -> Result<Option<u16>, ClientError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT version FROM pinned_versions WHERE server_url = ?1 AND account_name = ?2",
                params![server_url, account_name],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Number of changes waiting for upload.
    pub fn outbox_len(&self) -> Result<u64, ClientError> {
        Ok(self.conn().prepare_cached("SELECT COUNT(*) FROM outbox")?.query_row([], |r| r.get::<_, i64>(0))? as u64)
    }

    /// Whether envelopes wait to be tried again (see [`take_deferred`]).
    pub(crate) fn has_deferred(&self) -> Result<bool, ClientError> {
        let sql = "SELECT EXISTS (SELECT 1 FROM quarantine WHERE deferred = 1)";
        Ok(self.conn().prepare_cached(sql)?.query_row([], |r| r.get(0))?)
    }

    /// Quarantined entries dropped to keep the quarantine within
    /// [`QUARANTINE_LIMIT`] since sync was turned on.
    pub fn quarantine_dropped(&self) -> Result<u64, ClientError> {
        let sql = "SELECT quarantine_dropped FROM sync_state WHERE id = 1";
        let dropped: Option<i64> = self.conn().prepare_cached(sql)?.query_row([], |r| r.get(0)).optional()?;
        Ok(dropped.unwrap_or(0) as u64)
    }

    /// Quarantined envelopes, oldest first.
    pub fn quarantine(&self) -> Result<Vec<QuarantineEntry>, ClientError> {
        let mut statement = self
            .conn()
            .prepare("SELECT server_seq, reason, deferred, received_at, envelope FROM quarantine ORDER BY id")?;
        let rows = statement.query_map([], |r| {
            let header = sealsync_envelope::Envelope::decode(&r.get::<_, Vec<u8>>(4)?).ok().map(|e| e.header);
            Ok(QuarantineEntry {
                server_seq: r.get::<_, i64>(0)? as u64,
                reason: r.get(1)?,
                deferred: r.get::<_, i64>(2)? != 0,
                received_at: r.get::<_, i64>(3)? as u64,
                record_id: header.as_ref().map(|h| h.record_id.0),
                device_id: header.as_ref().map(|h| h.device_id),
                device_seq: header.as_ref().map(|h| h.device_seq.0),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}

/// The next outbox entries after counter `after`, as many as `limit` allows
/// (always at least one), sealing any not sealed yet and saving their bytes
/// (table `sealed`), so a retry after a lost response re-sends them exactly;
/// and whether entries may remain after them.
pub(crate) fn outgoing(
    tx: &Transaction<'_>,
    limit: BatchLimit,
    after: u64,
    sealer: &RecordSealer,
    device_id: DeviceId,
) -> Result<(Vec<Outgoing>, bool), ClientError> {
    // The count is part of the SQL, not a parameter: SQLite re-prepares a
    // statement whenever a bound LIMIT is bound again.
    let mut statement = tx.prepare_cached(&format!(
        "SELECT o.record_id, o.kind, o.device_seq, s.envelope FROM outbox o LEFT JOIN sealed s USING (device_seq) \
         WHERE o.device_seq > ?1 ORDER BY o.device_seq LIMIT {}",
        limit.envelopes
    ))?;
    let rows = statement
        .query_map([after as i64], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?, r.get::<_, Option<Vec<u8>>>(3)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut more = rows.len() == limit.envelopes;
    let mut out = Vec::with_capacity(rows.len());
    let mut batch_bytes = 0;
    for (id, kind, seq, envelope) in rows {
        let envelope = match envelope {
            Some(bytes) => bytes,
            None => {
                let record_id: Uuid = id.parse().unwrap_or_default();
                let Some(payload) = records::payload_of(tx, &kind, record_id, device_id)? else {
                    tx.prepare_cached("DELETE FROM outbox WHERE device_seq = ?1")?.execute([seq])?;
                    continue;
                };
                let bytes = sealer.seal(RecordId(record_id), device_id, DeviceSeq(seq as u64), &payload)?.encode();
                tx.prepare_cached("INSERT INTO sealed (device_seq, envelope) VALUES (?1, ?2)")?
                    .execute(params![seq, bytes])?;
                bytes
            }
        };
        batch_bytes += envelope.len();
        if batch_bytes > limit.bytes && !out.is_empty() {
            // Sealed and saved: the next batch starts with it.
            more = true;
            break;
        }
        out.push(Outgoing { device_seq: seq as u64, envelope });
    }
    Ok((out, more))
}

/// Drops acknowledged entries by counter (an entry edited again since it was
/// sealed has a new counter, so it stays) and, if the push's own envelopes
/// were all the server added after the cursor, moves the cursor to `skip` so
/// they are not downloaded again.
pub(crate) fn acknowledge(tx: &Transaction<'_>, counters: &[u64], skip: Option<Cursor>) -> Result<(), ClientError> {
    let mut delete = tx.prepare_cached("DELETE FROM outbox WHERE device_seq = ?1")?;
    for &seq in counters {
        delete.execute([seq as i64])?;
    }
    if let Some(cursor) = skip {
        advance(tx, cursor)?;
    }
    Ok(())
}

/// How many of `counters` are still queued: each one is then this device's
/// newest change of its record (queuing a change replaces the record's
/// older entry), so no counter it issued can be above it.
pub(crate) fn still_queued(tx: &Transaction<'_>, counters: &[u64]) -> Result<u64, ClientError> {
    let mut statement = tx.prepare_cached("SELECT EXISTS (SELECT 1 FROM outbox WHERE device_seq = ?1)")?;
    let mut queued = 0;
    for &seq in counters {
        if statement.query_row([seq as i64], |r| r.get::<_, bool>(0))? {
            queued += 1;
        }
    }
    Ok(queued)
}

/// Records that someone else pushes under this device's id (kept until sync
/// is turned off; the first time is kept).
pub(crate) fn mark_compromised(tx: &Transaction<'_>, now: u64) -> Result<(), ClientError> {
    tx.prepare_cached("UPDATE sync_state SET compromised_at = COALESCE(compromised_at, ?1) WHERE id = 1")?
        .execute([now as i64])?;
    Ok(())
}

/// The highest device_seq merged for every (record, device) pair of `records`:
/// one statement, however many records.
pub(crate) fn seen_many(tx: &Transaction<'_>, records: &[Uuid]) -> Result<HashMap<(Uuid, DeviceId), u64>, ClientError> {
    let mut seen = HashMap::with_capacity(records.len());
    if records.is_empty() {
        return Ok(seen);
    }
    let ids: Array = Rc::new(records.iter().map(|id| Value::Text(id.to_string())).collect());
    let mut statement =
        tx.prepare_cached("SELECT record_id, device_id, device_seq FROM seen WHERE record_id IN rarray(?1)")?;
    let mut rows = statement.query([&ids])?;
    while let Some(row) = rows.next()? {
        let (record, device): (String, String) = (row.get(0)?, row.get(1)?);
        if let (Ok(record), Ok(device)) = (record.parse(), device.parse()) {
            seen.insert((record, device), row.get::<_, i64>(2)? as u64);
        }
    }
    Ok(seen)
}

/// Records the counter of a merged envelope for its (record, device); the
/// device's mark in `seen_high` is raised by [`raise_seen_high`], once per
/// page, in the same transaction.
pub(crate) fn mark_seen(tx: &Transaction<'_>, record: Uuid, device: DeviceId, seq: u64) -> Result<(), ClientError> {
    tx.prepare_cached(
        "INSERT INTO seen (record_id, device_id, device_seq) VALUES (?1, ?2, ?3) \
         ON CONFLICT (record_id, device_id) DO UPDATE SET device_seq = excluded.device_seq",
    )?
    .execute(params![record.to_string(), device.to_string(), seq as i64])?;
    Ok(())
}

/// Raises each device's highest merged counter (never lowers one).
pub(crate) fn raise_seen_high(tx: &Transaction<'_>, highs: &HashMap<DeviceId, u64>) -> Result<(), ClientError> {
    let mut raise = tx.prepare_cached(
        "INSERT INTO seen_high (device_id, device_seq) VALUES (?1, ?2) \
         ON CONFLICT (device_id) DO UPDATE SET device_seq = MAX(device_seq, excluded.device_seq)",
    )?;
    for (device, &seq) in highs {
        raise.execute(params![device.to_string(), seq as i64])?;
    }
    Ok(())
}

/// Entries of the quarantine that will not be retried, at most: beyond it,
/// [`trim_quarantine`] drops the oldest (their number is kept, see
/// [`Store::quarantine_dropped`]). Deferred entries are not counted and never
/// dropped: each opened under the account's key, so only the account's own
/// devices made it, and it is data this device will still apply.
pub const QUARANTINE_LIMIT: u64 = 1_000;

/// Sets an envelope aside with the reason. An envelope whose exact bytes are
/// already quarantined is not added again, so a server replaying one
/// envelope at new positions adds nothing.
pub(crate) fn quarantine(
    tx: &Transaction<'_>,
    server_seq: Cursor,
    envelope: &[u8],
    reason: &str,
    deferred: bool,
    now: u64,
) -> Result<(), ClientError> {
    tx.prepare_cached(
        "INSERT INTO quarantine (server_seq, envelope, reason, deferred, received_at) VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (envelope) DO NOTHING",
    )?
    .execute(params![server_seq.0 as i64, envelope, reason, deferred, now as i64])?;
    Ok(())
}

/// Drops the oldest entries that will not be retried beyond
/// [`QUARANTINE_LIMIT`], counting them; returns how many went.
pub(crate) fn trim_quarantine(tx: &Transaction<'_>) -> Result<u64, ClientError> {
    let dropped = tx
        .prepare_cached(
            "DELETE FROM quarantine WHERE deferred = 0 AND id NOT IN \
             (SELECT id FROM quarantine WHERE deferred = 0 ORDER BY id DESC LIMIT ?1)",
        )?
        .execute([QUARANTINE_LIMIT as i64])? as u64;
    if dropped > 0 {
        tx.prepare_cached("UPDATE sync_state SET quarantine_dropped = quarantine_dropped + ?1 WHERE id = 1")?
            .execute([dropped as i64])?;
    }
    Ok(dropped)
}

/// Takes the deferred envelopes out of quarantine, to be tried again.
pub(crate) fn take_deferred(tx: &Transaction<'_>) -> Result<Vec<(Cursor, Vec<u8>)>, ClientError> {
    let mut statement = tx.prepare("SELECT server_seq, envelope FROM quarantine WHERE deferred = 1 ORDER BY id")?;
    let rows = statement
        .query_map([], |r| Ok((Cursor(r.get::<_, i64>(0)? as u64), r.get::<_, Vec<u8>>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    tx.execute("DELETE FROM quarantine WHERE deferred = 1", [])?;
    Ok(rows)
}

/// Takes quarantined envelopes out, to be merged again (after a fix, e.g.
/// an unlocked key): all of them, or those at one `server_seq`.
pub(crate) fn take_quarantined(tx: &Transaction<'_>, only: Option<u64>) -> Result<Vec<(Cursor, Vec<u8>)>, ClientError> {
    let only = only.map(|s| s as i64);
    let mut statement =
        tx.prepare("SELECT server_seq, envelope FROM quarantine WHERE ?1 IS NULL OR server_seq = ?1 ORDER BY id")?;
    let rows = statement
        .query_map([only], |r| Ok((Cursor(r.get::<_, i64>(0)? as u64), r.get::<_, Vec<u8>>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    tx.execute("DELETE FROM quarantine WHERE ?1 IS NULL OR server_seq = ?1", [only])?;
    Ok(rows)
}

impl Store {
    /// Drops quarantined envelopes (all, or those at one `server_seq`); how many.
    pub fn clear_quarantine(&mut self, only: Option<u64>) -> Result<u64, ClientError> {
        let only = only.map(|s| s as i64);
        Ok(self.conn().execute("DELETE FROM quarantine WHERE ?1 IS NULL OR server_seq = ?1", [only])? as u64)
    }
}

pub(crate) fn advance(tx: &Transaction<'_>, cursor: Cursor) -> Result<(), ClientError> {
    tx.prepare_cached("UPDATE sync_state SET cursor = ?1 WHERE id = 1 AND cursor < ?1")?.execute([cursor.0 as i64])?;
    Ok(())
}

pub(crate) fn finished(tx: &Transaction<'_>, now: u64, refused: &[Refusal]) -> Result<(), ClientError> {
    let refused = (!refused.is_empty()).then(|| serde_json::to_string(refused).expect("refusals serialize"));
    tx.prepare_cached("UPDATE sync_state SET last_sync_at = ?1, refused = ?2 WHERE id = 1")?
        .execute(params![now as i64, refused])?;
    Ok(())
}

fn pin(tx: &Transaction<'_>, server_url: &str, account_name: &str, version: u16) -> Result<(), ClientError> {
    tx.execute(
        "INSERT INTO pinned_versions (server_url, account_name, version) VALUES (?1, ?2, ?3) \
         ON CONFLICT (server_url, account_name) DO UPDATE SET version = MAX(version, excluded.version)",
        params![server_url, account_name, version],
    )?;
    Ok(())
}

fn clear(tx: &Transaction<'_>) -> Result<(), ClientError> {
    for table in ["sync_state", "sealed", "outbox", "seen", "seen_high", "quarantine"] {
        tx.execute(&format!("DELETE FROM {table}"), [])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use sealsync_envelope::UnixMillis;

    use super::*;
    use crate::domain::Mood;

    fn mood(score: u8) -> Mood {
        Mood { score, note: format!("note {score}"), tags: vec![] }
    }

    fn state() -> SyncState {
        SyncState {
            server_url: "https://sync.example".into(),
            account_name: "someone@example.org".into(),
            account_id: AccountId::random(),
            device_id: DeviceId::random(),
            protocol_version: 1,
            cursor: Cursor::START,
            last_sync_at: None,
            compromised_at: None,
            signed_out_at: None,
            last_partial_at: None,
        }
    }

    /// (counter, record id) of every queued change, in counter order.
    fn queued(store: &Store) -> Vec<(u64, Uuid)> {
        let mut statement =
            store.conn().prepare("SELECT device_seq, record_id FROM outbox ORDER BY device_seq").unwrap();
        let rows = statement.query_map([], |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, String>(1)?))).unwrap();
        rows.map(|row| row.map(|(seq, id)| (seq, id.parse().unwrap()))).collect::<Result<_, _>>().unwrap()
    }

    /// `create_many` queues each record as `create` would, under consecutive
    /// counters that continue where single edits left off, with distinct
    /// rising stamps; a batch holding one invalid record writes nothing.
    #[test]
    fn a_batch_of_new_records_is_queued_like_single_creates() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("journal.db")).unwrap();
        store.enable_sync(&state()).unwrap();
        let single = store.create(&mood(1), UnixMillis(1_000)).unwrap();
        let ids = store.create_many(&[mood(2), mood(3), mood(4)], UnixMillis(2_000)).unwrap();
        let after = store.create(&mood(5), UnixMillis(3_000)).unwrap();
        let expected: Vec<(u64, Uuid)> =
            [single].iter().chain(&ids).chain([&after]).enumerate().map(|(i, &id)| (i as u64 + 1, id)).collect();
        assert_eq!(queued(&store), expected);
        let stamps: Vec<u64> = ids.iter().map(|&id| store.get::<Mood>(id).unwrap().unwrap().hlc).collect();
        assert!(stamps.windows(2).all(|w| w[0] < w[1]), "each record its own stamp: {stamps:?}");
        assert_eq!(store.get::<Mood>(ids[1]).unwrap().unwrap().fields, Some(mood(3)));

        let bad = store.create_many(&[mood(6), mood(11)], UnixMillis(4_000));
        assert!(matches!(bad, Err(ClientError::Invalid(_))), "{bad:?}");
        assert_eq!(store.list::<Mood>(true).unwrap().len(), 5, "nothing of the bad batch is written");
        assert_eq!(store.outbox_len().unwrap(), 5);
    }

    #[test]
    fn a_record_has_one_queued_change_and_an_old_acknowledgement_keeps_the_newer_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("journal.db")).unwrap();
        let first = store.create(&mood(1), UnixMillis(1_000)).unwrap();
        store.enable_sync(&state()).unwrap();
        assert_eq!(queued(&store), [(1, first)], "a record made before sync is queued when it is turned on");

        store.update(first, &mood(2), UnixMillis(2_000)).unwrap();
        store.update(first, &mood(3), UnixMillis(3_000)).unwrap();
        let second = store.create(&mood(4), UnixMillis(4_000)).unwrap();
        store.delete::<Mood>(second, UnixMillis(5_000)).unwrap();
        assert_eq!(queued(&store), [(3, first), (5, second)]);
        assert_eq!(store.outbox_len().unwrap(), 2);

        // The server acknowledges the first version, sealed before the edits.
        store.transaction(|tx| acknowledge(tx, &[1], None)).unwrap();
        assert_eq!(queued(&store), [(3, first), (5, second)], "the edits since are still queued");
        store.transaction(|tx| acknowledge(tx, &[3, 5], None)).unwrap();
        assert!(queued(&store).is_empty());
    }

    fn sealed_rows(store: &Store) -> i64 {
        store.conn().query_row("SELECT COUNT(*) FROM sealed", [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn sealed_bytes_are_sent_again_exactly_and_leave_with_their_entry() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("journal.db")).unwrap();
        let first = store.create(&mood(1), UnixMillis(1_000)).unwrap();
        store.create(&mood(2), UnixMillis(2_000)).unwrap();
        let state = state();
        store.enable_sync(&state).unwrap();
        let key = sealsync_crypto::DataKey::generate().unwrap();
        let sealer = RecordSealer::new(state.account_id, &key);
        let seal = |store: &mut Store| {
            let (batch, _) = store
                .transaction(|tx| {
                    outgoing(tx, BatchLimit { envelopes: 10, bytes: 1 << 20 }, 0, &sealer, state.device_id)
                })
                .unwrap();
            batch.into_iter().map(|o| (o.device_seq, o.envelope)).collect::<Vec<_>>()
        };

        let sent = seal(&mut store);
        assert_eq!(sent.len(), 2);
        assert_eq!(seal(&mut store), sent, "a retry re-sends the bytes sealed first, not a new sealing");
        assert_eq!(sealed_rows(&store), 2);

        store.update(first, &mood(3), UnixMillis(3_000)).unwrap();
        assert_eq!(sealed_rows(&store), 1, "a replaced entry's sealed bytes go with it");
        store.transaction(|tx| acknowledge(tx, &[2], None)).unwrap();
        assert_eq!(sealed_rows(&store), 0, "an acknowledged entry's sealed bytes go with it");
        assert_eq!(seal(&mut store).len(), 1);
        store.disable_sync().unwrap();
        assert_eq!(sealed_rows(&store), 0, "turning sync off forgets sealed bytes");
    }

    #[test]
    fn a_batch_stops_at_its_byte_limit_and_the_next_starts_where_it_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("journal.db")).unwrap();
        for score in 1..=5 {
            store.create(&mood(score), UnixMillis(u64::from(score) * 1_000)).unwrap();
        }
        let state = state();
        store.enable_sync(&state).unwrap();
        let key = sealsync_crypto::DataKey::generate().unwrap();
        let sealer = RecordSealer::new(state.account_id, &key);
        // Every mood seals to the 512-byte minimum plus framing: two fit in 1,500 bytes.
        let limit = BatchLimit { envelopes: 10, bytes: 1_500 };
        let mut batches = Vec::new();
        let mut after = 0;
        loop {
            let (batch, more) = store.transaction(|tx| outgoing(tx, limit, after, &sealer, state.device_id)).unwrap();
            assert!(batch.iter().map(|o| o.envelope.len()).sum::<usize>() <= limit.bytes);
            batches.push(batch.iter().map(|o| o.device_seq).collect::<Vec<_>>());
            after = batch.last().map_or(after, |o| o.device_seq);
            if !more {
                break;
            }
        }
        assert_eq!(batches, [vec![1, 2], vec![3, 4], vec![5]]);

        let tiny = BatchLimit { envelopes: 10, bytes: 1 };
        let (batch, more) = store.transaction(|tx| outgoing(tx, tiny, 0, &sealer, state.device_id)).unwrap();
        assert_eq!((batch.len(), more), (1, true), "an envelope larger than the limit still goes, alone");
    }

    #[test]
    fn the_quarantine_refuses_duplicates_and_keeps_the_newest_entries_within_its_limit() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("journal.db")).unwrap();
        store.enable_sync(&state()).unwrap();
        let add = |store: &mut Store, seq: u64, bytes: Vec<u8>, deferred: bool| {
            store
                .transaction(|tx| {
                    quarantine(tx, Cursor(seq), &bytes, "a reason", deferred, 1)?;
                    trim_quarantine(tx)
                })
                .unwrap()
        };
        // The same envelope served again and again, at new positions: kept once.
        for seq in 1..=5 {
            add(&mut store, seq, vec![0xa8, 1], false);
        }
        assert_eq!(store.quarantine().unwrap().len(), 1);
        assert_eq!(store.quarantine().unwrap()[0].server_seq, 1);

        // Two deferred envelopes, then more refused ones than the limit.
        add(&mut store, 10, vec![0xa8, 2], true);
        add(&mut store, 11, vec![0xa8, 3], true);
        let mut dropped = 0;
        for seq in 100..100 + QUARANTINE_LIMIT + 10 {
            dropped += add(&mut store, seq, seq.to_be_bytes().to_vec(), false);
        }
        let entries = store.quarantine().unwrap();
        assert_eq!(dropped, 11, "the first entry and the ten oldest of the flood");
        assert_eq!(store.quarantine_dropped().unwrap(), 11);
        assert_eq!(entries.len() as u64, QUARANTINE_LIMIT + 2);
        assert_eq!(entries.iter().filter(|e| e.deferred).count(), 2, "deferred entries are never dropped");
        let refused: Vec<u64> = entries.iter().filter(|e| !e.deferred).map(|e| e.server_seq).collect();
        assert_eq!(refused.first(), Some(&110), "the oldest went first");
        assert_eq!(refused.last(), Some(&(100 + QUARANTINE_LIMIT + 9)));
    }

    #[test]
    fn turning_sync_on_again_queues_every_record_once_under_new_counters() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("journal.db")).unwrap();
        let ids: Vec<Uuid> =
            (1..=3).map(|i| store.create(&mood(i), UnixMillis(u64::from(i) * 1_000)).unwrap()).collect();
        store.enable_sync(&state()).unwrap();
        for _ in 0..3 {
            store.update(ids[2], &mood(9), UnixMillis(9_000)).unwrap();
        }
        store.disable_sync().unwrap();
        store.update(ids[0], &mood(8), UnixMillis(10_000)).unwrap();

        // The new device's counters start at 1 again: the records' old queued
        // counters (up to 6) must not take the new entries out of the queue.
        store.enable_sync(&state()).unwrap();
        for _ in 0..3 {
            store.update(ids[0], &mood(7), UnixMillis(11_000)).unwrap();
        }
        let fourth = store.create(&mood(5), UnixMillis(12_000)).unwrap();
        let mut records: Vec<Uuid> = queued(&store).into_iter().map(|(_, id)| id).collect();
        records.sort();
        let mut expected = [ids.clone(), vec![fourth]].concat();
        expected.sort();
        assert_eq!(records, expected, "every record queued exactly once");
    }
}
