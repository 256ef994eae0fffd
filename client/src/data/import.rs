//! Merging an export into the journal: every record checked as a local edit
//! would be, then merged by the sync rule (PROTOCOL.md §7) group by group,
//! as a change this device made at the exported stamps. So an import never
//! overwrites a newer local change, importing the same file twice changes
//! nothing the second time, and the whole import is one transaction: a
//! file that cannot be read changes nothing at all.

use std::collections::BTreeMap;

use sealsync_envelope::{Dot, Group, Hlc, RecordBody, RecordKind, RecordPayload, Stamps, UnixMillis};
use serde::Serialize;
use uuid::Uuid;

use super::document::{self, Document, ExportedRecord};
use super::{DataError, Decryption, crypt, csv};
use crate::domain::{Activity, Assessment, Mood, RecordType, Schedule, group_values};
use crate::error::ClientError;
use crate::store::records::{Current, Merged, THIS_DEVICE, current_many, merge};
use crate::store::{Store, load_clock, save_clock, sync_state};

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Records this journal did not have.
    pub added: u64,
    /// Records the file changed (some field, or a deletion, was newer there).
    pub updated: u64,
    /// Records this journal already had as they are, or newer.
    pub unchanged: u64,
    /// Records not imported, with why.
    pub refused: Vec<Refused>,
    /// Field values that lost to a concurrent edit here, kept in the
    /// conflict log (`Journal::conflicts`).
    pub conflicts: u64,
}

/// A record the import refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refused {
    /// Its kind.
    pub kind: &'static str,
    /// Its id, if the file gave a readable one.
    pub id: Option<Uuid>,
    /// Why, as a sentence fragment.
    pub reason: String,
}

/// Decrypts (if needed) and parses a JSON or CSV export.
pub(crate) fn read(bytes: &[u8], key: &Decryption) -> Result<Document<serde_json::Value>, DataError> {
    let plaintext = crypt::decrypt(bytes, key)?;
    if csv::is_zip(&plaintext) {
        return csv::parse(&plaintext);
    }
    if plaintext.is_empty() {
        return Err(DataError::Truncated("the file: it is empty"));
    }
    document::parse(&plaintext)
}

/// Merges every record of `document` in one transaction.
pub(crate) fn import(store: &mut Store, document: &Document<serde_json::Value>) -> Result<ImportReport, ClientError> {
    let now = UnixMillis::now();
    store.transaction(|tx| {
        let mut report = ImportReport::default();
        let mut clock = load_clock(tx)?;
        let mut run = Run { tx, clock: &mut clock, now, report: &mut report };
        run.kind::<Mood>(&document.moods)?;
        run.kind::<Assessment>(&document.assessments)?;
        run.kind::<Activity>(&document.activities)?;
        run.kind::<Schedule>(&document.schedules)?;
        save_clock(tx, &clock)?;
        Ok(report)
    })
}

struct Run<'a, 'tx> {
    tx: &'a rusqlite::Transaction<'tx>,
    clock: &'a mut sealsync_envelope::Clock,
    now: UnixMillis,
    report: &'a mut ImportReport,
}

impl Run<'_, '_> {
    fn kind<T: RecordType>(&mut self, records: &[serde_json::Value]) -> Result<(), ClientError> {
        for value in records {
            let id = value.get("id").and_then(|v| v.as_str()).and_then(|s| s.parse::<Uuid>().ok());
            let refuse = |reason: String| Refused { kind: T::KIND, id, reason };
            let record: ExportedRecord<T> = match serde_json::from_value(value.clone()) {
                Ok(record) => record,
                Err(e) => {
                    self.report.refused.push(refuse(e.to_string()));
                    continue;
                }
            };
            match payload(&record) {
                Ok(payload) => {
                    if let Err(e) = self.clock.observe(payload.hlc, self.now) {
                        self.report.refused.push(refuse(e.to_string()));
                        continue;
                    }
                    self.one::<T>(record.id, &payload, refuse)?;
                }
                Err(reason) => self.report.refused.push(refuse(reason)),
            }
        }
        Ok(())
    }

