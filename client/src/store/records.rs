//! The record tables: local create/edit/delete, queries, and the merge of a
//! remote version group by group (PROTOCOL.md §7).
//!
//! Each row holds its content columns, its metadata, and `stamps`: the
//! stamps of each field group (a record body with empty values). This
//! device's own changes are stamped with [`THIS_DEVICE`], since it has a
//! device id only while sync is on; sealing and merging rename it.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::sync::Mutex;

use rusqlite::types::Value;
use rusqlite::vtab::array::Array;
use rusqlite::{OptionalExtension, Transaction, params_from_iter};
use sealsync_envelope::merge::merge as merge_versions;
use sealsync_envelope::{
    Content, DeviceId, Dot, Group, GroupId, Hlc, RecordBody, RecordKind, RecordPayload, Stamps, UnixMillis, Version,
};
use uuid::Uuid;

use super::{Store, conflicts, sync_state, tick};
use crate::domain::{
    Activity, Assessment, Mood, Record, RecordType, Schedule, ValidationError, from_group_values, group_values,
};
use crate::error::ClientError;

/// Every kind of record and its table.
pub(crate) const KINDS: [(&str, &str); 4] = [
    (Mood::KIND, Mood::TABLE),
    (Assessment::KIND, Assessment::TABLE),
    (Activity::KIND, Activity::TABLE),
    (Schedule::KIND, Schedule::TABLE),
];

/// Stands for this device in stored stamps.
pub(crate) const THIS_DEVICE: DeviceId = DeviceId(Uuid::nil());

fn content_columns<T: RecordType>() -> String {
    T::COLUMNS.join(", ")
}

/// The stored metadata of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Meta {
    pub created_at: u64,
    /// The record's greatest change (the delete's, once deleted).
    pub hlc: Hlc,
    /// Who made it; `None`: this device.
    pub updated_by: Option<DeviceId>,
    pub deleted_at: Option<u64>,
}

impl Meta {
    fn dot(&self) -> Dot {
        Dot { hlc: self.hlc, device: self.updated_by.unwrap_or(THIS_DEVICE) }
    }
}

/// A row: content (`None` once deleted), metadata, group stamps.
struct Row<T> {
    fields: Option<T>,
    meta: Meta,
    stamps: BTreeMap<GroupId, Stamps>,
}

/// `SELECT` of whole rows (the shape [`row_from`] reads), then `rest`.
fn select<T: RecordType>(rest: &str) -> String {
    format!(
        "SELECT id, {}, created_at, updated_hlc, updated_by, deleted_at, stamps FROM {} {rest}",
        content_columns::<T>(),
        T::TABLE
    )
}

/// Reads a row of [`select`]: its id and the row.
fn row_from<T: RecordType>(row: &rusqlite::Row<'_>) -> rusqlite::Result<(Uuid, Row<T>)> {
    let n = T::COLUMNS.len();
    let id: String = row.get(0)?;
    let values = (1..=n).map(|i| row.get::<_, Value>(i)).collect::<rusqlite::Result<Vec<_>>>()?;
    let meta = Meta {
        created_at: row.get::<_, i64>(n + 1)? as u64,
        hlc: Hlc::from_u64(row.get::<_, i64>(n + 2)? as u64),
        updated_by: row.get::<_, Option<String>>(n + 3)?.and_then(|d| d.parse().ok()),
        deleted_at: row.get::<_, Option<i64>>(n + 4)?.map(|d| d as u64),
    };
    let fields = if meta.deleted_at.is_some() { None } else { T::from_columns(&values) };
    let stamps = stamps_from_column::<T>(row.get(n + 5)?, &meta);
    Ok((id.parse().unwrap_or_default(), Row { fields, meta, stamps }))
}

