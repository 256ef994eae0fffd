//! What this device remembers of the account's log on the server, to notice
//! a server restored from an older backup (PROTOCOL.md §8.2, "Restored
//! servers"), and the local half of healing from one: every record queued
//! again and the cursor back to the start, in one transaction.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, Transaction, params};
use sealsync_envelope::dto::LogId;
use sealsync_envelope::{Cursor, DeviceId};

use super::records;
use super::sync_state::enqueue;
use crate::error::ClientError;

/// The log as this device last knew it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownLog {
    /// The log identity last seen (none before the first answer carrying one).
    pub id: Option<LogId>,
    /// The log identity this device last healed on (see [`start_over`]).
    pub healed_on: Option<LogId>,
    /// Per device, the highest counter this device holds from it: merged
    /// from others, acknowledged for its own.
    pub counters: HashMap<DeviceId, u64>,
    /// The highest position this device knows the log reached: its cursor,
    /// or a position the server gave one of its own envelopes, if higher.
    pub high: Cursor,
    /// Unix ms when this device last found the server restored.
    pub restored_at: Option<u64>,
}

/// Reads what this device knows of the log; `None` while sync is off.
pub fn known(conn: &rusqlite::Connection) -> Result<Option<KnownLog>, ClientError> {
    let sql = "SELECT log_id, healed_log_id, MAX(cursor, acked_position), restored_at, device_id, acked_device_seq \
               FROM sync_state WHERE id = 1";
    let log_id = |id: Option<Vec<u8>>| id.and_then(|id| <[u8; 16]>::try_from(id).ok()).map(LogId);
    let row = conn
        .prepare_cached(sql)?
        .query_row([], |r| {
            let me: String = r.get(4)?;
            let mut counters = HashMap::new();
            if let Ok(me) = me.parse() {
                counters.insert(DeviceId(me), r.get::<_, i64>(5)? as u64);
            }
            Ok(KnownLog {
                id: log_id(r.get(0)?),
                healed_on: log_id(r.get(1)?),
                counters,
                high: Cursor(r.get::<_, i64>(2)? as u64),
                restored_at: r.get::<_, Option<i64>>(3)?.map(|t| t as u64),
            })
        })
        .optional()?;
    let Some(mut known) = row else { return Ok(None) };
    let mut statement = conn.prepare_cached("SELECT device_id, device_seq FROM seen_high")?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        if let Ok(device) = row.get::<_, String>(0)?.parse() {
            known.counters.insert(DeviceId(device), row.get::<_, i64>(1)? as u64);
        }
    }
    Ok(Some(known))
}

/// Remembers the log identity the server answered with (once checked).
pub(crate) fn remember(tx: &Transaction<'_>, id: LogId) -> Result<(), ClientError> {
    tx.prepare_cached("UPDATE sync_state SET log_id = ?1 WHERE id = 1")?.execute([&id.0[..]])?;
    Ok(())
}

/// Remembers the highest position the server gave one of this device's
/// envelopes (the log reached it, whether or not this device pulled it) and
/// the highest counter of its own it acknowledged.
pub(crate) fn note_acked(tx: &Transaction<'_>, position: Cursor, counter: u64) -> Result<(), ClientError> {
    tx.prepare_cached(
        "UPDATE sync_state SET acked_position = MAX(acked_position, ?1), acked_device_seq = MAX(acked_device_seq, ?2) \
         WHERE id = 1",
    )?
    .execute([position.0 as i64, counter as i64])?;
    Ok(())
}

/// Whether the pull that heals a restore is under way.
pub(crate) fn healing(tx: &Transaction<'_>) -> Result<bool, ClientError> {
    let flag: Option<bool> = tx
        .prepare_cached("SELECT restore_pull FROM sync_state WHERE id = 1")?
        .query_row([], |r| r.get(0))
        .optional()?;
    Ok(flag.unwrap_or(false))
}

/// The healing pull reached the head of the log.
pub(crate) fn healed(tx: &Transaction<'_>) -> Result<(), ClientError> {
    tx.prepare_cached("UPDATE sync_state SET restore_pull = 0 WHERE id = 1")?.execute([])?;
    Ok(())
}

/// Starts over on a restored log `id`: every record is queued again under a
/// new counter (so the server, which dedups by counter, stores each as new),
/// the cursor goes back to 0 and the positions known are forgotten. `id` is
/// remembered as the log healed on: counters held from before (the other
/// devices' included) are no evidence on it, as those devices heal and send
/// again when they see its new identity. Returns how many records were queued.
pub(crate) fn start_over(tx: &Transaction<'_>, id: Option<LogId>, now: u64) -> Result<u64, ClientError> {
    let mut queued = 0;
    for (kind, table) in records::KINDS {
        let ids: Vec<String> = tx
            .prepare(&format!("SELECT id FROM {table} ORDER BY created_at, id"))?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for record in ids {
            enqueue(tx, record.parse().unwrap_or_default(), kind, table)?;
            queued += 1;
        }
    }
    tx.prepare_cached(
        "UPDATE sync_state SET cursor = 0, acked_position = 0, log_id = ?1, healed_log_id = ?1, restored_at = ?2, \
         restore_pull = 1 WHERE id = 1",
    )?
    .execute(params![id.map(|id| id.0.to_vec()), now as i64])?;
    Ok(queued)
}