    /// Merges one checked record.
    fn one<T: RecordType>(
        &mut self,
        id: Uuid,
        payload: &RecordPayload,
        refuse: impl FnOnce(String) -> Refused,
    ) -> Result<(), ClientError> {
        let existing = current_many(self.tx, &[id])?.remove(&id);
        if let Some(current) = &existing
            && current.kind == T::KIND
            && same_content(current, payload)
        {
            self.report.unchanged += 1;
            return Ok(());
        }
        match merge::<T>(self.tx, id, THIS_DEVICE, payload, existing.as_ref(), THIS_DEVICE, self.now)? {
            Merged::Applied { lost, .. } => {
                match existing {
                    None => self.report.added += 1,
                    Some(_) => self.report.updated += 1,
                }
                self.report.conflicts += lost as u64;
                // A change like a local edit: it goes to the other devices.
                sync_state::enqueue(self.tx, id, T::KIND, T::TABLE)?;
            }
            Merged::Kept { lost } => {
                self.report.unchanged += 1;
                self.report.conflicts += lost as u64;
            }
            Merged::KindConflict(kind) => {
                self.report.refused.push(refuse(format!("this journal has a {kind} with this id")));
            }
        }
        Ok(())
    }
}

/// Whether the stored record already holds exactly this content (or this
/// deletion): then the import has nothing to add, not even stamps.
fn same_content(current: &Current, payload: &RecordPayload) -> bool {
    match (&current.version.content, payload.deleted_at) {
        (sealsync_envelope::merge::Content::Live(body), None) => RecordBody::decode(&payload.body).is_ok_and(|ours| {
            ours.groups.len() == body.groups.len()
                && ours.groups.iter().all(|(id, g)| body.groups.get(id).is_some_and(|b| b.value == g.value))
        }),
        (sealsync_envelope::merge::Content::Deleted { .. }, Some(_)) => true,
        _ => false,
    }
}

