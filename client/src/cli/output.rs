//! Printing: JSON for scripts (`--json`), short lines for people.

use chrono::{Local, TimeZone};
use sealsync_client::{Record, RecordType};
use serde::Serialize;

/// Prints a value as pretty JSON on stdout.
pub fn json<T: Serialize>(value: &T) {
    println!("{}", serde_json::to_string_pretty(value).expect("output serializes"));
}

/// One JSON value on one line, for a script reading while the command goes on.
pub fn json_line<T: Serialize>(value: &T) {
    println!("{}", serde_json::to_string(value).expect("output serializes"));
}

/// Unix ms as local date and time.
pub fn time(ms: u64) -> String {
    Local
        .timestamp_millis_opt(i64::try_from(ms).unwrap_or(i64::MAX))
        .single()
        .map_or_else(|| ms.to_string(), |t| t.format("%Y-%m-%d %H:%M").to_string())
}

/// One conflict log entry: its number, the group, the value that lost, and when.
pub fn conflict_line(conflict: &sealsync_client::Conflict) -> String {
    let fields = match &conflict.fields {
        serde_json::Value::Object(map) => map.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("  "),
        other => other.to_string(),
    };
    let on =
        |d: &Option<sealsync_client::DeviceId>| d.map_or_else(|| "this device".to_owned(), |d| format!("device {d}"));
    format!(
        "#{}  {}: {fields}  (edited {} on {}, lost to an edit on {})",
        conflict.id,
        conflict.group,
        time(conflict.lost_at),
        on(&conflict.lost_on),
        on(&conflict.won_on)
    )
}

/// Longest text shown for one field in a listing; `show` prints it whole.
const LISTED_TEXT: usize = 60;

/// A text field on one line: line breaks shown as ` / `, and cut with an
/// ellipsis past [`LISTED_TEXT`] characters.
fn one_line(text: &str) -> String {
    let joined = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" / ");
    match joined.char_indices().nth(LISTED_TEXT) {
        Some((cut, _)) => format!("{}…", &joined[..cut]),
        None => joined,
    }
}

/// One record for people: id, local creation time, and its fields as
/// `name=value` (times as local dates). In a listing (`full` false) it is
/// one line, long or multi-line text cut short; `show` prints it whole.
pub fn record_text<T: RecordType>(record: &Record<T>, full: bool) -> String {
    let fields = match &record.fields {
        None => "(deleted)".to_owned(),
        Some(fields) => match serde_json::to_value(fields) {
            Ok(serde_json::Value::Object(map)) => map
                .iter()
                .filter(|(_, v)| !v.is_null() && v.as_str() != Some("") && v.as_array().is_none_or(|a| !a.is_empty()))
                .map(|(k, v)| match v {
                    serde_json::Value::String(s) if full => format!("{k}={s}"),
                    serde_json::Value::String(s) => format!("{k}={}", one_line(s)),
                    serde_json::Value::Number(n) if k == "when" => format!("{k}={}", time(n.as_u64().unwrap_or(0))),
                    other => format!("{k}={other}"),
                })
                .collect::<Vec<_>>()
                .join("  "),
            _ => String::new(),
        },
    };
    format!("{}  {}  {fields}", record.id, time(record.created_at))
}

/// [`record_text`] as one line of a listing.
pub fn record_line<T: RecordType>(record: &Record<T>) -> String {
    record_text(record, false)
}

/// One quarantined envelope: its position, when, why, and what it claims to be.
pub fn quarantine_line(entry: &sealsync_client::QuarantineEntry) -> String {
    let claims = match (entry.record_id, entry.device_id, entry.device_seq) {
        (Some(record), Some(device), Some(seq)) => format!("  (record {record}, device {device}, counter {seq})"),
        _ => String::new(),
    };
    format!(
        "#{}  {}  {}{}{claims}",
        entry.server_seq,
        time(entry.received_at),
        entry.reason,
        if entry.deferred { " (will retry)" } else { "" }
    )
}

/// Shown (never in `--json`, which keeps `item9_flag`) whenever a PHQ-9 with
/// item 9 above 0 is added or shown: that item asks about thoughts of being
/// better off dead or of self-harm.
pub const SAFETY_NOTE: &str = "Note: this PHQ-9 answers item 9 (thoughts that you would be better off dead, or of \
hurting yourself) above 0. If you are in danger now, call your local emergency number. You can also reach a \
crisis line at any hour (in the US and Canada call or text 988; in the UK and Ireland call Samaritans on 116 123; \
elsewhere see https://findahelpline.com), and tell someone you trust or your clinician.";
