//! The conflict log: group values that lost to a concurrent edit of the
//! same group elsewhere (PROTOCOL.md §7). Merging writes it; the user lists
//! an entry, restores it as a new edit, or dismisses it. Nothing here syncs:
//! each device logs what it saw lose.

use std::collections::BTreeMap;

use rusqlite::{Transaction, params};
use sealsync_envelope::{DeviceId, Hlc, Lost, UnixMillis};
use serde::Serialize;
use uuid::Uuid;

use super::Store;
use super::records::{THIS_DEVICE, edit, live_fields};
use crate::domain::{RecordType, from_group_values, group_values};
use crate::error::ClientError;

/// A record with entries in the conflict log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflicted {
    /// Its kind (`mood`, `assessment`, `activity`, `schedule`).
    pub kind: String,
    /// The record.
    pub record_id: Uuid,
    /// How many entries.
    pub conflicts: u64,
}

/// One logged conflict, as the app shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conflict {
    /// Its number in this device's log.
    pub id: i64,
    /// The record.
    pub record_id: Uuid,
    /// The field group's name (e.g. `score`, `note`, `answers`).
    pub group: &'static str,
    /// The value that lost: the group's fields by name, as in the record's JSON.
    pub fields: serde_json::Value,
    /// The stamp of the edit that lost (PROTOCOL.md §5).
    pub lost_hlc: u64,
    /// Unix ms of the edit that lost (the wall-clock part of `lost_hlc`).
    pub lost_at: u64,
    /// The device that made it; `None`: this device.
    pub lost_on: Option<DeviceId>,
    /// The stamp of the edit that won.
    pub won_hlc: u64,
    /// The device that made the winning edit; `None`: this device.
    pub won_on: Option<DeviceId>,
    /// Unix ms at which this device found the conflict.
    pub detected_at: u64,
}

fn by(device: DeviceId, me: DeviceId) -> Option<String> {
    (device != me && device != THIS_DEVICE).then(|| device.to_string())
}

/// Logs the values that lost in a merge of record `id`.
pub(crate) fn record(
    tx: &Transaction<'_>,
    id: Uuid,
    kind: &str,
    lost: &[Lost],
    me: DeviceId,
    now: UnixMillis,
) -> Result<(), ClientError> {
    if lost.is_empty() {
        return Ok(());
    }
    let mut insert = tx.prepare_cached(
        "INSERT INTO conflicts (record_id, kind, field_group, value, lost_hlc, lost_by, won_hlc, won_by, detected_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for l in lost {
        insert.execute(params![
            id.to_string(),
            kind,
            l.group as i64,
            l.value,
            l.dot.hlc.as_u64() as i64,
            by(l.dot.device, me),
            l.winner.hlc.as_u64() as i64,
            by(l.winner.device, me),
            now.0 as i64,
        ])?;
    }
    Ok(())
}

/// Erases a record's log (its content was deleted).
pub(crate) fn forget(tx: &Transaction<'_>, id: Uuid) -> Result<(), ClientError> {
    tx.prepare_cached("DELETE FROM conflicts WHERE record_id = ?1")?.execute([id.to_string()])?;
    Ok(())
}

/// A logged entry's raw form.
struct Entry {
    id: i64,
    group: u64,
    value: Vec<u8>,
    lost: (i64, Option<String>),
    won: (i64, Option<String>),
    detected_at: i64,
}

