//! The record tables: local create/edit/delete, queries, and the merge of a
//! remote version by the last-write-wins rule (PROTOCOL.md §7).

use std::collections::HashMap;
use std::rc::Rc;

use rusqlite::types::Value;
use rusqlite::vtab::array::Array;
use rusqlite::{OptionalExtension, Transaction, params_from_iter};
use sealsync_envelope::merge::supersedes;
use sealsync_envelope::{DeviceId, Hlc, LwwKey, RecordKind, RecordPayload, UnixMillis};
use uuid::Uuid;

use super::{Store, sync_state, tick};
use crate::domain::{Activity, Assessment, Mood, Record, RecordType, Schedule, decode_body, encode_body};
use crate::error::ClientError;

/// Every kind of record and its table.
const KINDS: [(&str, &str); 4] = [
    (Mood::KIND, Mood::TABLE),
    (Assessment::KIND, Assessment::TABLE),
    (Activity::KIND, Activity::TABLE),
    (Schedule::KIND, Schedule::TABLE),
];

fn content_columns<T: RecordType>() -> String {
    T::COLUMNS.join(", ")
}

/// The stored metadata of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Meta {
    pub created_at: u64,
    pub hlc: Hlc,
    /// `None`: made on this device.
    pub updated_by: Option<DeviceId>,
    pub deleted_at: Option<u64>,
}

impl Meta {
    fn lww_key(&self, this_device: DeviceId) -> LwwKey {
        LwwKey {
            tombstone: self.deleted_at.is_some(),
            hlc: self.hlc,
            device_id: self.updated_by.unwrap_or(this_device),
        }
    }
}

fn meta<T: RecordType>(tx: &rusqlite::Connection, id: Uuid) -> Result<Option<Meta>, ClientError> {
    let sql = format!("SELECT created_at, updated_hlc, updated_by, deleted_at FROM {} WHERE id = ?1", T::TABLE);
    Ok(tx.prepare_cached(&sql)?.query_row([id.to_string()], |r| meta_from_row(r, 0)).optional()?)
}

