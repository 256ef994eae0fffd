//! Activities: something done, with how long, how much it was enjoyed and how
//! much mastery it gave (the ratings of behavioural activation).

use rusqlite::types::Value;
use serde::{Deserialize, Serialize};

use super::{Cbor, FieldGroup, Groups, RecordType, ValidationError, cbor, column, rating, text};

/// An activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    /// What was done.
    pub name: String,
    /// A grouping, e.g. `social`, `exercise`.
    #[serde(default)]
    pub category: Option<String>,
    /// Duration in minutes.
    #[serde(default)]
    pub minutes: Option<u32>,
    /// 0–10.
    #[serde(default)]
    pub enjoyment: Option<u8>,
    /// 0–10.
    #[serde(default)]
    pub mastery: Option<u8>,
    /// When it happened, Unix ms.
    pub when: u64,
    /// Free text.
    #[serde(default)]
    pub note: String,
}

impl RecordType for Activity {
    const KIND: &'static str = "activity";
    const TABLE: &'static str = "activities";
    const COLUMNS: &'static [&'static str] =
        &["name", "category", "minutes", "enjoyment", "mastery", "happened_at", "note"];

    fn validate(&self) -> Result<(), ValidationError> {
        if self.name.trim().is_empty() {
            return Err(ValidationError::new("name", "must not be empty"));
        }
        text("name", &self.name, 200)?;
        if let Some(category) = &self.category {
            text("category", category, 100)?;
        }
        if self.minutes.is_some_and(|m| m > 24 * 60) {
            return Err(ValidationError::new("minutes", "more than a day"));
        }
        rating("enjoyment", self.enjoyment)?;
        rating("mastery", self.mastery)?;
        text("note", &self.note, 16 * 1024)?;
        Ok(())
    }

    fn to_columns(&self) -> Vec<Value> {
        vec![
            self.name.clone().into(),
            column::opt(self.category.clone()),
            column::opt(self.minutes.map(i64::from)),
            column::opt(self.enjoyment.map(i64::from)),
            column::opt(self.mastery.map(i64::from)),
            i64::try_from(self.when).unwrap_or(i64::MAX).into(),
            self.note.clone().into(),
        ]
    }

    fn from_columns(values: &[Value]) -> Option<Self> {
        Some(Self {
            name: column::text(&values[0])?,
            category: column::opt_text(&values[1])?,
            minutes: column::opt_int(&values[2])?.map(u32::try_from).transpose().ok()?,
            enjoyment: column::opt_int(&values[3])?.map(u8::try_from).transpose().ok()?,
            mastery: column::opt_int(&values[4])?.map(u8::try_from).transpose().ok()?,
            when: u64::try_from(column::int(&values[5])?).ok()?,
            note: column::text(&values[6])?,
        })
    }
}

/// One group per field (`1: name` … `7: note`): each is meaningful alone.
impl Groups for Activity {
    const GROUPS: &'static [FieldGroup] = &[
        FieldGroup { id: 1, name: "name", fields: &["name"] },
        FieldGroup { id: 2, name: "category", fields: &["category"] },
        FieldGroup { id: 3, name: "minutes", fields: &["minutes"] },
        FieldGroup { id: 4, name: "enjoyment", fields: &["enjoyment"] },
        FieldGroup { id: 5, name: "mastery", fields: &["mastery"] },
        FieldGroup { id: 6, name: "when", fields: &["when"] },
        FieldGroup { id: 7, name: "note", fields: &["note"] },
    ];

    fn to_groups(&self) -> Vec<Cbor> {
        vec![
            self.name.clone().into(),
            cbor::opt(self.category.clone()),
            cbor::opt(self.minutes.map(u64::from)),
            cbor::opt(self.enjoyment.map(u64::from)),
            cbor::opt(self.mastery.map(u64::from)),
            self.when.into(),
            self.note.clone().into(),
        ]
    }

    fn from_groups(values: Vec<Cbor>) -> Option<Self> {
        let [name, category, minutes, enjoyment, mastery, when, note] = <[Cbor; 7]>::try_from(values).ok()?;
        Some(Self {
            name: cbor::text(name)?,
            category: cbor::opt_text(category)?,
            minutes: cbor::opt_uint(&minutes)?.map(u32::try_from).transpose().ok()?,
            enjoyment: cbor::opt_uint(&enjoyment)?.map(u8::try_from).transpose().ok()?,
            mastery: cbor::opt_uint(&mastery)?.map(u8::try_from).transpose().ok()?,
            when: cbor::uint(&when)?,
            note: cbor::text(note)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_and_names_are_validated() {
        let ok = Activity {
            name: "walk".into(),
            category: Some("exercise".into()),
            minutes: Some(30),
            enjoyment: Some(7),
            mastery: None,
            when: 1_764_000_000_000,
            note: String::new(),
        };
        assert!(ok.validate().is_ok());
        assert!(Activity { enjoyment: Some(11), ..ok.clone() }.validate().is_err());
        assert!(Activity { mastery: Some(11), ..ok.clone() }.validate().is_err());
        assert!(Activity { name: "  ".into(), ..ok.clone() }.validate().is_err());
        assert_eq!(Activity::from_columns(&ok.to_columns()), Some(ok));
    }
}
