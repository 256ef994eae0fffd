//! The CSV layout (docs/EXPORT.md): a zip holding `manifest.json` and one
//! CSV file per kind (`moods.csv`, `assessments.csv`, `activities.csv`,
//! `schedules.csv`). Each row is a record: its id and times, then its
//! fields, then `changed.GROUP` stamps. Text fields are written as they are;
//! numbers, booleans and lists as JSON; an empty cell is an absent value.

use std::io::{Cursor, Read, Write};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::DataError;
use super::document::{Document, ExportedRecord, VERSION, check_header, json_error};
use super::export::Snapshot;
use crate::domain::{Activity, Assessment, Mood, RecordType, Schedule};
use crate::error::ClientError;

/// The `format` member of a CSV export's manifest.
pub const FORMAT: &str = "sealsync-export-csv";
/// The manifest's name in the zip.
const MANIFEST: &str = "manifest.json";
/// Largest member of the zip read (a journal is far smaller): a zip bomb stops here.
const MAX_MEMBER_BYTES: u64 = 512 << 20;

/// The columns every file starts with.
const META: [&str; 5] = ["id", "created_at", "updated_at", "deleted_at", "hlc"];

/// A field column: its name, and whether it holds text (else JSON).
type Column = (&'static str, bool);

/// The field columns of each kind, in order.
fn columns(kind: &str) -> &'static [Column] {
    match kind {
        Mood::KIND => &[("score", false), ("note", true), ("tags", false)],
        Assessment::KIND => {
            &[("kind", true), ("answers", false), ("total", false), ("severity", true), ("item9_flag", false)]
        }
        Activity::KIND => &[
            ("name", true),
            ("category", true),
            ("minutes", false),
            ("enjoyment", false),
            ("mastery", false),
            ("when", false),
            ("note", true),
        ],
        _ => &[("activity_id", true), ("every", true), ("days", false), ("at", true), ("tz", true), ("active", false)],
    }
}

/// The file of each kind in the zip.
fn file_name(kind: &str) -> String {
    let table = match kind {
        Mood::KIND => Mood::TABLE,
        Assessment::KIND => Assessment::TABLE,
        Activity::KIND => Activity::TABLE,
        _ => Schedule::TABLE,
    };
    format!("{table}.csv")
}

#[derive(Serialize, Deserialize)]
struct Manifest {
    format: String,
    version: u64,
    exported_at: u64,
    include_deleted: bool,
}

fn cell(value: Option<&Value>, text: bool) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) if text => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn opt(n: Option<u64>) -> String {
    n.map(|n| n.to_string()).unwrap_or_default()
}

fn table<T: RecordType>(records: &[ExportedRecord<T>]) -> Result<Vec<u8>, ClientError> {
    let cols = columns(T::KIND);
    let mut writer = ::csv::Writer::from_writer(Vec::new());
    let header = META
        .iter()
        .map(|c| (*c).to_owned())
        .chain(cols.iter().map(|(c, _)| (*c).to_owned()))
        .chain(T::GROUPS.iter().map(|g| format!("changed.{}", g.name)));
    let io = |e: ::csv::Error| ClientError::io("cannot write the CSV export")(std::io::Error::other(e));
    writer.write_record(header.collect::<Vec<_>>()).map_err(io)?;
    for record in records {
        let fields = record.fields.as_ref().map(|f| serde_json::to_value(f).expect("records serialize"));
        let mut row = vec![
            record.id.to_string(),
            record.created_at.to_string(),
            opt(record.updated_at),
            opt(record.deleted_at),
            opt(record.hlc),
        ];
        row.extend(cols.iter().map(|(name, text)| cell(fields.as_ref().and_then(|f| f.get(*name)), *text)));
        row.extend(T::GROUPS.iter().map(|g| opt(record.changed.get(g.name).copied())));
        writer.write_record(row).map_err(io)?;
    }
    writer
        .into_inner()
        .map_err(|e| ClientError::io("cannot write the CSV export")(std::io::Error::other(e.to_string())))
}

