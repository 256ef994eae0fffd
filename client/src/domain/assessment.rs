//! PHQ-9 and GAD-7 questionnaires: answers 0–3, the total, its severity band
//! by the published cut-offs, and the PHQ-9 item 9 flag.
//!
//! PHQ-9 (Kroenke, Spitzer & Williams 2001): 0–4 minimal, 5–9 mild, 10–14
//! moderate, 15–19 moderately severe, 20–27 severe. GAD-7 (Spitzer et al. 2006):
//! 0–4 minimal, 5–9 mild, 10–14 moderate, 15–21 severe. Item 9 of the PHQ-9
//! asks about thoughts of self-harm; any answer above 0 is flagged.

use rusqlite::types::Value;
use serde::{Deserialize, Serialize};

use super::{Cbor, FieldGroup, Groups, RecordType, ValidationError, cbor, column};

/// Which questionnaire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum AssessmentKind {
    /// Patient Health Questionnaire, 9 items (depression).
    Phq9,
    /// Generalized Anxiety Disorder scale, 7 items.
    Gad7,
}

impl AssessmentKind {
    /// Number of items.
    pub fn items(self) -> usize {
        match self {
            Self::Phq9 => 9,
            Self::Gad7 => 7,
        }
    }

    /// Name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Phq9 => "phq9",
            Self::Gad7 => "gad7",
        }
    }
}

/// Severity band of a total score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Minimal.
    Minimal,
    /// Mild.
    Mild,
    /// Moderate.
    Moderate,
    /// Moderately severe (PHQ-9 only).
    ModeratelySevere,
    /// Severe.
    Severe,
}

impl Severity {
    fn as_str(self) -> &'static str {
        match self {
            Self::Minimal => "minimal",
            Self::Mild => "mild",
            Self::Moderate => "moderate",
            Self::ModeratelySevere => "moderately_severe",
            Self::Severe => "severe",
        }
    }
}

/// A completed questionnaire. Only `kind` and `answers` are sealed and synced;
/// the derived fields are recomputed on every device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    /// Which questionnaire.
    pub kind: AssessmentKind,
    /// One answer per item, 0–3.
    pub answers: Vec<u8>,
    /// Sum of the answers (derived).
    #[serde(skip_deserializing, default)]
    pub total: u8,
    /// Band of the total (derived).
    #[serde(skip_deserializing, default = "default_severity")]
    pub severity: Severity,
    /// PHQ-9 item 9 answered above 0 (derived).
    #[serde(skip_deserializing, default)]
    pub item9_flag: bool,
}

fn default_severity() -> Severity {
    Severity::Minimal
}

impl Assessment {
    /// Builds an assessment and derives its total, band and flag.
    pub fn new(kind: AssessmentKind, answers: Vec<u8>) -> Result<Self, ValidationError> {
        let mut assessment = Self { kind, answers, total: 0, severity: Severity::Minimal, item9_flag: false };
        assessment.validate()?;
        assessment.derive();
        Ok(assessment)
    }

    fn derive(&mut self) {
        self.total = self.answers.iter().sum();
        self.severity = match (self.kind, self.total) {
            (_, 0..=4) => Severity::Minimal,
            (_, 5..=9) => Severity::Mild,
            (_, 10..=14) => Severity::Moderate,
            (AssessmentKind::Phq9, 15..=19) => Severity::ModeratelySevere,
            _ => Severity::Severe,
        };
        self.item9_flag = self.kind == AssessmentKind::Phq9 && self.answers.get(8).is_some_and(|&a| a > 0);
    }
}