/// The stamps of every group. A row without stored stamps (written before
/// migration 0004, or adopted by a new device) has every group written by
/// its last change.
fn stamps_from_column<T: RecordType>(blob: Option<Vec<u8>>, meta: &Meta) -> BTreeMap<GroupId, Stamps> {
    let mut stamps: BTreeMap<GroupId, Stamps> = blob
        .and_then(|b| RecordBody::decode(&b).ok())
        .map(|body| body.groups.into_iter().map(|(id, g)| (id, g.stamps)).collect())
        .unwrap_or_default();
    for group in T::GROUPS {
        stamps.entry(group.id).or_insert_with(|| Stamps::single(meta.dot()));
    }
    stamps
}

fn stamps_column(stamps: &BTreeMap<GroupId, Stamps>) -> Vec<u8> {
    let groups = stamps.iter().map(|(&id, s)| (id, Group { value: Vec::new(), stamps: s.clone() })).collect();
    RecordBody { groups }.encode()
}

/// Writes a row: its content (or NULLs for a tombstone), metadata and stamps.
fn write<T: RecordType>(tx: &Transaction<'_>, id: Uuid, row: &Row<T>) -> Result<(), ClientError> {
    let (columns, meta) = (T::COLUMNS, &row.meta);
    let mut values: Vec<Value> = vec![id.to_string().into()];
    match &row.fields {
        Some(fields) => values.extend(fields.to_columns()),
        None => values.extend(columns.iter().map(|_| Value::Null)),
    }
    values.push((meta.created_at as i64).into());
    values.push((meta.hlc.as_u64() as i64).into());
    values.push(meta.updated_by.map_or(Value::Null, |d| d.to_string().into()));
    values.push(meta.deleted_at.map_or(Value::Null, |d| (d as i64).into()));
    values.push(match &row.fields {
        Some(_) => Value::Blob(stamps_column(&row.stamps)),
        None => Value::Null,
    });
    tx.prepare_cached(upsert_sql::<T>())?.execute(params_from_iter(values))?;
    Ok(())
}

/// The statement [`write`] runs for `T`, built once per table: building it
/// for every row (a bootstrap writes one row per record) was a measurable
/// share of a merge.
fn upsert_sql<T: RecordType>() -> &'static str {
    static BUILT: Mutex<Vec<(&'static str, &'static str)>> = Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((_, sql)) = built.iter().find(|(table, _)| *table == T::TABLE) {
        return sql;
    }
    let placeholders = (1..=T::COLUMNS.len() + 6).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
    let updates = T::COLUMNS
        .iter()
        .chain(["created_at", "updated_hlc", "updated_by", "deleted_at", "stamps"].iter())
        .map(|c| format!("{c} = excluded.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "INSERT INTO {table} (id, {cols}, created_at, updated_hlc, updated_by, deleted_at, stamps) \
         VALUES ({placeholders}) ON CONFLICT (id) DO UPDATE SET {updates}",
        table = T::TABLE,
        cols = content_columns::<T>(),
    );
    // Four tables, four strings for the life of the process.
    let sql: &'static str = Box::leak(sql.into_boxed_str());
    built.push((T::TABLE, sql));
    sql
}

fn record_of<T: RecordType>(id: Uuid, row: Row<T>) -> Record<T> {
    Record {
        id,
        fields: row.fields,
        created_at: row.meta.created_at,
        updated_at: row.meta.hlc.wall_ms(),
        hlc: row.meta.hlc.as_u64(),
        deleted_at: row.meta.deleted_at,
    }
}

fn read<T: RecordType>(conn: &rusqlite::Connection, id: Uuid) -> Result<Option<Row<T>>, ClientError> {
    let row = conn.prepare_cached(&select::<T>("WHERE id = ?1"))?.query_row([id.to_string()], row_from::<T>);
    Ok(row.optional()?.map(|(_, row)| row))
}

