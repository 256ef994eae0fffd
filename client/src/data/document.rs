//! The JSON export document, version 1 (docs/EXPORT.md): a header and one
//! array per kind of record. Each record carries its id, its times, the
//! hybrid-logical-clock stamp of its last change and of each field group's,
//! and its fields (or `null` once deleted).

use std::collections::BTreeMap;

use sealsync_envelope::Hlc;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::DataError;
use crate::domain::{Record, RecordType};

/// The `format` member of a JSON export.
pub const FORMAT: &str = "sealsync-export";
/// The version this client writes and reads.
pub const VERSION: u64 = 1;

/// One record as exported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportedRecord<T> {
    /// Stable id (UUID).
    pub id: Uuid,
    /// Unix ms of creation.
    pub created_at: u64,
    /// Unix ms of the last change; defaults to `created_at`.
    #[serde(default)]
    pub updated_at: Option<u64>,
    /// Unix ms of deletion; `null` while live.
    #[serde(default)]
    pub deleted_at: Option<u64>,
    /// The hybrid logical clock stamp of the last change (wall ms × 2^16 +
    /// counter); defaults to `updated_at` with counter 0.
    #[serde(default)]
    pub hlc: Option<u64>,
    /// Each field group's last change (group name → stamp); a group left
    /// out takes `hlc`. Empty once deleted.
    #[serde(default)]
    pub changed: BTreeMap<String, u64>,
    /// The content; `null` once deleted.
    pub fields: Option<T>,
}

impl<T: RecordType> ExportedRecord<T> {
    /// From a stored record and its groups' last changes.
    pub(crate) fn of(record: Record<T>, changed: BTreeMap<&'static str, Hlc>) -> Self {
        Self {
            id: record.id,
            created_at: record.created_at,
            updated_at: Some(record.updated_at),
            deleted_at: record.deleted_at,
            hlc: Some(record.hlc),
            changed: changed.into_iter().map(|(g, h)| (g.to_owned(), h.as_u64())).collect(),
            fields: record.fields,
        }
    }

    /// The stamp of the last change.
    pub fn stamp(&self) -> Hlc {
        match self.hlc {
            Some(hlc) => Hlc::from_u64(hlc),
            None => Hlc::new(self.updated_at.unwrap_or(self.created_at), 0).unwrap_or(Hlc::from_u64(0)),
        }
    }
}

/// A whole JSON export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document<V> {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`VERSION`] here.
    pub version: u64,
    /// Unix ms at which it was written.
    pub exported_at: u64,
    /// Whether deleted records are in it.
    pub include_deleted: bool,
    /// Mood entries.
    pub moods: Vec<V>,
    /// PHQ-9 and GAD-7 assessments.
    pub assessments: Vec<V>,
    /// Activities.
    pub activities: Vec<V>,
    /// Activity schedules.
    pub schedules: Vec<V>,
}

/// The header alone, read first so that another version is told as such.
#[derive(Deserialize)]
struct Header {
    format: String,
    version: u64,
}

/// Checks a header's format and version.
pub(crate) fn check_header(format: &str, version: u64, expected: &str) -> Result<(), DataError> {
    if format != expected || version != VERSION {
        return Err(DataError::UnsupportedVersion { format: format.to_owned(), version });
    }
    Ok(())
}

/// Parses a JSON export into its records, each still JSON (so that one bad
/// record is refused alone). Truncation, bad JSON and another version are
/// errors for the whole file.
pub(crate) fn parse(bytes: &[u8]) -> Result<Document<serde_json::Value>, DataError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| json_error(&e, "the JSON document"))?;
    let header: Header = serde_json::from_value(value.clone())
        .map_err(|e| DataError::Malformed(format!("no format and version members ({e})")))?;
    check_header(&header.format, header.version, FORMAT)?;
    serde_json::from_value(value).map_err(|e| DataError::Malformed(e.to_string()))
}

/// A JSON error as the file's fault: truncated, or malformed.
pub(crate) fn json_error(e: &serde_json::Error, what: &'static str) -> DataError {
    if e.is_eof() { DataError::Truncated(what) } else { DataError::Malformed(e.to_string()) }
}