impl RecordType for Assessment {
    const KIND: &'static str = "assessment";
    const TABLE: &'static str = "assessments";
    const COLUMNS: &'static [&'static str] = &["kind", "answers", "total", "severity", "item9_flag"];

    fn validate(&self) -> Result<(), ValidationError> {
        let expected = self.kind.items();
        if self.answers.len() != expected {
            return Err(ValidationError::new(
                "answers",
                format!("{} needs {expected} answers, got {}", self.kind.as_str(), self.answers.len()),
            ));
        }
        if let Some(bad) = self.answers.iter().find(|&&a| a > 3) {
            return Err(ValidationError::new("answers", format!("{bad} is not between 0 and 3")));
        }
        Ok(())
    }

    fn to_columns(&self) -> Vec<Value> {
        let answers = self.answers.iter().map(u8::to_string).collect::<Vec<_>>().join(",");
        vec![
            self.kind.as_str().to_owned().into(),
            answers.into(),
            i64::from(self.total).into(),
            self.severity.as_str().to_owned().into(),
            i64::from(self.item9_flag).into(),
        ]
    }

    fn from_columns(values: &[Value]) -> Option<Self> {
        let kind = match column::text(&values[0])?.as_str() {
            "phq9" => AssessmentKind::Phq9,
            "gad7" => AssessmentKind::Gad7,
            _ => return None,
        };
        let answers = column::text(&values[1])?.split(',').map(|a| a.parse().ok()).collect::<Option<Vec<u8>>>()?;
        Self::new(kind, answers).ok()
    }

    fn normalized(mut self) -> Self {
        self.derive();
        self
    }
}

/// One group, `1: [instrument, [* answer]]`: answers from two sittings must
/// never mix, so a questionnaire changes as a whole. Total, band and flag are
/// not sent: every device derives them.
impl Groups for Assessment {
    const GROUPS: &'static [FieldGroup] =
        &[FieldGroup { id: 1, name: "answers", fields: &["kind", "answers", "total", "severity", "item9_flag"] }];

    fn to_groups(&self) -> Vec<Cbor> {
        let answers = self.answers.iter().map(|&a| u64::from(a).into()).collect();
        vec![Cbor::Array(vec![self.kind.as_str().into(), Cbor::Array(answers)])]
    }

    fn from_groups(values: Vec<Cbor>) -> Option<Self> {
        let [group] = <[Cbor; 1]>::try_from(values).ok()?;
        let [kind, answers] = <[Cbor; 2]>::try_from(group.into_array().ok()?).ok()?;
        let kind = match cbor::text(kind)?.as_str() {
            "phq9" => AssessmentKind::Phq9,
            "gad7" => AssessmentKind::Gad7,
            _ => return None,
        };
        let answers =
            answers.into_array().ok()?.iter().map(|a| u8::try_from(cbor::uint(a)?).ok()).collect::<Option<_>>()?;
        Some(Self { kind, answers, total: 0, severity: Severity::Minimal, item9_flag: false })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phq9(answers: [u8; 9]) -> Assessment {
        Assessment::new(AssessmentKind::Phq9, answers.to_vec()).unwrap()
    }

    #[test]
    fn phq9_bands_follow_the_published_cut_offs() {
        let cases = [
            (0, Severity::Minimal),
            (4, Severity::Minimal),
            (5, Severity::Mild),
            (9, Severity::Mild),
            (10, Severity::Moderate),
            (14, Severity::Moderate),
            (15, Severity::ModeratelySevere),
            (19, Severity::ModeratelySevere),
            (20, Severity::Severe),
            (27, Severity::Severe),
        ];
        for (total, band) in cases {
            let mut answers = [0u8; 9];
            let mut left = total;
            for a in &mut answers[..8] {
                *a = left.min(3);
                left -= *a;
            }
            answers[8] = left;
            let a = phq9(answers);
            assert_eq!((a.total, a.severity), (total, band), "{answers:?}");
        }
    }

    #[test]
    fn gad7_bands_and_item_counts() {
        let a = Assessment::new(AssessmentKind::Gad7, vec![3, 3, 3, 3, 3, 0, 0]).unwrap();
        assert_eq!((a.total, a.severity, a.item9_flag), (15, Severity::Severe, false));
        let a = Assessment::new(AssessmentKind::Gad7, vec![2, 2, 2, 2, 2, 2, 2]).unwrap();
        assert_eq!(a.severity, Severity::Moderate);
        assert!(Assessment::new(AssessmentKind::Gad7, vec![0; 9]).is_err());
        assert!(Assessment::new(AssessmentKind::Phq9, vec![0; 7]).is_err());
        assert!(Assessment::new(AssessmentKind::Phq9, vec![4, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn item_nine_above_zero_is_flagged() {
        assert!(!phq9([1, 1, 1, 1, 1, 1, 1, 1, 0]).item9_flag);
        assert!(phq9([0, 0, 0, 0, 0, 0, 0, 0, 1]).item9_flag);
        let a = phq9([3, 0, 1, 0, 2, 0, 0, 0, 1]);
        assert_eq!(Assessment::from_columns(&a.to_columns()), Some(a));
    }
}
