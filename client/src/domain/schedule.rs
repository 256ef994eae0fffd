//! Schedules: when to do an activity, in the user's own time zone.

use std::str::FromStr;

use rusqlite::types::Value;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Cbor, FieldGroup, Groups, RecordType, ValidationError, cbor, column};

/// How often.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "every", content = "days")]
pub enum Recurrence {
    /// A single time.
    Once,
    /// Every day.
    Daily,
    /// On the given weekdays (`mon` … `sun`), in week order, no repeats.
    Weekly(Vec<String>),
}

/// Weekday names in week order.
pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl FromStr for Recurrence {
    type Err = ValidationError;

    /// `once`, `daily`, or a comma list of weekdays such as `mon,wed`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "once" => Ok(Self::Once),
            "daily" => Ok(Self::Daily),
            list => {
                let mut days: Vec<String> = list.split(',').map(|d| d.trim().to_owned()).collect();
                days.sort_by_key(|d| WEEKDAYS.iter().position(|w| w == d).unwrap_or(usize::MAX));
                let recurrence = Self::Weekly(days);
                recurrence.validate()?;
                Ok(recurrence)
            }
        }
    }
}

impl Recurrence {
    fn validate(&self) -> Result<(), ValidationError> {
        if let Self::Weekly(days) = self {
            if days.is_empty() {
                return Err(ValidationError::new("every", "no weekdays given"));
            }
            let mut last = None;
            for day in days {
                let index = WEEKDAYS.iter().position(|w| w == day).ok_or_else(|| {
                    ValidationError::new("every", format!("{day:?} is not once, daily or a weekday (mon..sun)"))
                })?;
                if last.is_some_and(|l| index <= l) {
                    return Err(ValidationError::new("every", "weekdays must be in week order without repeats"));
                }
                last = Some(index);
            }
        }
        Ok(())
    }

    fn to_text(&self) -> String {
        match self {
            Self::Once => "once".into(),
            Self::Daily => "daily".into(),
            Self::Weekly(days) => days.join(","),
        }
    }
}

/// A schedule for an activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// The activity record it schedules.
    pub activity_id: Uuid,
    /// How often.
    #[serde(flatten)]
    pub recurrence: Recurrence,
    /// Local time of day, `HH:MM` (24-hour).
    pub at: String,
    /// IANA time zone, e.g. `Europe/Berlin`.
    pub tz: String,
    /// Whether reminders are on.
    pub active: bool,
}

/// Checks `HH:MM`.
pub fn check_time(at: &str) -> Result<(), ValidationError> {
    let bad = || ValidationError::new("at", format!("{at:?} is not a time HH:MM"));
    let (h, m) = at.split_once(':').ok_or_else(bad)?;
    let (h, m): (u8, u8) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if at.len() != 5 || h > 23 || m > 59 {
        return Err(bad());
    }
    Ok(())
}

impl RecordType for Schedule {
    const KIND: &'static str = "schedule";
    const TABLE: &'static str = "schedules";
    const COLUMNS: &'static [&'static str] = &["activity_id", "recurrence", "at", "tz", "active"];

    fn validate(&self) -> Result<(), ValidationError> {
        self.recurrence.validate()?;
        check_time(&self.at)?;
        chrono_tz::Tz::from_str(&self.tz)
            .map_err(|_| ValidationError::new("tz", format!("{:?} is not an IANA time zone", self.tz)))?;
        Ok(())
    }

    fn to_columns(&self) -> Vec<Value> {
        vec![
            self.activity_id.to_string().into(),
            self.recurrence.to_text().into(),
            self.at.clone().into(),
            self.tz.clone().into(),
            i64::from(self.active).into(),
        ]
    }

    fn from_columns(values: &[Value]) -> Option<Self> {
        Some(Self {
            activity_id: column::text(&values[0])?.parse().ok()?,
            recurrence: column::text(&values[1])?.parse().ok()?,
            at: column::text(&values[2])?,
            tz: column::text(&values[3])?,
            active: column::int(&values[4])? != 0,
        })
    }
}

/// `1: activity_id` (bstr 16), `2: [every, at, tz]` (a recurrence means
/// nothing without its time and zone), `3: active` (bool).
impl Groups for Schedule {
    const GROUPS: &'static [FieldGroup] = &[
        FieldGroup { id: 1, name: "activity", fields: &["activity_id"] },
        FieldGroup { id: 2, name: "timing", fields: &["every", "days", "at", "tz"] },
        FieldGroup { id: 3, name: "active", fields: &["active"] },
    ];

    fn to_groups(&self) -> Vec<Cbor> {
        let every = match &self.recurrence {
            Recurrence::Once => "once".into(),
            Recurrence::Daily => "daily".into(),
            Recurrence::Weekly(days) => Cbor::Array(days.iter().map(|d| Cbor::Text(d.clone())).collect()),
        };
        vec![
            Cbor::Bytes(self.activity_id.as_bytes().to_vec()),
            Cbor::Array(vec![every, self.at.clone().into(), self.tz.clone().into()]),
            self.active.into(),
        ]
    }

    fn from_groups(values: Vec<Cbor>) -> Option<Self> {
        let [activity, timing, active] = <[Cbor; 3]>::try_from(values).ok()?;
        let [every, at, tz] = <[Cbor; 3]>::try_from(timing.into_array().ok()?).ok()?;
        let recurrence = match every {
            Cbor::Text(t) if t == "once" => Recurrence::Once,
            Cbor::Text(t) if t == "daily" => Recurrence::Daily,
            Cbor::Array(days) => Recurrence::Weekly(days.into_iter().map(cbor::text).collect::<Option<_>>()?),
            _ => return None,
        };
        Some(Self {
            activity_id: Uuid::from_slice(&activity.into_bytes().ok()?).ok()?,
            recurrence,
            at: cbor::text(at)?,
            tz: cbor::text(tz)?,
            active: active.as_bool()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recurrence_time_and_zone_are_validated() {
        assert_eq!("wed,mon".parse::<Recurrence>().unwrap(), Recurrence::Weekly(vec!["mon".into(), "wed".into()]));
        assert!("mon,mon".parse::<Recurrence>().is_err());
        assert!("someday".parse::<Recurrence>().is_err());
        let ok = Schedule {
            activity_id: Uuid::new_v4(),
            recurrence: Recurrence::Daily,
            at: "07:30".into(),
            tz: "Europe/Berlin".into(),
            active: true,
        };
        assert!(ok.validate().is_ok());
        assert!(Schedule { at: "7:30".into(), ..ok.clone() }.validate().is_err());
        assert!(Schedule { at: "24:00".into(), ..ok.clone() }.validate().is_err());
        assert!(Schedule { tz: "Mars/Olympus".into(), ..ok.clone() }.validate().is_err());
        assert_eq!(Schedule::from_columns(&ok.to_columns()), Some(ok));
    }
}