impl Store {
    /// Creates a record; returns its new id.
    pub fn create<T: RecordType>(&mut self, fields: &T, now: UnixMillis) -> Result<Uuid, ClientError> {
        fields.validate()?;
        let id = Uuid::new_v4();
        self.transaction(|tx| {
            let hlc = tick(tx, now)?;
            let meta = Meta { created_at: now.0, hlc, updated_by: None, deleted_at: None };
            let stamps = T::GROUPS.iter().map(|g| (g.id, Stamps::single(meta.dot()))).collect();
            write(tx, id, &Row { fields: Some(fields.clone()), meta, stamps })?;
            sync_state::enqueue(tx, id, T::KIND, T::TABLE)
        })?;
        Ok(id)
    }

    /// Creates many records of one kind in one transaction; returns their
    /// new ids in order. Every record is validated before anything is
    /// written, so a bad one writes nothing. Each gets its own stamp and,
    /// with sync on, its own outbox entry, exactly as [`Store::create`] would
    /// give it; the clock and the counter are read and written once.
    pub fn create_many<T: RecordType>(&mut self, records: &[T], now: UnixMillis) -> Result<Vec<Uuid>, ClientError> {
        for fields in records {
            fields.validate()?;
        }
        self.transaction(|tx| {
            let mut clock = super::load_clock(tx)?;
            let mut queue = sync_state::Enqueuer::start(tx)?;
            let mut ids = Vec::with_capacity(records.len());
            for fields in records {
                let id = Uuid::new_v4();
                let hlc = clock.tick(now)?;
                let meta = Meta { created_at: now.0, hlc, updated_by: None, deleted_at: None };
                let stamps = T::GROUPS.iter().map(|g| (g.id, Stamps::single(meta.dot()))).collect();
                write(tx, id, &Row { fields: Some(fields.clone()), meta, stamps })?;
                queue.new_record(tx, id, T::KIND, T::TABLE)?;
                ids.push(id);
            }
            queue.finish(tx)?;
            super::save_clock(tx, &clock)?;
            Ok(ids)
        })
    }

    /// Replaces a live record's content. Only the groups whose values change
    /// get a new stamp; an edit that changes nothing writes nothing and
    /// returns `false`, so it cannot outrank a real edit elsewhere.
    pub fn update<T: RecordType>(&mut self, id: Uuid, fields: &T, now: UnixMillis) -> Result<bool, ClientError> {
        fields.validate()?;
        self.transaction(|tx| edit(tx, id, fields, now))
    }

