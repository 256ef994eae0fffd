//! From command-line flags to records: building one on `add`, changing only
//! the given fields on `edit`.

use sealsync_client::domain::ValidationError;
use sealsync_client::{Activity, Assessment, ClientError, Mood, Recurrence, Schedule};

use super::args::{ActivityArgs, AssessmentArgs, MoodArgs, ScheduleArgs};

/// Flags of one record kind.
pub trait RecordArgs<T> {
    /// A new record from the flags (required ones must be present).
    fn build(&self) -> Result<T, ClientError>;
    /// `current` with the given flags applied.
    fn apply(&self, current: T) -> Result<T, ClientError>;
}

fn required<V: Clone>(value: &Option<V>, flag: &'static str) -> Result<V, ClientError> {
    value.clone().ok_or_else(|| ValidationError::new(flag, format!("--{flag} is required")).into())
}

impl RecordArgs<Mood> for MoodArgs {
    fn build(&self) -> Result<Mood, ClientError> {
        let base = Mood { score: required(&self.score, "score")?, note: String::new(), tags: Vec::new() };
        self.apply(base)
    }

    fn apply(&self, mut mood: Mood) -> Result<Mood, ClientError> {
        if let Some(score) = self.score {
            mood.score = score;
        }
        if let Some(note) = &self.note {
            mood.note = note.clone();
        }
        if !self.tags.is_empty() {
            mood.tags = self.tags.clone();
        }
        if self.clear_note {
            mood.note.clear();
        }
        if self.clear_tags {
            mood.tags.clear();
        }
        Ok(mood)
    }
}

impl RecordArgs<Assessment> for AssessmentArgs {
    fn build(&self) -> Result<Assessment, ClientError> {
        Ok(Assessment::new(required(&self.kind, "kind")?, required(&self.answers, "answers")?)?)
    }

    fn apply(&self, current: Assessment) -> Result<Assessment, ClientError> {
        let kind = self.kind.unwrap_or(current.kind);
        let answers = self.answers.clone().unwrap_or(current.answers);
        Ok(Assessment::new(kind, answers)?)
    }
}

impl RecordArgs<Activity> for ActivityArgs {
    fn build(&self) -> Result<Activity, ClientError> {
        let base = Activity {
            name: required(&self.name, "name")?,
            category: None,
            minutes: None,
            enjoyment: None,
            mastery: None,
            when: sealsync_envelope::UnixMillis::now().0,
            note: String::new(),
        };
        self.apply(base)
    }

    fn apply(&self, mut activity: Activity) -> Result<Activity, ClientError> {
        if let Some(name) = &self.name {
            activity.name = name.clone();
        }
        if self.category.is_some() {
            activity.category = self.category.clone();
        }
        if self.minutes.is_some() {
            activity.minutes = self.minutes;
        }
        if self.enjoyment.is_some() {
            activity.enjoyment = self.enjoyment;
        }
        if self.mastery.is_some() {
            activity.mastery = self.mastery;
        }
        if let Some(note) = &self.note {
            activity.note = note.clone();
        }
        if self.clear_category {
            activity.category = None;
        }
        if self.clear_minutes {
            activity.minutes = None;
        }
        if self.clear_enjoyment {
            activity.enjoyment = None;
        }
        if self.clear_mastery {
            activity.mastery = None;
        }
        if self.clear_note {
            activity.note.clear();
        }
        Ok(activity)
    }
}

/// This machine's IANA time zone, if it can tell: `TZ`, then `/etc/timezone`.
fn local_zone() -> String {
    let candidates = [std::env::var("TZ").ok(), std::fs::read_to_string("/etc/timezone").ok()];
    candidates
        .into_iter()
        .flatten()
        .map(|z| z.trim().trim_start_matches(':').to_owned())
        .find(|z| z.parse::<chrono_tz::Tz>().is_ok())
        .unwrap_or_else(|| "UTC".to_owned())
}

/// `7:30` as the stored `07:30`; anything else is left for validation.
fn time_of_day(at: &str) -> String {
    match at.trim().split_once(':') {
        Some((h, m)) if h.len() == 1 && h.bytes().all(|b| b.is_ascii_digit()) => format!("0{h}:{m}"),
        _ => at.trim().to_owned(),
    }
}

/// `--every`: "once" is refused, since a schedule has no date for it to
/// fall on (PROTOCOL.md §4.8 keeps it readable for older data only).
fn recurrence(every: &str) -> Result<Recurrence, ClientError> {
    if every.trim().eq_ignore_ascii_case("once") {
        return Err(ValidationError::new(
            "every",
            "a schedule repeats (daily, or weekdays such as mon,wed,fri); a one-off has no date to fall on: \
             add the activity when it happens instead",
        )
        .into());
    }
    Ok(every.parse()?)
}

impl RecordArgs<Schedule> for ScheduleArgs {
    fn build(&self) -> Result<Schedule, ClientError> {
        let base = Schedule {
            activity_id: required(&self.activity, "activity")?,
            recurrence: recurrence(&required(&self.every, "every")?)?,
            at: time_of_day(&required(&self.at, "at")?),
            tz: self.tz.clone().unwrap_or_else(local_zone),
            active: !self.inactive,
        };
        Ok(base)
    }

    fn apply(&self, mut schedule: Schedule) -> Result<Schedule, ClientError> {
        if let Some(activity) = self.activity {
            schedule.activity_id = activity;
        }
        if let Some(every) = &self.every {
            schedule.recurrence = recurrence(every)?;
        }
        if let Some(at) = &self.at {
            schedule.at = time_of_day(at);
        }
        if let Some(tz) = &self.tz {
            schedule.tz = tz.clone();
        }
        if self.active {
            schedule.active = true;
        }
        if self.inactive {
            schedule.active = false;
        }
        Ok(schedule)
    }
}