/// The zip of a snapshot.
pub(crate) fn write(snapshot: &Snapshot, exported_at: u64, include_deleted: bool) -> Result<Vec<u8>, ClientError> {
    let zip_error = |e: zip::result::ZipError| ClientError::io("cannot write the CSV export")(std::io::Error::other(e));
    let manifest = Manifest { format: FORMAT.to_owned(), version: VERSION, exported_at, include_deleted };
    let files = [
        (MANIFEST.to_owned(), serde_json::to_vec_pretty(&manifest).expect("the manifest serializes")),
        (file_name(Mood::KIND), table(&snapshot.moods)?),
        (file_name(Assessment::KIND), table(&snapshot.assessments)?),
        (file_name(Activity::KIND), table(&snapshot.activities)?),
        (file_name(Schedule::KIND), table(&snapshot.schedules)?),
    ];
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o600);
    for (name, bytes) in files {
        zip.start_file(name, options).map_err(zip_error)?;
        zip.write_all(&bytes).map_err(ClientError::io("cannot write the CSV export"))?;
    }
    Ok(zip.finish().map_err(zip_error)?.into_inner())
}

/// Whether `bytes` looks like a zip (a CSV export).
pub(crate) fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
}

fn member(archive: &mut zip::ZipArchive<Cursor<&[u8]>>, name: &str) -> Result<Vec<u8>, DataError> {
    let file = archive.by_name(name).map_err(|e| DataError::Malformed(format!("{name}: {e}")))?;
    let mut bytes = Vec::new();
    file.take(MAX_MEMBER_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| DataError::Malformed(format!("{name} does not unpack: {e}")))?;
    if bytes.len() as u64 > MAX_MEMBER_BYTES {
        return Err(DataError::Malformed(format!("{name} unpacks to more than {MAX_MEMBER_BYTES} bytes")));
    }
    Ok(bytes)
}

/// One CSV file's rows as exported records (JSON, checked per record later).
fn rows<T: RecordType>(bytes: &[u8]) -> Result<Vec<Value>, DataError> {
    let cols = columns(T::KIND);
    let name = file_name(T::KIND);
    let mut reader = ::csv::ReaderBuilder::new().has_headers(true).from_reader(bytes);
    let header: Vec<String> =
        reader.headers().map_err(|e| DataError::Malformed(format!("{name}: {e}")))?.iter().map(str::to_owned).collect();
    let mut out = Vec::new();
    for row in reader.records() {
        let row = row.map_err(|e| DataError::Malformed(format!("{name}: {e}")))?;
        let get = |column: &str| header.iter().position(|h| h == column).and_then(|i| row.get(i)).unwrap_or("");
        let number = |column: &str| -> Value {
            match get(column) {
                "" => Value::Null,
                text => text.parse::<u64>().map_or_else(|_| Value::String(text.to_owned()), Value::from),
            }
        };
        let mut record = Map::new();
        record.insert("id".into(), Value::String(get("id").to_owned()));
        for column in &META[1..] {
            record.insert((*column).into(), number(column));
        }
        let mut changed = Map::new();
        for group in T::GROUPS {
            let key = format!("changed.{}", group.name);
            if let Value::Number(n) = number(&key) {
                changed.insert(group.name.into(), Value::Number(n));
            }
        }
        record.insert("changed".into(), Value::Object(changed));
        let fields = if get("deleted_at").is_empty() {
            let mut fields = Map::new();
            for (column, text) in cols {
                let raw = get(column);
                if raw.is_empty() {
                    continue;
                }
                // A cell that is not JSON is kept as text: the record's own
                // check then names the field.
                let value = if *text {
                    Value::String(raw.to_owned())
                } else {
                    serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_owned()))
                };
                fields.insert((*column).into(), value);
            }
            Value::Object(fields)
        } else {
            Value::Null
        };
        record.insert("fields".into(), fields);
        out.push(Value::Object(record));
    }
    Ok(out)
}

/// Reads a CSV export into the JSON document's shape.
pub(crate) fn parse(bytes: &[u8]) -> Result<Document<Value>, DataError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| match e {
        zip::result::ZipError::InvalidArchive(_) | zip::result::ZipError::Io(_) => DataError::Truncated("the zip"),
        other => DataError::Malformed(other.to_string()),
    })?;
    let manifest: Manifest =
        serde_json::from_slice(&member(&mut archive, MANIFEST)?).map_err(|e| json_error(&e, "the manifest"))?;
    check_header(&manifest.format, manifest.version, FORMAT)?;
    Ok(Document {
        format: manifest.format,
        version: manifest.version,
        exported_at: manifest.exported_at,
        include_deleted: manifest.include_deleted,
        moods: rows::<Mood>(&member(&mut archive, &file_name(Mood::KIND))?)?,
        assessments: rows::<Assessment>(&member(&mut archive, &file_name(Assessment::KIND))?)?,
        activities: rows::<Activity>(&member(&mut archive, &file_name(Activity::KIND))?)?,
        schedules: rows::<Schedule>(&member(&mut archive, &file_name(Schedule::KIND))?)?,
    })
}