/// Reads `created_at, updated_hlc, updated_by, deleted_at` from column `at` on.
fn meta_from_row(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Meta> {
    Ok(Meta {
        created_at: row.get::<_, i64>(at)? as u64,
        hlc: Hlc::from_u64(row.get::<_, i64>(at + 1)? as u64),
        updated_by: row.get::<_, Option<String>>(at + 2)?.and_then(|d| d.parse().ok()),
        deleted_at: row.get::<_, Option<i64>>(at + 3)?.map(|d| d as u64),
    })
}

/// Writes a version of a record: its content (or NULLs for a tombstone) and metadata.
fn write<T: RecordType>(tx: &Transaction<'_>, id: Uuid, fields: Option<&T>, meta: &Meta) -> Result<(), ClientError> {
    let columns = T::COLUMNS;
    let mut values: Vec<Value> = vec![id.to_string().into()];
    match fields {
        Some(fields) => values.extend(fields.to_columns()),
        None => values.extend(columns.iter().map(|_| Value::Null)),
    }
    values.push((meta.created_at as i64).into());
    values.push((meta.hlc.as_u64() as i64).into());
    values.push(meta.updated_by.map_or(Value::Null, |d| d.to_string().into()));
    values.push(meta.deleted_at.map_or(Value::Null, |d| (d as i64).into()));
    let placeholders = (1..=values.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
    let updates = columns
        .iter()
        .chain(["created_at", "updated_hlc", "updated_by", "deleted_at"].iter())
        .map(|c| format!("{c} = excluded.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "INSERT INTO {table} (id, {cols}, created_at, updated_hlc, updated_by, deleted_at) VALUES ({placeholders}) \
         ON CONFLICT (id) DO UPDATE SET {updates}",
        table = T::TABLE,
        cols = content_columns::<T>(),
    );
    tx.prepare_cached(&sql)?.execute(params_from_iter(values))?;
    Ok(())
}

/// `SELECT` of whole records (the shape [`record_from_row`] reads), then `rest`.
fn select<T: RecordType>(rest: &str) -> String {
    format!(
        "SELECT id, {}, created_at, updated_hlc, updated_by, deleted_at FROM {} {rest}",
        content_columns::<T>(),
        T::TABLE
    )
}

fn record_from_row<T: RecordType>(row: &rusqlite::Row<'_>) -> rusqlite::Result<Record<T>> {
    let n = T::COLUMNS.len();
    let id: String = row.get(0)?;
    let values = (1..=n).map(|i| row.get::<_, Value>(i)).collect::<rusqlite::Result<Vec<_>>>()?;
    let deleted_at: Option<i64> = row.get(n + 4)?;
    Ok(Record {
        id: id.parse().unwrap_or_default(),
        fields: if deleted_at.is_some() { None } else { T::from_columns(&values) },
        created_at: row.get::<_, i64>(n + 1)? as u64,
        updated_at: Hlc::from_u64(row.get::<_, i64>(n + 2)? as u64).wall_ms(),
        hlc: row.get::<_, i64>(n + 2)? as u64,
        deleted_at: deleted_at.map(|d| d as u64),
    })
}

impl Store {
    /// Creates a record; returns its new id.
    pub fn create<T: RecordType>(&mut self, fields: &T, now: UnixMillis) -> Result<Uuid, ClientError> {
        fields.validate()?;
        let id = Uuid::new_v4();
        self.transaction(|tx| {
            let hlc = tick(tx, now)?;
            write(tx, id, Some(fields), &Meta { created_at: now.0, hlc, updated_by: None, deleted_at: None })?;
            sync_state::enqueue(tx, id, T::KIND, T::TABLE)
        })?;
        Ok(id)
    }

    /// Replaces a live record's content.
    pub fn update<T: RecordType>(&mut self, id: Uuid, fields: &T, now: UnixMillis) -> Result<(), ClientError> {
        fields.validate()?;
        self.transaction(|tx| {
            let current = live::<T>(tx, id)?;
            let hlc = tick(tx, now)?;
            write(tx, id, Some(fields), &Meta { hlc, updated_by: None, ..current })?;
            sync_state::enqueue(tx, id, T::KIND, T::TABLE)
        })
    }

    /// Deletes a live record: a tombstone that erases its content.
    pub fn delete<T: RecordType>(&mut self, id: Uuid, now: UnixMillis) -> Result<(), ClientError> {
        self.transaction(|tx| {
            let current = live::<T>(tx, id)?;
            let hlc = tick(tx, now)?;
            write::<T>(tx, id, None, &Meta { hlc, updated_by: None, deleted_at: Some(now.0), ..current })?;
            sync_state::enqueue(tx, id, T::KIND, T::TABLE)
        })
    }

    /// One record, deleted or not.
    pub fn get<T: RecordType>(&self, id: Uuid) -> Result<Option<Record<T>>, ClientError> {
        Ok(self.conn().query_row(&select::<T>("WHERE id = ?1"), [id.to_string()], record_from_row::<T>).optional()?)
    }

    /// Every record of a kind, oldest first; deleted ones only if asked.
    pub fn list<T: RecordType>(&self, include_deleted: bool) -> Result<Vec<Record<T>>, ClientError> {
        let filter = if include_deleted { "" } else { "WHERE deleted_at IS NULL" };
        let mut statement = self.conn().prepare(&select::<T>(&format!("{filter} ORDER BY created_at, id")))?;
        let rows = statement.query_map([], record_from_row::<T>)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}

fn live<T: RecordType>(tx: &Transaction<'_>, id: Uuid) -> Result<Meta, ClientError> {
    match meta::<T>(tx, id)? {
        None => Err(ClientError::NotFound { kind: T::KIND, id: id.to_string() }),
        Some(m) if m.deleted_at.is_some() => Err(ClientError::Deleted { kind: T::KIND, id: id.to_string() }),
        Some(m) => Ok(m),
    }
}

/// The sealed form of a stored record's current version, for the outbox.
pub(crate) fn payload<T: RecordType>(tx: &Transaction<'_>, id: Uuid) -> Result<Option<RecordPayload>, ClientError> {
    let row = tx.prepare_cached(&select::<T>("WHERE id = ?1"))?.query_row([id.to_string()], record_from_row::<T>);
    let Some(record) = row.optional()? else { return Ok(None) };
    let body = match (&record.fields, record.deleted_at) {
        (_, Some(_)) => Vec::new(),
        (Some(fields), None) => encode_body(fields),
        (None, None) => return Err(ClientError::Migration(format!("unreadable {} {id}", T::KIND))),
    };
    Ok(Some(RecordPayload {
        kind: RecordKind::new(T::KIND).expect("record kinds are valid kind names"),
        hlc: Hlc::from_u64(record.hlc),
        created_at: UnixMillis(record.created_at),
        deleted_at: record.deleted_at.map(UnixMillis),
        body,
    }))
}

/// What the store holds of a record, as far as merging needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Current {
    /// Which table it is in.
    pub kind: &'static str,
    /// Its version's place in the last-write-wins order.
    pub key: LwwKey,
}

/// What merging a remote version did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Merged {
    /// It won and is now the record's state.
    Applied(Current),
    /// The stored version wins; nothing changed.
    Kept,
    /// The id belongs to a record of another kind here; nothing changed.
    KindConflict(&'static str),
}

/// Merges a remote version of a record by the last-write-wins rule, given
/// what the store holds of it ([`current_many`]).
pub(crate) fn merge<T: RecordType>(
    tx: &Transaction<'_>,
    id: Uuid,
    from: DeviceId,
    payload: &RecordPayload,
    existing: Option<&Current>,
) -> Result<Merged, ClientError> {
    let fields = match payload.deleted_at {
        Some(_) => None,
        None => Some(decode_body::<T>(&payload.body)?),
    };
    let incoming = Meta {
        created_at: payload.created_at.0,
        hlc: payload.hlc,
        updated_by: Some(from),
        deleted_at: payload.deleted_at.map(|d| d.0),
    };
    let key = incoming.lww_key(from);
    match existing {
        // A remote envelope cannot turn a mood into a schedule.
        Some(current) if current.kind != T::KIND => return Ok(Merged::KindConflict(current.kind)),
        Some(current) if !supersedes(&key, &current.key) => return Ok(Merged::Kept),
        _ => {}
    }
    write(tx, id, fields.as_ref(), &incoming)?;
    Ok(Merged::Applied(Current { kind: T::KIND, key }))
}

/// What the store holds of each of `ids` that it has, in any of the four
/// tables: one statement per table, however many ids.
pub(crate) fn current_many(
    tx: &Transaction<'_>,
    ids: &[Uuid],
    this_device: DeviceId,
) -> Result<HashMap<Uuid, Current>, ClientError> {
    let mut found = HashMap::with_capacity(ids.len());
    if ids.is_empty() {
        return Ok(found);
    }
    let ids: Array = Rc::new(ids.iter().map(|id| Value::Text(id.to_string())).collect());
    for (kind, table) in [
        (Mood::KIND, Mood::TABLE),
        (Assessment::KIND, Assessment::TABLE),
        (Activity::KIND, Activity::TABLE),
        (Schedule::KIND, Schedule::TABLE),
    ] {
        let sql =
            format!("SELECT id, created_at, updated_hlc, updated_by, deleted_at FROM {table} WHERE id IN rarray(?1)");
        let mut statement = tx.prepare_cached(&sql)?;
        let mut rows = statement.query([&ids])?;
        while let Some(row) = rows.next()? {
            let id: String = row.get(0)?;
            let meta = meta_from_row(row, 1)?;
            found.insert(id.parse().unwrap_or_default(), Current { kind, key: meta.lww_key(this_device) });
        }
    }
    Ok(found)
}

/// Marks every record as this device's, with nothing queued, and returns
/// (id, kind, table) for each, so enabling sync can queue them all under the
/// new device (whose counters start again at 1: no old `outbox_seq` may stay).
pub(crate) fn adopt_all(tx: &Transaction<'_>) -> Result<Vec<(Uuid, &'static str, &'static str)>, ClientError> {
    let mut all = Vec::new();
    for (kind, table) in KINDS {
        tx.execute(&format!("UPDATE {table} SET updated_by = NULL, outbox_seq = NULL"), [])?;
        let mut statement = tx.prepare(&format!("SELECT id FROM {table} ORDER BY created_at, id"))?;
        let ids = statement.query_map([], |r| r.get::<_, String>(0))?;
        for id in ids {
            all.push((id?.parse().unwrap_or_default(), kind, table));
        }
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use sealsync_envelope::{Hlc, RecordKind};

    use super::*;
    use crate::domain::Mood;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("journal.db")).unwrap();
        (dir, store)
    }

    fn mood(score: u8) -> Mood {
        Mood { score, note: format!("note {score}"), tags: vec![] }
    }

    #[test]
    fn local_edits_round_trip_and_deletes_erase_content() {
        let (_dir, mut store) = store();
        let id = store.create(&mood(3), UnixMillis(1_000)).unwrap();
        store.update(id, &mood(4), UnixMillis(2_000)).unwrap();
        let record = store.get::<Mood>(id).unwrap().unwrap();
        assert_eq!((record.fields, record.created_at), (Some(mood(4)), 1_000));
        assert!(record.updated_at >= 2_000);
        assert_eq!(Hlc::from_u64(record.hlc).wall_ms(), record.updated_at);

        store.delete::<Mood>(id, UnixMillis(3_000)).unwrap();
        let deleted = store.get::<Mood>(id).unwrap().unwrap();
        assert_eq!((deleted.fields, deleted.deleted_at), (None, Some(3_000)));
        let note: Option<String> =
            store.conn().query_row("SELECT note FROM moods WHERE id = ?1", [id.to_string()], |r| r.get(0)).unwrap();
        assert_eq!(note, None, "the content is gone from the database, not just hidden");
        assert!(matches!(store.update(id, &mood(5), UnixMillis(4_000)), Err(ClientError::Deleted { .. })));
        assert!(matches!(store.delete::<Mood>(Uuid::new_v4(), UnixMillis(4_000)), Err(ClientError::NotFound { .. })));
        assert!(store.list::<Mood>(false).unwrap().is_empty());
        assert_eq!(store.list::<Mood>(true).unwrap().len(), 1);
    }

    #[test]
    fn invalid_records_write_nothing() {
        let (_dir, mut store) = store();
        assert!(matches!(store.create(&mood(11), UnixMillis(1)), Err(ClientError::Invalid(_))));
        assert!(store.list::<Mood>(true).unwrap().is_empty());
    }

    #[test]
    fn with_sync_off_nothing_about_sync_is_written() {
        let (_dir, mut store) = store();
        let id = store.create(&mood(3), UnixMillis(1_000)).unwrap();
        store.update(id, &mood(4), UnixMillis(2_000)).unwrap();
        store.delete::<Mood>(id, UnixMillis(3_000)).unwrap();
        assert_eq!(store.outbox_len().unwrap(), 0);
        assert!(store.sync_state().unwrap().is_none());
        for table in ["outbox", "sealed", "seen", "quarantine", "sync_state"] {
            let n: i64 = store.conn().query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0)).unwrap();
            assert_eq!(n, 0, "{table}");
        }
    }

    fn remote(score: Option<u8>, hlc: Hlc) -> RecordPayload {
        RecordPayload {
            kind: RecordKind::new("mood").unwrap(),
            hlc,
            created_at: UnixMillis(1_000),
            deleted_at: score.is_none().then_some(UnixMillis(hlc.wall_ms())),
            body: score.map(|s| encode_body(&mood(s))).unwrap_or_default(),
        }
    }

    #[test]
    fn remote_versions_merge_last_writer_wins_and_deletes_are_final() {
        let (_dir, mut store) = store();
        let me = DeviceId::random();
        let other = DeviceId::random();
        let id = store.create(&mood(3), UnixMillis(5_000)).unwrap();
        let local = Hlc::from_u64(store.get::<Mood>(id).unwrap().unwrap().hlc);

        let merge_one = |store: &mut Store, payload: RecordPayload| {
            store
                .transaction(|tx| {
                    let current = current_many(tx, &[id], me)?;
                    merge::<Mood>(tx, id, other, &payload, current.get(&id))
                })
                .unwrap()
        };
        // Older remote edit: kept local.
        assert_eq!(merge_one(&mut store, remote(Some(1), Hlc::new(4_000, 0).unwrap())), Merged::Kept);
        // Newer remote edit: applied.
        let newer = Hlc::new(local.wall_ms() + 10, 0).unwrap();
        assert!(matches!(merge_one(&mut store, remote(Some(9), newer)), Merged::Applied(_)));
        assert_eq!(store.get::<Mood>(id).unwrap().unwrap().fields, Some(mood(9)));
        // An older tombstone still beats the newer edit, and nothing brings it back.
        assert!(matches!(merge_one(&mut store, remote(None, Hlc::new(4_500, 0).unwrap())), Merged::Applied(_)));
        assert_eq!(merge_one(&mut store, remote(Some(7), Hlc::new(u64::from(u32::MAX), 0).unwrap())), Merged::Kept);
        let record = store.get::<Mood>(id).unwrap().unwrap();
        assert_eq!((record.fields, record.deleted_at), (None, Some(4_500)));
    }

    #[test]
    fn a_remote_body_that_fails_validation_changes_nothing() {
        let (_dir, mut store) = store();
        let id = Uuid::new_v4();
        let mut payload = remote(Some(5), Hlc::new(9_000, 0).unwrap());
        payload.body = encode_body(&Mood { score: 42, note: String::new(), tags: vec![] });
        let result = store.transaction(|tx| merge::<Mood>(tx, id, DeviceId::random(), &payload, None));
        assert!(matches!(result, Err(ClientError::Invalid(_))));
        assert!(store.get::<Mood>(id).unwrap().is_none());
    }
}
