//! Reading the journal out: every record of the four kinds, in one read
//! transaction (one snapshot), as JSON or CSV, encrypted with age if asked,
//! and written to a file atomically (a temporary file renamed into place).

use std::path::Path;

use serde::Serialize;

use super::csv;
use super::document::{Document, ExportedRecord, FORMAT, VERSION};
use super::{Encryption, ExportFormat, crypt};
use crate::domain::{Activity, Assessment, Mood, RecordType, Schedule};
use crate::error::ClientError;
use crate::store::Store;
use crate::store::records::list_with_changes;

/// What to export, and how.
#[derive(Debug, Default)]
pub struct ExportOptions {
    /// JSON or CSV.
    pub format: ExportFormat,
    /// Include deleted records (their ids and times; their content is gone).
    pub include_deleted: bool,
    /// Encrypt with age; `None` writes plaintext.
    pub encryption: Option<Encryption>,
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportSummary {
    /// JSON or CSV.
    pub format: ExportFormat,
    /// Whether it is an age file.
    pub encrypted: bool,
    /// Mood entries written.
    pub moods: usize,
    /// Assessments written.
    pub assessments: usize,
    /// Activities written.
    pub activities: usize,
    /// Schedules written.
    pub schedules: usize,
    /// Deleted records among them.
    pub deleted: usize,
    /// Size of the output, in bytes.
    pub bytes: usize,
}

/// The records of one kind, as exported.
fn records<T: RecordType>(
    tx: &rusqlite::Transaction<'_>,
    include_deleted: bool,
) -> Result<Vec<ExportedRecord<T>>, ClientError> {
    Ok(list_with_changes::<T>(tx, include_deleted)?.into_iter().map(|(r, c)| ExportedRecord::of(r, c)).collect())
}

/// Every record, read in one snapshot.
pub(crate) struct Snapshot {
    pub moods: Vec<ExportedRecord<Mood>>,
    pub assessments: Vec<ExportedRecord<Assessment>>,
    pub activities: Vec<ExportedRecord<Activity>>,
    pub schedules: Vec<ExportedRecord<Schedule>>,
}

fn snapshot(store: &Store, include_deleted: bool) -> Result<Snapshot, ClientError> {
    store.read(|tx| {
        Ok(Snapshot {
            moods: records(tx, include_deleted)?,
            assessments: records(tx, include_deleted)?,
            activities: records(tx, include_deleted)?,
            schedules: records(tx, include_deleted)?,
        })
    })
}

fn values<T: RecordType>(records: &[ExportedRecord<T>]) -> Vec<serde_json::Value> {
    records.iter().map(|r| serde_json::to_value(r).expect("records serialize")).collect()
}

/// The export's bytes, and what they hold.
pub(crate) fn export(store: &Store, options: &ExportOptions) -> Result<(Vec<u8>, ExportSummary), ClientError> {
    let snapshot = snapshot(store, options.include_deleted)?;
    let exported_at = sealsync_envelope::UnixMillis::now().0;
    let deleted = snapshot.moods.iter().filter(|r| r.deleted_at.is_some()).count()
        + snapshot.assessments.iter().filter(|r| r.deleted_at.is_some()).count()
        + snapshot.activities.iter().filter(|r| r.deleted_at.is_some()).count()
        + snapshot.schedules.iter().filter(|r| r.deleted_at.is_some()).count();
    let plaintext = zeroize::Zeroizing::new(match options.format {
        ExportFormat::Json => {
            let document = Document {
                format: FORMAT.to_owned(),
                version: VERSION,
                exported_at,
                include_deleted: options.include_deleted,
                moods: values(&snapshot.moods),
                assessments: values(&snapshot.assessments),
                activities: values(&snapshot.activities),
                schedules: values(&snapshot.schedules),
            };
            let mut bytes = serde_json::to_vec_pretty(&document).expect("the document serializes");
            bytes.push(b'\n');
            bytes
        }
        ExportFormat::Csv => csv::write(&snapshot, exported_at, options.include_deleted)?,
    });
    let bytes = match &options.encryption {
        Some(encryption) => crypt::encrypt(encryption, &plaintext)?,
        None => plaintext.to_vec(),
    };
    let summary = ExportSummary {
        format: options.format,
        encrypted: options.encryption.is_some(),
        moods: snapshot.moods.len(),
        assessments: snapshot.assessments.len(),
        activities: snapshot.activities.len(),
        schedules: snapshot.schedules.len(),
        deleted,
        bytes: bytes.len(),
    };
    Ok((bytes, summary))
}

/// Writes `bytes` to `path` atomically, readable by the user alone (the
/// journal set the umask to 077): a reader never sees half a file, and a
/// failure leaves no file behind.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), ClientError> {
    use std::io::Write;
    let what = || format!("cannot write {}", path.display());
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(parent).map_err(ClientError::io(what()))?;
    file.write_all(bytes).and_then(|()| file.as_file().sync_all()).map_err(ClientError::io(what()))?;
    file.persist(path).map_err(|e| ClientError::io(what())(e.error))?;
    Ok(())
}
