//! The journal's record types, with their validation. The server never sees
//! them: each one travels as the field groups of a sealed record body
//! (PROTOCOL.md §4.4).
//!
//! A type says how it is stored ([`RecordType::TABLE`], [`RecordType::COLUMNS`])
//! so the store handles all four generically.

use std::collections::BTreeMap;

pub use ciborium::Value as Cbor;
use rusqlite::types::Value;
pub use sealsync_envelope::GroupId;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub mod activity;
pub mod assessment;
#[cfg(test)]
mod conformance;
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
pub trait RecordType:
    Serialize + DeserializeOwned + Clone + PartialEq + std::fmt::Debug + Send + Sync + Groups
{
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
    /// never sent, so never taken from another device).
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

/// A field group of a kind (PROTOCOL.md §4.4): what must change together
/// to make sense, merged as one by last writer wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldGroup {
    /// Its number in the record body.
    pub id: GroupId,
    /// Its name, for people (conflict lists).
    pub name: &'static str,
    /// The record's JSON fields it holds, derived ones included.
    pub fields: &'static [&'static str],
}

/// A record type's field groups and their values (PROTOCOL.md §4.4).
pub trait Groups: Sized {
    /// Every group, ascending by id. A live record carries all of them.
    const GROUPS: &'static [FieldGroup];

    /// Each group's value, in [`Groups::GROUPS`] order.
    fn to_groups(&self) -> Vec<Cbor>;

    /// Rebuilds the fields from each group's value, in [`Groups::GROUPS`]
    /// order; `None` if a value does not have its group's shape.
    fn from_groups(values: Vec<Cbor>) -> Option<Self>;
}

/// The canonical CBOR of each group of `fields`, by group id.
pub fn group_values<T: RecordType>(fields: &T) -> Vec<(GroupId, Vec<u8>)> {
    T::GROUPS
        .iter()
        .zip(fields.to_groups())
        .map(|(group, value)| {
            let mut out = Vec::new();
            ciborium::into_writer(&value, &mut out).expect("group values serialize into a Vec");
            (group.id, out)
        })
        .collect()
}

/// Decodes, checks and validates a live record from its group values: every
/// group of the kind and no other, each in its one canonical encoding.
pub fn from_group_values<T: RecordType>(values: &BTreeMap<GroupId, Vec<u8>>) -> Result<T, ValidationError> {
    let ids: Vec<GroupId> = values.keys().copied().collect();
    if ids != T::GROUPS.iter().map(|g| g.id).collect::<Vec<_>>() {
        return Err(ValidationError::new(
            "body",
            format!("a {} has groups {:?}, not {ids:?}", T::KIND, group_ids::<T>()),
        ));
    }
    let mut decoded = Vec::with_capacity(values.len());
    for (group, bytes) in T::GROUPS.iter().zip(values.values()) {
        let value: Cbor = ciborium::from_reader(bytes.as_slice())
            .map_err(|e| ValidationError::new("body", format!("group {}: {e}", group.name)))?;
        let mut again = Vec::with_capacity(bytes.len());
        ciborium::into_writer(&value, &mut again).expect("group values serialize into a Vec");
        if again != *bytes {
            return Err(ValidationError::new("body", format!("group {} is not canonical CBOR", group.name)));
        }
        decoded.push(value);
    }
    let fields = T::from_groups(decoded)
        .ok_or_else(|| ValidationError::new("body", format!("a group of this {} has the wrong shape", T::KIND)))?;
    fields.validate()?;
    Ok(fields.normalized())
}

fn group_ids<T: RecordType>() -> Vec<GroupId> {
    T::GROUPS.iter().map(|g| g.id).collect()
}

/// Helpers to read group values of the shapes PROTOCOL.md §4.4 uses.
pub(crate) mod cbor {
    use ciborium::Value;

    pub fn uint(value: &Value) -> Option<u64> {
        value.as_integer().and_then(|i| u64::try_from(i).ok())
    }

    pub fn opt_uint(value: &Value) -> Option<Option<u64>> {
        if value.is_null() { Some(None) } else { uint(value).map(Some) }
    }

    pub fn text(value: Value) -> Option<String> {
        value.into_text().ok()
    }

    pub fn opt_text(value: Value) -> Option<Option<String>> {
        if value.is_null() { Some(None) } else { text(value).map(Some) }
    }

    pub fn opt<T: Into<Value>>(value: Option<T>) -> Value {
        value.map_or(Value::Null, Into::into)
    }
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
