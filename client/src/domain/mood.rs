//! Mood entries: a 1–10 score, a note and tags.

use rusqlite::types::Value;
use serde::{Deserialize, Serialize};

use super::{Cbor, FieldGroup, Groups, RecordType, ValidationError, cbor, column, text};

/// A mood entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mood {
    /// 1 (worst) to 10 (best).
    pub score: u8,
    /// Free text.
    #[serde(default)]
    pub note: String,
    /// Short labels, e.g. `work`, `sleep`.
    #[serde(default)]
    pub tags: Vec<String>,
}

impl RecordType for Mood {
    const KIND: &'static str = "mood";
    const TABLE: &'static str = "moods";
    const COLUMNS: &'static [&'static str] = &["score", "note", "tags"];

    fn validate(&self) -> Result<(), ValidationError> {
        if !(1..=10).contains(&self.score) {
            return Err(ValidationError::new("score", format!("{} is not between 1 and 10", self.score)));
        }
        text("note", &self.note, 16 * 1024)?;
        if self.tags.len() > 32 {
            return Err(ValidationError::new("tag", "more than 32 tags"));
        }
        for tag in &self.tags {
            if tag.is_empty() || tag.len() > 64 || tag.contains(',') || tag.chars().any(char::is_control) {
                return Err(ValidationError::new("tag", format!("{tag:?} must be 1-64 bytes without commas")));
            }
        }
        Ok(())
    }

    fn to_columns(&self) -> Vec<Value> {
        let tags = serde_json::to_string(&self.tags).expect("strings serialize");
        vec![i64::from(self.score).into(), self.note.clone().into(), tags.into()]
    }

    fn from_columns(values: &[Value]) -> Option<Self> {
        Some(Self {
            score: u8::try_from(column::int(&values[0])?).ok()?,
            note: column::text(&values[1])?,
            tags: serde_json::from_str(&column::text(&values[2])?).ok()?,
        })
    }
}

/// `1: score` (uint), `2: note` (text), `3: tags` ([* text]): a score and a
/// note written on two devices both survive.
impl Groups for Mood {
    const GROUPS: &'static [FieldGroup] = &[
        FieldGroup { id: 1, name: "score", fields: &["score"] },
        FieldGroup { id: 2, name: "note", fields: &["note"] },
        FieldGroup { id: 3, name: "tags", fields: &["tags"] },
    ];

    fn to_groups(&self) -> Vec<Cbor> {
        let tags = self.tags.iter().map(|t| Cbor::Text(t.clone())).collect();
        vec![u64::from(self.score).into(), self.note.clone().into(), Cbor::Array(tags)]
    }

    fn from_groups(values: Vec<Cbor>) -> Option<Self> {
        let [score, note, tags] = <[Cbor; 3]>::try_from(values).ok()?;
        Some(Self {
            score: u8::try_from(cbor::uint(&score)?).ok()?,
            note: cbor::text(note)?,
            tags: tags.into_array().ok()?.into_iter().map(cbor::text).collect::<Option<_>>()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_and_tags_are_validated() {
        let ok = Mood { score: 7, note: "fine".into(), tags: vec!["work".into()] };
        assert!(ok.validate().is_ok());
        for bad in [
            Mood { score: 0, ..ok.clone() },
            Mood { score: 11, ..ok.clone() },
            Mood { tags: vec!["a,b".into()], ..ok.clone() },
            Mood { tags: vec![String::new()], ..ok.clone() },
            Mood { note: "\u{7}".into(), ..ok.clone() },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
        assert_eq!(Mood::from_columns(&ok.to_columns()), Some(ok));
    }
}