fn entries(conn: &rusqlite::Connection, kind: &str, record: Uuid) -> Result<Vec<Entry>, ClientError> {
    let mut statement = conn.prepare_cached(
        "SELECT id, field_group, value, lost_hlc, lost_by, won_hlc, won_by, detected_at FROM conflicts \
         WHERE record_id = ?1 AND kind = ?2 ORDER BY id",
    )?;
    let rows = statement.query_map(params![record.to_string(), kind], |r| {
        Ok(Entry {
            id: r.get(0)?,
            group: r.get::<_, i64>(1)? as u64,
            value: r.get(2)?,
            lost: (r.get(3)?, r.get(4)?),
            won: (r.get(5)?, r.get(6)?),
            detected_at: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// `current` with one group's value replaced by `value`: the record as the
/// losing edit would have left it.
fn with_group<T: RecordType>(current: &T, group: u64, value: &[u8]) -> Result<T, ClientError> {
    let mut values: BTreeMap<u64, Vec<u8>> = group_values(current).into_iter().collect();
    values.insert(group, value.to_vec());
    Ok(from_group_values::<T>(&values)?)
}

impl Store {
    /// The conflicts logged for a live record, oldest first.
    pub fn conflicts<T: RecordType>(&self, record: Uuid) -> Result<Vec<Conflict>, ClientError> {
        let Some(current) = live_fields::<T>(self.conn(), record)? else { return Ok(Vec::new()) };
        let device = |d: Option<String>| d.and_then(|d| d.parse().ok());
        entries(self.conn(), T::KIND, record)?
            .into_iter()
            .filter_map(|e| Some((T::GROUPS.iter().find(|g| g.id == e.group)?, e)))
            .map(|(group, e)| {
                let as_json = serde_json::to_value(with_group(&current, e.group, &e.value)?)
                    .map_err(|e| ClientError::Migration(e.to_string()))?;
                let fields = group.fields.iter().filter_map(|&f| Some((f.to_owned(), as_json.get(f)?.clone())));
                Ok(Conflict {
                    id: e.id,
                    record_id: record,
                    group: group.name,
                    fields: serde_json::Value::Object(fields.collect()),
                    lost_hlc: e.lost.0 as u64,
                    lost_at: Hlc::from_u64(e.lost.0 as u64).wall_ms(),
                    lost_on: device(e.lost.1),
                    won_hlc: e.won.0 as u64,
                    won_on: device(e.won.1),
                    detected_at: e.detected_at as u64,
                })
            })
            .collect()
    }

    /// The records with logged conflicts, by kind and id.
    pub fn conflicted(&self) -> Result<Vec<Conflicted>, ClientError> {
        let mut statement = self.conn().prepare(
            "SELECT kind, record_id, COUNT(*) FROM conflicts GROUP BY kind, record_id ORDER BY kind, record_id",
        )?;
        let rows = statement.query_map([], |r| {
            Ok(Conflicted {
                kind: r.get(0)?,
                record_id: r.get::<_, String>(1)?.parse().unwrap_or_default(),
                conflicts: r.get::<_, i64>(2)? as u64,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Makes a logged value the record's current one, as a new local edit
    /// (so it syncs and wins over what it lost to), and removes the entry.
    pub fn restore_conflict<T: RecordType>(
        &mut self,
        record: Uuid,
        conflict: i64,
        now: UnixMillis,
    ) -> Result<(), ClientError> {
        self.transaction(|tx| {
            let entry = take(tx, T::KIND, record, conflict)?;
            let current = live_fields::<T>(tx, record)?
                .ok_or_else(|| ClientError::NotFound { kind: T::KIND, id: record.to_string() })?;
            edit(tx, record, &with_group(&current, entry.group, &entry.value)?, now)?;
            Ok(())
        })
    }

    /// Removes a logged conflict, keeping the record as it is.
    pub fn dismiss_conflict<T: RecordType>(&mut self, record: Uuid, conflict: i64) -> Result<(), ClientError> {
        self.transaction(|tx| take(tx, T::KIND, record, conflict).map(drop))
    }
}

/// Removes and returns one entry of a record's log.
fn take(tx: &Transaction<'_>, kind: &'static str, record: Uuid, conflict: i64) -> Result<Entry, ClientError> {
    let entry = entries(tx, kind, record)?.into_iter().find(|e| e.id == conflict);
    let entry = entry.ok_or_else(|| ClientError::NotFound { kind: "conflict", id: conflict.to_string() })?;
    tx.prepare_cached("DELETE FROM conflicts WHERE id = ?1")?.execute([conflict])?;
    Ok(entry)
}
