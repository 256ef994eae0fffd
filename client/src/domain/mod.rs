//! The journal's record types, with their validation. The server never sees
//! them: each one travels as the CBOR body of a sealed record payload.
//!
//! A type says how it is stored ([`RecordType::TABLE`], [`RecordType::COLUMNS`])
//! so the store handles all four generically.

use rusqlite::types::Value;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub mod activity;
pub mod assessment;
pub mod mood;
pub mod schedule;

pub use activity::Activity;
pub use assessment::{Assessment, AssessmentKind, Severity};
pub use mood::Mood;
pub use schedule::{Recurrence, Schedule};

/// A record field that fails validation: which field, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field}: {reason}")]
pub struct ValidationError {
    /// The field, by its CLI/JSON name.
    pub field: &'static str,
    /// Why, as a sentence fragment.
    pub reason: String,
}

impl ValidationError {
    /// A validation error.
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self { field, reason: reason.into() }
    }
}

/// One of the four record types.
pub trait RecordType: Serialize + DeserializeOwned + Clone + PartialEq + std::fmt::Debug + Send + Sync {
    /// The kind name in the sealed payload and on the command line.
    const KIND: &'static str;
    /// The local table.
    const TABLE: &'static str;
    /// The typed content columns, in the order of [`RecordType::to_columns`].
    const COLUMNS: &'static [&'static str];

    /// Checks every field (and cross-field rule).
    fn validate(&self) -> Result<(), ValidationError>;

    /// The content columns' values.
    fn to_columns(&self) -> Vec<Value>;

    /// Rebuilds the record from its content columns.
    fn from_columns(values: &[Value]) -> Option<Self>;

    /// Recomputes derived fields after decoding a body (derived values are
    /// never taken from another device).
    fn normalized(self) -> Self {
        self
    }
}

/// A record as the app sees it: id, fields (absent once deleted), times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record<T> {
    /// Stable id.
    pub id: Uuid,
    /// The content; `None` for a deleted record, whose content is erased.
    #[serde(flatten)]
    pub fields: Option<T>,
    /// Unix ms of creation.
    pub created_at: u64,
    /// Unix ms of the last change (the wall-clock part of `hlc`).
    pub updated_at: u64,
    /// The hybrid logical clock stamp of the last change (PROTOCOL.md §5):
    /// orders changes exactly, even between devices whose clocks disagree.
    pub hlc: u64,
    /// Unix ms of deletion, if deleted.
    pub deleted_at: Option<u64>,
}

/// Encodes a record's content for the sealed payload body.
pub fn encode_body<T: RecordType>(fields: &T) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(fields, &mut out).expect("record bodies serialize into a Vec");
    out
}

/// Decodes and validates a record's content from a payload body.
pub fn decode_body<T: RecordType>(body: &[u8]) -> Result<T, ValidationError> {
    let fields: T = ciborium::from_reader(body).map_err(|e| ValidationError::new("body", e.to_string()))?;
    fields.validate()?;
    Ok(fields.normalized())
}

/// Helpers for column conversion.
pub(crate) mod column {
    use rusqlite::types::Value;

    pub fn text(value: &Value) -> Option<String> {
        match value {
            Value::Text(s) => Some(s.clone()),
            _ => None,
        }
    }

    pub fn opt_text(value: &Value) -> Option<Option<String>> {
        match value {
            Value::Null => Some(None),
            Value::Text(s) => Some(Some(s.clone())),
            _ => None,
        }
    }

    pub fn int(value: &Value) -> Option<i64> {
        match value {
            Value::Integer(n) => Some(*n),
            _ => None,
        }
    }

    pub fn opt_int(value: &Value) -> Option<Option<i64>> {
        match value {
            Value::Null => Some(None),
            Value::Integer(n) => Some(Some(*n)),
            _ => None,
        }
    }

    pub fn opt<T: Into<Value>>(value: Option<T>) -> Value {
        value.map_or(Value::Null, Into::into)
    }
}

/// Checks a 0–10 rating.
pub(crate) fn rating(field: &'static str, value: Option<u8>) -> Result<(), ValidationError> {
    match value {
        Some(v) if v > 10 => Err(ValidationError::new(field, format!("{v} is not between 0 and 10"))),
        _ => Ok(()),
    }
}

/// Checks free text: at most `max` bytes, no control characters but newlines and tabs.
pub(crate) fn text(field: &'static str, value: &str, max: usize) -> Result<(), ValidationError> {
    if value.len() > max {
        return Err(ValidationError::new(field, format!("longer than {max} bytes")));
    }
    if value.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(ValidationError::new(field, "contains control characters"));
    }
    Ok(())
}