    /// Deletes a live record: a tombstone that erases its content, and its
    /// conflict log with it.
    ///
    /// Deleting an activity deletes its live schedules in the same
    /// transaction, each as a delete that syncs (PROTOCOL.md §4.8: a
    /// schedule does not outlive its activity).
    pub fn delete<T: RecordType>(&mut self, id: Uuid, now: UnixMillis) -> Result<(), ClientError> {
        self.transaction(|tx| {
            delete_in::<T>(tx, id, now)?;
            if T::KIND == Activity::KIND {
                let schedules: Vec<String> = tx
                    .prepare("SELECT id FROM schedules WHERE activity_id = ?1 AND deleted_at IS NULL")?
                    .query_map([id.to_string()], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                for schedule in schedules {
                    let schedule =
                        schedule.parse().map_err(|_| ClientError::Migration(format!("bad id {schedule}")))?;
                    delete_in::<Schedule>(tx, schedule, now)?;
                }
            }
            Ok(())
        })
    }

    /// One record, deleted or not.
    pub fn get<T: RecordType>(&self, id: Uuid) -> Result<Option<Record<T>>, ClientError> {
        Ok(read::<T>(self.conn(), id)?.map(|row| record_of(id, row)))
    }

    /// Every record of a kind, oldest first; deleted ones only if asked.
    pub fn list<T: RecordType>(&self, include_deleted: bool) -> Result<Vec<Record<T>>, ClientError> {
        let filter = if include_deleted { "" } else { "WHERE deleted_at IS NULL" };
        let mut statement = self.conn().prepare(&select::<T>(&format!("{filter} ORDER BY created_at, id")))?;
        let rows = statement.query_map([], row_from::<T>)?;
        rows.map(|r| r.map(|(id, row)| record_of(id, row)).map_err(ClientError::from)).collect()
    }
}

/// A record with the stamp of each field group's last change, by group
/// name (empty once deleted): what an export carries so that an import
/// merges group by group, as sync does.
pub(crate) type WithChanges<T> = (Record<T>, BTreeMap<&'static str, Hlc>);

/// Every record of a kind with its groups' last changes, oldest first;
/// deleted ones only if asked. Reads in the caller's transaction, so an
/// export of the four kinds is one snapshot.
pub(crate) fn list_with_changes<T: RecordType>(
    tx: &Transaction<'_>,
    include_deleted: bool,
) -> Result<Vec<WithChanges<T>>, ClientError> {
    let filter = if include_deleted { "" } else { "WHERE deleted_at IS NULL" };
    let mut statement = tx.prepare(&select::<T>(&format!("{filter} ORDER BY created_at, id")))?;
    let rows = statement.query_map([], row_from::<T>)?;
    rows.map(|r| {
        let (id, row) = r?;
        let changes = match row.fields {
            Some(_) => T::GROUPS.iter().filter_map(|g| Some((g.name, row.stamps.get(&g.id)?.dot()?.hlc))).collect(),
            None => BTreeMap::new(),
        };
        Ok((record_of(id, row), changes))
    })
    .collect()
}

/// Deletes one live record in the caller's transaction.
fn delete_in<T: RecordType>(tx: &Transaction<'_>, id: Uuid, now: UnixMillis) -> Result<(), ClientError> {
    let row = live::<T>(tx, id)?;
    let hlc = tick(tx, now)?;
    let meta = Meta { hlc, updated_by: None, deleted_at: Some(now.0), ..row.meta };
    write::<T>(tx, id, &Row { fields: None, meta, stamps: BTreeMap::new() })?;
    conflicts::forget(tx, id)?;
    sync_state::enqueue(tx, id, T::KIND, T::TABLE)
}

/// [`Store::update`] in the caller's transaction.
pub(crate) fn edit<T: RecordType>(
    tx: &Transaction<'_>,
    id: Uuid,
    fields: &T,
    now: UnixMillis,
) -> Result<bool, ClientError> {
    let mut row = live::<T>(tx, id)?;
    let before = group_values(row.fields.as_ref().expect("a live row has fields"));
    let changed: Vec<GroupId> =
        group_values(fields).into_iter().zip(before).filter(|(new, old)| new != old).map(|(new, _)| new.0).collect();
    if changed.is_empty() {
        return Ok(false);
    }
    let hlc = tick(tx, now)?;
    for group in changed {
        row.stamps.entry(group).or_default().record(Dot { hlc, device: THIS_DEVICE });
    }
    row.meta = Meta { hlc, updated_by: None, ..row.meta };
    row.fields = Some(fields.clone());
    write(tx, id, &row)?;
    sync_state::enqueue(tx, id, T::KIND, T::TABLE)?;
    Ok(true)
}

/// A live record's fields; `None` if it is missing or deleted.
pub(crate) fn live_fields<T: RecordType>(conn: &rusqlite::Connection, id: Uuid) -> Result<Option<T>, ClientError> {
    Ok(read::<T>(conn, id)?.and_then(|row| row.fields))
}

fn live<T: RecordType>(tx: &Transaction<'_>, id: Uuid) -> Result<Row<T>, ClientError> {
    match read::<T>(tx, id)? {
        None => Err(ClientError::NotFound { kind: T::KIND, id: id.to_string() }),
        Some(row) if row.meta.deleted_at.is_some() => Err(ClientError::Deleted { kind: T::KIND, id: id.to_string() }),
        Some(row) if row.fields.is_none() => Err(ClientError::Migration(format!("unreadable {} {id}", T::KIND))),
        Some(row) => Ok(row),
    }
}

/// A row as merging sees it, with this device's stamps under [`THIS_DEVICE`].
fn version_of<T: RecordType>(row: &Row<T>) -> Version {
    let created_at = UnixMillis(row.meta.created_at);
    let content = match (&row.fields, row.meta.deleted_at) {
        (Some(fields), None) => {
            let groups = group_values(fields)
                .into_iter()
                .map(|(id, value)| (id, Group { value, stamps: row.stamps[&id].clone() }))
                .collect();
            Content::Live(RecordBody { groups })
        }
        (_, deleted) => {
            Content::Deleted { dot: row.meta.dot(), at: UnixMillis(deleted.unwrap_or(row.meta.hlc.wall_ms())) }
        }
    };
    Version { created_at, content }
}

/// The row a merged version becomes; validates the merged content.
fn row_of<T: RecordType>(version: &Version) -> Result<Row<T>, ClientError> {
    let by = |dot: Dot| (dot.device != THIS_DEVICE).then_some(dot.device);
    let created_at = version.created_at.0;
    Ok(match &version.content {
        Content::Live(body) => {
            let values = body.groups.iter().map(|(&id, g)| (id, g.value.clone())).collect();
            let fields = from_group_values::<T>(&values)?;
            let dot = body.max_dot().ok_or_else(|| ValidationError::new("body", "no groups"))?;
            let meta = Meta { created_at, hlc: dot.hlc, updated_by: by(dot), deleted_at: None };
            let stamps = body.groups.iter().map(|(&id, g)| (id, g.stamps.clone())).collect();
            Row { fields: Some(fields), meta, stamps }
        }
        Content::Deleted { dot, at } => {
            let meta = Meta { created_at, hlc: dot.hlc, updated_by: by(*dot), deleted_at: Some(at.0) };
            Row { fields: None, meta, stamps: BTreeMap::new() }
        }
    })
}

/// `version` with every stamp of device `from` given to device `to`.
fn renamed(version: &Version, from: DeviceId, to: DeviceId) -> Version {
    let rename = |d: Dot| Dot { device: if d.device == from { to } else { d.device }, ..d };
    let content = match &version.content {
        Content::Live(body) => Content::Live(RecordBody {
            groups: body
                .groups
                .iter()
                .map(|(&id, g)| (id, Group { value: g.value.clone(), stamps: g.stamps.renamed(from, to) }))
                .collect(),
        }),
        Content::Deleted { dot, at } => Content::Deleted { dot: rename(*dot), at: *at },
    };
    Version { created_at: version.created_at, content }
}

/// The payload of a stored record's current state, sealed by device `me`,
/// for the outbox; `None` if the record is gone or of an unknown kind.
pub(crate) fn payload_of(
    tx: &Transaction<'_>,
    kind: &str,
    id: Uuid,
    me: DeviceId,
) -> Result<Option<RecordPayload>, ClientError> {
    match kind {
        Mood::KIND => payload::<Mood>(tx, id, me),
        Assessment::KIND => payload::<Assessment>(tx, id, me),
        Activity::KIND => payload::<Activity>(tx, id, me),
        Schedule::KIND => payload::<Schedule>(tx, id, me),
        _ => Ok(None),
    }
}

fn payload<T: RecordType>(tx: &Transaction<'_>, id: Uuid, me: DeviceId) -> Result<Option<RecordPayload>, ClientError> {
    let Some(row) = read::<T>(tx, id)? else { return Ok(None) };
    if row.meta.deleted_at.is_none() && row.fields.is_none() {
        return Err(ClientError::Migration(format!("unreadable {} {id}", T::KIND)));
    }
    let version = renamed(&version_of(&row), THIS_DEVICE, me);
    let (deleted_at, body) = match &version.content {
        Content::Live(body) => (None, body.encode()),
        Content::Deleted { at, .. } => (Some(*at), Vec::new()),
    };
    Ok(Some(RecordPayload {
        kind: RecordKind::new(T::KIND).expect("record kinds are valid kind names"),
        hlc: version.dot().map_or(row.meta.hlc, |d| d.hlc),
        created_at: version.created_at,
        deleted_at,
        body,
    }))
}

/// What the store holds of a record, as far as merging needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Current {
    /// Which table it is in.
    pub kind: &'static str,
    /// Its state, this device's stamps under [`THIS_DEVICE`].
    pub version: Version,
}

/// What merging a remote version did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Merged {
    /// It changed the record (`lost`: concurrent edits logged as conflicts).
    Applied { current: Current, lost: usize },
    /// The stored state already includes it; nothing changed.
    Kept { lost: usize },
    /// The id belongs to a record of another kind here; nothing changed.
    KindConflict(&'static str),
}

/// Merges a remote version of a record (§7) sealed by `from` into what the
/// store holds of it ([`current_many`]); logs the concurrent edits that lost.
/// `me` is this device's id.
pub(crate) fn merge<T: RecordType>(
    tx: &Transaction<'_>,
    id: Uuid,
    from: DeviceId,
    payload: &RecordPayload,
    existing: Option<&Current>,
    me: DeviceId,
    now: UnixMillis,
) -> Result<Merged, ClientError> {
    let incoming = Version::from_payload(payload, from).map_err(|e| ValidationError::new("body", e.to_string()))?;
    // Validated as sent, before it can touch anything here.
    let incoming_here = renamed(&incoming, me, THIS_DEVICE);
    let incoming_row = row_of::<T>(&incoming_here)?;
    let merged = match existing {
        // A remote envelope cannot turn a mood into a schedule.
        Some(current) if current.kind != T::KIND => return Ok(Merged::KindConflict(current.kind)),
        Some(current) => merge_versions(&renamed(&current.version, THIS_DEVICE, me), &incoming),
        None => {
            write(tx, id, &incoming_row)?;
            let current = Current { kind: T::KIND, version: incoming_here };
            return Ok(Merged::Applied { current, lost: 0 });
        }
    };
    let lost = merged.lost.len();
    conflicts::record(tx, id, T::KIND, &merged.lost, me, now)?;
    if !merged.changed {
        return Ok(Merged::Kept { lost });
    }
    let version = renamed(&merged.version, me, THIS_DEVICE);
    write(tx, id, &row_of::<T>(&version)?)?;
    if matches!(version.content, Content::Deleted { .. }) {
        conflicts::forget(tx, id)?;
    }
    Ok(Merged::Applied { current: Current { kind: T::KIND, version }, lost })
}

/// What the store holds of each of `ids` that it has, in any of the four
/// tables: one statement per table, however many ids.
pub(crate) fn current_many(tx: &Transaction<'_>, ids: &[Uuid]) -> Result<HashMap<Uuid, Current>, ClientError> {
    let mut found = HashMap::with_capacity(ids.len());
    if ids.is_empty() {
        return Ok(found);
    }
    let ids: Array = Rc::new(ids.iter().map(|id| Value::Text(id.to_string())).collect());
    current_of::<Mood>(tx, &ids, &mut found)?;
    current_of::<Assessment>(tx, &ids, &mut found)?;
    current_of::<Activity>(tx, &ids, &mut found)?;
    current_of::<Schedule>(tx, &ids, &mut found)?;
    Ok(found)
}

fn current_of<T: RecordType>(
    tx: &Transaction<'_>,
    ids: &Array,
    found: &mut HashMap<Uuid, Current>,
) -> Result<(), ClientError> {
    let mut statement = tx.prepare_cached(&select::<T>("WHERE id IN rarray(?1)"))?;
    let mut rows = statement.query([ids])?;
    while let Some(row) = rows.next()? {
        let (id, row) = row_from::<T>(row)?;
        found.insert(id, Current { kind: T::KIND, version: version_of(&row) });
    }
    Ok(())
}

/// Marks every record as this device's, with nothing queued, and returns
/// (id, kind, table) for each, so enabling sync can queue them all under the
/// new device (whose counters start again at 1: no old `outbox_seq` may
/// stay). Group stamps collapse to the record's last change, now this
/// device's: the new account has seen none of the old ones.
pub(crate) fn adopt_all(tx: &Transaction<'_>) -> Result<Vec<(Uuid, &'static str, &'static str)>, ClientError> {
    let mut all = Vec::new();
    for (kind, table) in KINDS {
        tx.execute(&format!("UPDATE {table} SET updated_by = NULL, outbox_seq = NULL, stamps = NULL"), [])?;
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
        for table in ["outbox", "sealed", "seen", "seen_high", "quarantine", "sync_state"] {
            let n: i64 = store.conn().query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0)).unwrap();
            assert_eq!(n, 0, "{table}");
        }
    }

    /// A remote device's version: `base` (a payload another device sealed,
    /// or `None` for a record it created) with `fields` written at `dot` in
    /// the groups whose values differ.
    fn remote(base: Option<&RecordPayload>, fields: Option<&Mood>, dot: Dot) -> RecordPayload {
        let mut body = base.map(|b| RecordBody::decode(&b.body).unwrap()).unwrap_or_default();
        if let Some(fields) = fields {
            for (id, value) in group_values(fields) {
                let group =
                    body.groups.entry(id).or_insert_with(|| Group { value: Vec::new(), stamps: Stamps::default() });
                if group.value != value {
                    group.value = value;
                    group.stamps.record(dot);
                }
            }
        }
        RecordPayload {
            kind: RecordKind::new("mood").unwrap(),
            hlc: if fields.is_some() { body.max_dot().unwrap().hlc } else { dot.hlc },
            created_at: UnixMillis(1_000),
            deleted_at: fields.is_none().then_some(UnixMillis(dot.hlc.wall_ms())),
            body: if fields.is_some() { body.encode() } else { Vec::new() },
        }
    }

    fn sealed_here(store: &mut Store, id: Uuid, me: DeviceId) -> RecordPayload {
        store.transaction(|tx| payload_of(tx, "mood", id, me)).unwrap().unwrap()
    }

    fn merge_one(store: &mut Store, id: Uuid, me: DeviceId, from: DeviceId, payload: &RecordPayload) -> Merged {
        store
            .transaction(|tx| {
                let current = current_many(tx, &[id])?;
                merge::<Mood>(tx, id, from, payload, current.get(&id), me, UnixMillis(50_000))
            })
            .unwrap()
    }

    fn at(wall: u64, device: DeviceId) -> Dot {
        Dot { hlc: Hlc::new(wall, 0).unwrap(), device }
    }

    #[test]
    fn an_edit_that_changes_nothing_writes_nothing() {
        let (_dir, mut store) = store();
        let id = store.create(&mood(3), UnixMillis(1_000)).unwrap();
        let before = store.get::<Mood>(id).unwrap().unwrap();
        assert!(!store.update(id, &mood(3), UnixMillis(9_000)).unwrap());
        assert_eq!(store.get::<Mood>(id).unwrap().unwrap(), before, "no new stamp to outrank a real edit");
    }

    #[test]
    fn concurrent_edits_to_different_groups_both_survive() {
        let (_dir, mut store) = store();
        let (me, other) = (DeviceId::random(), DeviceId::random());
        let id = store.create(&mood(3), UnixMillis(5_000)).unwrap();
        let base = sealed_here(&mut store, id, me);
        // Here: the score. There, having seen the same base: the note, later.
        store.update(id, &Mood { score: 2, ..mood(3) }, UnixMillis(6_000)).unwrap();
        let theirs = remote(Some(&base), Some(&Mood { note: "edited on B".into(), ..mood(3) }), at(7_000, other));
        assert!(matches!(merge_one(&mut store, id, me, other, &theirs), Merged::Applied { lost: 0, .. }));
        let merged = store.get::<Mood>(id).unwrap().unwrap().fields.unwrap();
        assert_eq!((merged.score, merged.note.as_str()), (2, "edited on B"));
        assert!(store.conflicts::<Mood>(id).unwrap().is_empty());
    }

    #[test]
    fn the_losing_side_of_a_concurrent_edit_is_logged_and_can_be_restored() {
        let (_dir, mut store) = store();
        let (me, other) = (DeviceId::random(), DeviceId::random());
        let id = store.create(&mood(3), UnixMillis(5_000)).unwrap();
        let base = sealed_here(&mut store, id, me);
        store.update(id, &Mood { score: 2, ..mood(3) }, UnixMillis(6_000)).unwrap();
        let theirs = remote(Some(&base), Some(&Mood { score: 9, ..mood(3) }), at(7_000, other));
        assert!(matches!(merge_one(&mut store, id, me, other, &theirs), Merged::Applied { lost: 1, .. }));
        assert_eq!(store.get::<Mood>(id).unwrap().unwrap().fields.unwrap().score, 9);
        let logged = store.conflicts::<Mood>(id).unwrap();
        assert_eq!(logged.len(), 1);
        assert_eq!((logged[0].group, &logged[0].fields), ("score", &serde_json::json!({ "score": 2 })));
        assert_eq!((logged[0].lost_on, logged[0].won_on), (None, Some(other)));
        // The same envelope again reports nothing new.
        assert!(matches!(merge_one(&mut store, id, me, other, &theirs), Merged::Kept { lost: 0 }));
        store.restore_conflict::<Mood>(id, logged[0].id, UnixMillis(8_000)).unwrap();
        assert_eq!(store.get::<Mood>(id).unwrap().unwrap().fields.unwrap().score, 2);
        assert!(store.conflicts::<Mood>(id).unwrap().is_empty());
        // The restore is a new edit that has seen the winner: it replaces it everywhere.
        let restored = sealed_here(&mut store, id, me);
        let version = Version::from_payload(&restored, me).unwrap();
        let theirs = Version::from_payload(&theirs, other).unwrap();
        let there = sealsync_envelope::merge::merge(&theirs, &version);
        assert!(there.lost.is_empty());
        assert_eq!(there.version, version);
    }

    #[test]
    fn an_older_remote_edit_is_kept_out_and_deletes_are_final() {
        let (_dir, mut store) = store();
        let (me, other) = (DeviceId::random(), DeviceId::random());
        let id = store.create(&mood(3), UnixMillis(5_000)).unwrap();
        // An edit made before ours, without seeing it: ours stays, theirs is logged.
        let older = remote(None, Some(&mood(1)), at(4_000, other));
        assert!(matches!(merge_one(&mut store, id, me, other, &older), Merged::Applied { lost: 2, .. }));
        assert_eq!(store.get::<Mood>(id).unwrap().unwrap().fields, Some(mood(3)));
        // An older tombstone still beats everything, erases the log, and nothing brings the record back.
        let delete = remote(None, None, at(4_500, other));
        assert!(matches!(merge_one(&mut store, id, me, other, &delete), Merged::Applied { .. }));
        let later = remote(None, Some(&mood(7)), at(u64::from(u32::MAX), other));
        assert!(matches!(merge_one(&mut store, id, me, other, &later), Merged::Kept { .. }));
        let record = store.get::<Mood>(id).unwrap().unwrap();
        assert_eq!((record.fields, record.deleted_at), (None, Some(4_500)));
        assert_eq!(store.conflicted().unwrap(), vec![]);
    }

    #[test]
    fn a_remote_body_that_fails_validation_changes_nothing() {
        let (_dir, mut store) = store();
        let (id, me) = (Uuid::new_v4(), DeviceId::random());
        let payload = remote(None, Some(&Mood { score: 42, note: String::new(), tags: vec![] }), at(9_000, me));
        let result =
            store.transaction(|tx| merge::<Mood>(tx, id, DeviceId::random(), &payload, None, me, UnixMillis(1)));
        assert!(matches!(result, Err(ClientError::Invalid(_))));
        assert!(store.get::<Mood>(id).unwrap().is_none());
    }
}