/// The record as a payload this device sealed: each group stamped at its
/// exported last change. Checks it as a local edit is checked.
fn payload<T: RecordType>(record: &ExportedRecord<T>) -> Result<RecordPayload, String> {
    let kind = RecordKind::new(T::KIND).expect("record kinds are valid kind names");
    let stamp = record.stamp();
    if let Some(name) = record.changed.keys().find(|name| !T::GROUPS.iter().any(|g| g.name == name.as_str())) {
        return Err(format!("a {} has no field group {name:?}", T::KIND));
    }
    match (&record.fields, record.deleted_at) {
        (Some(_), Some(_)) => Err("a deleted record has no fields".into()),
        (None, None) => Err("a live record needs its fields".into()),
        (None, Some(at)) => Ok(RecordPayload {
            kind,
            hlc: stamp,
            created_at: UnixMillis(record.created_at),
            deleted_at: Some(UnixMillis(at)),
            body: Vec::new(),
        }),
        (Some(fields), None) => {
            fields.validate().map_err(|e| e.to_string())?;
            let fields = fields.clone().normalized();
            let groups: BTreeMap<_, _> = T::GROUPS
                .iter()
                .zip(group_values(&fields))
                .map(|(group, (id, value))| {
                    let hlc = record.changed.get(group.name).map_or(stamp, |&h| Hlc::from_u64(h));
                    (id, Group { value, stamps: Stamps::single(Dot { hlc, device: THIS_DEVICE }) })
                })
                .collect();
            let body = RecordBody { groups };
            let hlc = body.max_dot().map_or(stamp, |d| d.hlc);
            Ok(RecordPayload {
                kind,
                hlc,
                created_at: UnixMillis(record.created_at),
                deleted_at: None,
                body: body.encode(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("journal.db")).unwrap();
        (dir, store)
    }

    fn document(moods: Vec<serde_json::Value>) -> Document<serde_json::Value> {
        Document {
            format: document::FORMAT.into(),
            version: document::VERSION,
            exported_at: 0,
            include_deleted: true,
            moods,
            assessments: vec![],
            activities: vec![],
            schedules: vec![],
        }
    }

    fn mood(id: Uuid, hlc: u64, changed: serde_json::Value) -> serde_json::Value {
        json!({ "id": id, "created_at": 1_000, "hlc": hlc, "changed": changed,
                "fields": { "score": 5, "note": "n", "tags": [] } })
    }

    /// Records that cannot be a local edit are refused one by one; the clock
    /// does not move for a refused one, and the rest import.
    #[test]
    fn bad_records_are_refused_alone() {
        let (_dir, mut store) = store();
        let taken = store.create(&Mood { score: 3, note: String::new(), tags: vec![] }, UnixMillis(1_000)).unwrap();
        let far = Hlc::new(UnixMillis::now().0 + 10 * 86_400_000, 0).unwrap().as_u64();
        let ok = Hlc::new(2_000, 0).unwrap().as_u64();
        let good = Uuid::new_v4();
        let doc = document(vec![
            mood(Uuid::new_v4(), far, json!({})),
            mood(Uuid::new_v4(), ok, json!({ "colour": ok })),
            json!({ "id": Uuid::new_v4(), "created_at": 1, "fields": { "score": "six" } }),
            json!({ "id": Uuid::new_v4(), "created_at": 1 }),
            mood(good, ok, json!({})),
        ]);
        let mut activity = doc.clone();
        activity.moods.clear();
        activity.activities.push(json!({ "id": taken, "created_at": 1, "fields": { "name": "run", "when": 1 } }));
        let clock_before = store.read(load_clock).unwrap().last();

        let report = import(&mut store, &doc).unwrap();
        assert_eq!((report.added, report.refused.len()), (1, 4), "{report:?}");
        assert!(report.refused[0].reason.contains("ahead"), "{:?}", report.refused[0]);
        assert!(report.refused[1].reason.contains("colour"), "{:?}", report.refused[1]);
        assert!(report.refused[3].reason.contains("needs its fields"), "{:?}", report.refused[3]);
        assert!(store.read(load_clock).unwrap().last() < Hlc::from_u64(far));
        assert!(store.read(load_clock).unwrap().last() >= clock_before);

        let report = import(&mut store, &activity).unwrap();
        assert_eq!(report.refused.len(), 1);
        assert!(report.refused[0].reason.contains("mood"), "{report:?}");
        assert_eq!(store.list::<Activity>(true).unwrap(), vec![]);
    }

    /// The example in docs/EXPORT.md imports as the document says.
    #[test]
    fn the_documented_example_imports() {
        let doc = include_str!("../../../docs/EXPORT.md");
        let example = doc.split("```json\n").nth(1).and_then(|rest| rest.split("```").next()).unwrap();
        let (_dir, mut store) = store();
        let report = import(&mut store, &read(example.as_bytes(), &Decryption::None).unwrap()).unwrap();
        assert_eq!((report.added, report.refused.len()), (2, 0), "{report:?}");
        let moods = store.list::<Mood>(false).unwrap();
        assert_eq!(moods[0].fields.as_ref().unwrap().note, "walked by the river");
        assert_eq!((moods[0].updated_at, moods[0].hlc), (1_767_225_100_000, 115_816_864_153_600_000));
        assert_eq!(store.list::<Schedule>(true).unwrap()[0].deleted_at, Some(1_767_221_000_000));
    }

    /// Another version, and bytes that are not an export, are refused whole.
    #[test]
    fn unreadable_files_are_refused_whole() {
        let newer = serde_json::to_vec(&json!({ "format": document::FORMAT, "version": 9 })).unwrap();
        assert!(matches!(read(&newer, &Decryption::None), Err(DataError::UnsupportedVersion { version: 9, .. })));
        assert!(matches!(read(b"[1, 2", &Decryption::None), Err(DataError::Truncated(_))));
        assert!(matches!(read(b"PK\x03\x04 not really", &Decryption::None), Err(DataError::Truncated(_))));
        assert!(matches!(read(b"hello", &Decryption::None), Err(DataError::Malformed(_))));
    }
}
