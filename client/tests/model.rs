//! Model-based convergence: random histories of 3 to 5 devices of one
//! account, driven through the library ([`Journal`]) against the real
//! `sealsync-server` on a loopback port (through the harness's cutting
//! proxy), on SQLite and on Postgres. Devices create, edit and delete
//! records of all four kinds, sync fully or have a sync cut off (the answer
//! to a push or a pull lost after the server did the work), run with clocks
//! minutes to hours off, stay offline for many operations, and one may join
//! late with records of its own.
//!
//! After a final round (every device syncs twice, in order) every device
//! must list exactly the same records, and they must equal what a reference
//! model of PROTOCOL.md §7 computes from the history alone: per field group
//! the write with the greatest `(hlc, device id)` wins, and a delete is
//! final. The model never calls the client's merge; it only reads the stamp
//! each local write was given (checking it against §5 where the history
//! proves what the device had seen), and tracks which writes each device can
//! have seen, to check the conflict log both ways: a write that lost to
//! edits made without any chance of seeing it is logged on some device, and
//! every logged loss is a real write that lost to a write whose author had
//! not seen it.
//!
//! `PROPTEST_CASES` sets the histories per backend (default
//! [`DEFAULT_CASES`]); README ("Testing") gives the long-run command.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use common::{Backend, PASSPHRASE, Proxy, Server, account_name};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use sealsync_client::domain::{Activity, Assessment, AssessmentKind, Mood, Recurrence, Schedule};
use sealsync_client::{ClientError, DeviceId, EnableOptions, Journal, Passphrase, Progress, RecordType, WallClock};
use sealsync_envelope::UnixMillis;
use serde_json::{Map, Value};
use uuid::Uuid;

/// Histories per backend in an ordinary `cargo test`.
const DEFAULT_CASES: u32 = 100;

/// Operations per history, at most.
const MAX_OPS: usize = 40;

// ---------------------------------------------------------------------------
// Histories
// ---------------------------------------------------------------------------

/// A record kind, as the model knows it (PROTOCOL.md §4.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Mood,
    Assessment,
    Activity,
    Schedule,
}

/// How a sync goes wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cut {
    /// The answer to the push is lost once (the server stored it); the
    /// client's retry is answered `duplicate`.
    PushAnswer,
    /// The answer to the pull is lost once; the client's retry gets it.
    PullAnswer,
    /// The sync is stopped (its future dropped, as when the app quits)
    /// once the push is acknowledged, before the pull.
    StopAfterPush,
    /// The sync is stopped once the first pulled pages are merged (those
    /// that arrived while the first was opened).
    StopAfterPage,
}

/// One step of a history. Records are picked by position among the live
/// records the device lists, in creation order (modulo their number), so a
/// shrunk history still picks something.
#[derive(Debug, Clone)]
enum Op {
    Create {
        dev: usize,
        kind: Kind,
    },
    /// Changes the groups in `groups` (bit i: the kind's group i, modulo its count).
    Edit {
        dev: usize,
        pick: usize,
        groups: u8,
    },
    Delete {
        dev: usize,
        pick: usize,
    },
    Sync {
        dev: usize,
    },
    SyncCut {
        dev: usize,
        cut: Cut,
    },
    /// Time passes (every operation also takes one second).
    Wait {
        minutes: u32,
    },
}

/// A whole history: the devices, their clocks and the operations.
#[derive(Clone)]
struct History {
    devices: usize,
    /// Envelopes per pull page (small ones make a sync many pages long, so a
    /// stop after the first page is a stop in the middle).
    pull_page: u32,
    /// Each device's clock error, in minutes.
    skew_minutes: Vec<i64>,
    /// A device whose syncs are skipped during operations `from..from + len`.
    offline: Option<Offline>,
    /// A device (not the first) that joins only before operation `at`; before
    /// that it is a journal of its own.
    late: Option<Late>,
    ops: Vec<Op>,
}

/// One operation a line, numbered, so a shrunk history reads as a script.
impl std::fmt::Debug for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{} devices, clocks off by {:?} minutes", self.devices, self.skew_minutes)?;
        writeln!(f, "pull pages of {}", self.pull_page)?;
        writeln!(f, "offline: {:?}, late: {:?}", self.offline, self.late)?;
        for (i, op) in self.ops.iter().enumerate() {
            writeln!(f, "{i:3}: {op:?}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy)]
struct Offline {
    dev: usize,
    from: usize,
    len: usize,
}

#[derive(Debug, Clone, Copy)]
struct Late {
    dev: usize,
    at: usize,
}

fn op(devices: usize) -> impl Strategy<Value = Op> {
    let kind = prop_oneof![Just(Kind::Mood), Just(Kind::Assessment), Just(Kind::Activity), Just(Kind::Schedule)];
    let dev = 0..devices;
    prop_oneof![
        3 => (dev.clone(), kind).prop_map(|(dev, kind)| Op::Create { dev, kind }),
        5 => (dev.clone(), 0..8usize, 1..8u8).prop_map(|(dev, pick, groups)| Op::Edit { dev, pick, groups }),
        1 => (dev.clone(), 0..8usize).prop_map(|(dev, pick)| Op::Delete { dev, pick }),
        3 => dev.clone().prop_map(|dev| Op::Sync { dev }),
        2 => (dev, prop_oneof![
            Just(Cut::PushAnswer),
            Just(Cut::PullAnswer),
            Just(Cut::StopAfterPush),
            Just(Cut::StopAfterPage)
        ])
        .prop_map(|(dev, cut)| Op::SyncCut { dev, cut }),
        1 => prop_oneof![1..60u32, 60..600u32].prop_map(|minutes| Op::Wait { minutes }),
    ]
}

/// Clock errors: none, minutes, or hours (at most 6 h either way, so two
/// devices are at most 12 h apart, inside the 24 h bound of §5).
fn skew() -> impl Strategy<Value = i64> {
    prop_oneof![Just(0i64), -59..60i64, -360..361i64]
}

fn history() -> impl Strategy<Value = History> {
    (3..=5usize, prop_oneof![1..4u32, Just(1000)]).prop_flat_map(|(devices, pull_page)| {
        (
            proptest::collection::vec(skew(), devices),
            proptest::option::of((0..devices, 0..MAX_OPS, 5..30usize)),
            proptest::option::of((1..devices, 0..MAX_OPS + 1)),
            proptest::collection::vec(op(devices), 1..=MAX_OPS),
        )
            .prop_map(move |(skew_minutes, offline, late, ops)| History {
                devices,
                pull_page,
                skew_minutes,
                offline: offline.map(|(dev, from, len)| Offline { dev, from, len }),
                late: late.map(|(dev, at)| Late { dev, at }),
                ops,
            })
    })
}

// ---------------------------------------------------------------------------
// The reference model's view of records (PROTOCOL.md §4.8, written out here
// rather than taken from the client)
// ---------------------------------------------------------------------------

/// Each kind's field groups: name, and the record JSON fields it holds
/// (derived fields ride with the group they derive from).
fn groups(kind: Kind) -> &'static [(&'static str, &'static [&'static str])] {
    match kind {
        Kind::Mood => &[("score", &["score"]), ("note", &["note"]), ("tags", &["tags"])],
        Kind::Assessment => &[("answers", &["kind", "answers", "total", "severity", "item9_flag"])],
        Kind::Activity => &[
            ("name", &["name"]),
            ("category", &["category"]),
            ("minutes", &["minutes"]),
            ("enjoyment", &["enjoyment"]),
            ("mastery", &["mastery"]),
            ("when", &["when"]),
            ("note", &["note"]),
        ],
        Kind::Schedule => {
            &[("activity", &["activity_id"]), ("timing", &["every", "days", "at", "tz"]), ("active", &["active"])]
        }
    }
}

/// A group's value: its fields of a record's JSON.
fn group_value(kind: Kind, group: usize, fields: &Value) -> Value {
    let mut out = Map::new();
    for &name in groups(kind)[group].1 {
        if let Some(v) = fields.get(name) {
            out.insert(name.to_owned(), v.clone());
        }
    }
    Value::Object(out)
}

/// Record types the model drives: a fresh record, and a change of one group
/// to a value it did not have (numbered `n`, unique in the history).
trait Driven: RecordType {
    const MODEL: Kind;
    fn fresh(n: u64) -> Self;
    fn change(&self, group: usize, n: u64) -> Self;
}

/// `n` as `len` digits base 4 (assessment answers).
fn base4(n: u64, len: usize) -> Vec<u8> {
    (0..len).map(|i| ((n >> (2 * i)) & 3) as u8).collect()
}

/// A value in `0..=max` (or none) other than `current`.
fn other_rating(current: Option<u8>, n: u64, max: u8) -> Option<u8> {
    if current.is_some() && n.is_multiple_of(4) {
        return None;
    }
    let base = current.map_or(0, |c| c as u64 + 1);
    Some(((base + n % max as u64) % (max as u64 + 1)) as u8)
}

impl Driven for Mood {
    const MODEL: Kind = Kind::Mood;
    fn fresh(n: u64) -> Self {
        Mood { score: 1 + (n % 10) as u8, note: format!("mood {n}"), tags: vec![format!("t{n}")] }
    }
    fn change(&self, group: usize, n: u64) -> Self {
        let mut m = self.clone();
        match group {
            0 => m.score = 1 + ((m.score as u64 - 1 + 1 + n % 9) % 10) as u8,
            1 => m.note = format!("note {n}"),
            _ => m.tags = (0..=n % 2).map(|i| format!("t{n}-{i}")).collect(),
        }
        m
    }
}

impl Driven for Assessment {
    const MODEL: Kind = Kind::Assessment;
    fn fresh(n: u64) -> Self {
        let kind = if n.is_multiple_of(2) { AssessmentKind::Phq9 } else { AssessmentKind::Gad7 };
        Assessment::new(kind, base4(n, kind.items())).unwrap()
    }
    fn change(&self, _group: usize, n: u64) -> Self {
        let mut answers = base4(n.wrapping_mul(2_654_435_761), self.kind.items());
        if answers == self.answers {
            answers[0] = (answers[0] + 1) % 4;
        }
        Assessment::new(self.kind, answers).unwrap()
    }
}

impl Driven for Activity {
    const MODEL: Kind = Kind::Activity;
    fn fresh(n: u64) -> Self {
        Activity {
            name: format!("activity {n}"),
            category: Some(format!("category {n}")),
            minutes: Some((n % 1441) as u32),
            enjoyment: Some((n % 11) as u8),
            mastery: Some((n / 11 % 11) as u8),
            when: 1_700_000_000_000 + n,
            note: format!("did {n}"),
        }
    }
    fn change(&self, group: usize, n: u64) -> Self {
        let mut a = self.clone();
        match group {
            0 => a.name = format!("activity {n}"),
            1 => a.category = (a.category.is_none() || !n.is_multiple_of(3)).then(|| format!("category {n}")),
            2 => {
                a.minutes = match a.minutes {
                    Some(_) if n.is_multiple_of(4) => None,
                    m => Some(((m.map_or(0, |m| m as u64 + 1) + n % 1440) % 1441) as u32),
                }
            }
            3 => a.enjoyment = other_rating(a.enjoyment, n, 10),
            4 => a.mastery = other_rating(a.mastery, n, 10),
            5 => a.when = 1_700_000_000_000 + 1_000_000 + n,
            _ => a.note = format!("note {n}"),
        }
        a
    }
}

const ZONES: [&str; 4] = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC"];

fn recurrence(n: u64) -> Recurrence {
    match n % 3 {
        0 => Recurrence::Once,
        1 => Recurrence::Daily,
        _ => Recurrence::Weekly(vec!["mon".into(), "thu".into()]),
    }
}

impl Driven for Schedule {
    const MODEL: Kind = Kind::Schedule;
    fn fresh(n: u64) -> Self {
        Schedule {
            activity_id: Uuid::from_u128(n as u128 + 1),
            recurrence: recurrence(n),
            at: format!("{:02}:{:02}", n / 60 % 24, n % 60),
            tz: ZONES[(n % 4) as usize].into(),
            active: n.is_multiple_of(2),
        }
    }
    fn change(&self, group: usize, n: u64) -> Self {
        let mut s = self.clone();
        match group {
            0 => s.activity_id = Uuid::from_u128((1u128 << 64) + n as u128),
            1 => {
                // A new time of day (always different), with some zone and recurrence.
                let (h, m) = s.at.split_once(':').unwrap();
                let minute = h.parse::<u64>().unwrap() * 60 + m.parse::<u64>().unwrap();
                let next = (minute + 1 + n % 1439) % 1440;
                s.at = format!("{:02}:{:02}", next / 60, next % 60);
                s.tz = ZONES[(n / 3 % 4) as usize].into();
                s.recurrence = recurrence(n / 7);
            }
            _ => s.active = !s.active,
        }
        s
    }
}

/// Runs `$body` with `$t` the record type of `$kind`.
macro_rules! with_kind {
    ($kind:expr, $t:ident => $body:expr) => {
        match $kind {
            Kind::Mood => {
                type $t = Mood;
                $body
            }
            Kind::Assessment => {
                type $t = Assessment;
                $body
            }
            Kind::Activity => {
                type $t = Activity;
                $body
            }
            Kind::Schedule => {
                type $t = Schedule;
                $body
            }
        }
    };
}

// ---------------------------------------------------------------------------
// Devices
// ---------------------------------------------------------------------------

/// A device's clock: the history's time plus its error.
#[derive(Debug)]
struct SkewedClock {
    time: Arc<AtomicU64>,
    skew_ms: i64,
}

impl WallClock for SkewedClock {
    fn now(&self) -> UnixMillis {
        UnixMillis((self.time.load(Ordering::SeqCst) as i64 + self.skew_ms) as u64)
    }
}

struct Device {
    journal: Journal,
    clock: Arc<SkewedClock>,
    id: Option<DeviceId>,
    _dir: tempfile::TempDir,
}

// ---------------------------------------------------------------------------
// What happened: the model's record of the history
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Event {
    /// A group written (a create writes every group).
    Write {
        rec: usize,
        group: usize,
        value: Value,
        hlc: u64,
        dev: usize,
    },
    Delete {
        rec: usize,
        hlc: u64,
        dev: usize,
        deleted_at: u64,
    },
}

impl Event {
    fn hlc(&self) -> u64 {
        match self {
            Event::Write { hlc, .. } | Event::Delete { hlc, .. } => *hlc,
        }
    }
}

struct Rec {
    id: Uuid,
    kind: Kind,
    created_at: u64,
}

/// Event numbers, as sets.
type Seen = BTreeSet<usize>;

struct Model {
    recs: Vec<Rec>,
    events: Vec<Event>,
    /// Per event: the events its device may have seen when it made it.
    may_have_seen: Vec<Seen>,
    /// Per event: the events its device had certainly seen when it made it.
    had_seen: Vec<Seen>,
    /// Per device: what it may have seen (over-approximated through every
    /// sync attempt) and what it has certainly seen (through completed syncs).
    may: Vec<Seen>,
    certain: Vec<Seen>,
    /// The same for the server.
    server_may: Seen,
    server_certain: Seen,
    /// Per device: the greatest stamp it issued.
    last_stamp: Vec<u64>,
}

impl Model {
    fn new(devices: usize) -> Self {
        Model {
            recs: Vec::new(),
            events: Vec::new(),
            may_have_seen: Vec::new(),
            had_seen: Vec::new(),
            may: vec![Seen::new(); devices],
            certain: vec![Seen::new(); devices],
            server_may: Seen::new(),
            server_certain: Seen::new(),
            last_stamp: vec![0; devices],
        }
    }

    /// Checks a new local stamp against §5 and what the device had seen;
    /// then records the event.
    fn local(&mut self, dev: usize, now: u64, event: Event) -> Result<(), String> {
        let hlc = event.hlc();
        if hlc <= self.last_stamp[dev] {
            return Err(format!("device {dev} stamped {hlc:#x}, not above its previous {:#x}", self.last_stamp[dev]));
        }
        if hlc >> 16 < now || hlc >> 16 > now + 86_400_000 {
            return Err(format!("device {dev} stamped {hlc:#x} at clock {now}: wall part outside [now, now + 24 h]"));
        }
        for &seen in &self.certain[dev] {
            if self.events[seen].hlc() >= hlc {
                return Err(format!(
                    "device {dev} stamped {hlc:#x} after it had merged {:?}, stamped at or above it (§5)",
                    self.events[seen]
                ));
            }
        }
        self.last_stamp[dev] = hlc;
        let e = self.events.len();
        self.events.push(event);
        self.may_have_seen.push(self.may[dev].clone());
        self.had_seen.push(self.certain[dev].clone());
        self.may[dev].insert(e);
        self.certain[dev].insert(e);
        Ok(())
    }

    /// Another group written by the change just recorded, under its stamp.
    fn same_stamp(&mut self, dev: usize, event: Event) {
        let e = self.events.len();
        self.events.push(event);
        self.may_have_seen.push(self.may_have_seen[e - 1].clone());
        self.had_seen.push(self.had_seen[e - 1].clone());
        self.may[dev].insert(e);
        self.certain[dev].insert(e);
    }

    /// A sync was attempted: whatever got through, at most everything went both ways.
    fn attempted(&mut self, dev: usize) {
        self.server_may.extend(self.may[dev].iter().copied());
        self.may[dev] = self.server_may.clone();
    }

    /// A sync completed: the device's writes are on the server, and the
    /// device has merged everything the server certainly held.
    fn completed(&mut self, dev: usize) {
        self.server_certain.extend(self.certain[dev].iter().copied());
        self.certain[dev] = self.server_certain.clone();
    }

    /// The rec index of a record id.
    fn rec_of(&self, id: Uuid) -> Option<usize> {
        self.recs.iter().position(|r| r.id == id)
    }
}

// ---------------------------------------------------------------------------
// Running a history
// ---------------------------------------------------------------------------

struct Run<'a> {
    rt: &'a tokio::runtime::Runtime,
    proxy: &'a Proxy,
    account: String,
    time: Arc<AtomicU64>,
    devices: Vec<Device>,
    joined: Vec<bool>,
    model: Model,
    /// Numbers values, so every written value is new.
    counter: u64,
}

fn err(what: &str, e: ClientError) -> String {
    format!("{what}: {e} ({e:?})")
}

impl Run<'_> {
    fn now(&self, dev: usize) -> u64 {
        self.devices[dev].clock.now().0
    }

    fn next(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    fn options(&self, dev: usize) -> EnableOptions {
        EnableOptions {
            server_url: self.proxy.url.clone(),
            account_name: self.account.clone(),
            passphrase: Passphrase::new(PASSPHRASE.into()).unwrap(),
            create: dev == 0,
            allow_insecure_http: false,
            device_name: format!("device {dev}"),
            recovery_key: false,
        }
    }

    /// Joins these devices: the first device creates the account, then the
    /// others log in at once (each login spends a passphrase derivation).
    fn join(&mut self, devs: &[usize]) -> Result<(), String> {
        let waves: Vec<Vec<usize>> = match devs.split_first() {
            Some((0, rest)) => vec![vec![0], rest.to_vec()],
            _ => vec![devs.to_vec()],
        };
        for wave in waves {
            let mut options: Vec<Option<EnableOptions>> =
                (0..self.devices.len()).map(|dev| wave.contains(&dev).then(|| self.options(dev))).collect();
            let rt = self.rt;
            std::thread::scope(|scope| {
                let threads: Vec<_> = self
                    .devices
                    .iter_mut()
                    .zip(&mut options)
                    .filter_map(|(device, options)| Some((device, options.take()?)))
                    .map(|(device, options)| {
                        scope.spawn(move || {
                            let enabled =
                                rt.block_on(device.journal.enable_sync(options)).map_err(|e| err("enable", e))?;
                            device.id = Some(enabled.state.device_id);
                            Ok::<(), String>(())
                        })
                    })
                    .collect();
                threads.into_iter().try_for_each(|t| t.join().expect("a joining thread does not panic"))
            })?;
            for &dev in &wave {
                self.joined[dev] = true;
            }
        }
        Ok(())
    }

    /// The live records a device lists, as model record numbers, in creation order.
    fn live(&self, dev: usize) -> Result<Vec<usize>, String> {
        let journal = &self.devices[dev].journal;
        let mut ids = Vec::new();
        for kind in [Kind::Mood, Kind::Assessment, Kind::Activity, Kind::Schedule] {
            with_kind!(kind, T => {
                for record in journal.list::<T>(false).map_err(|e| err("list", e))? {
                    ids.push(record.id);
                }
            });
        }
        let mut recs = ids
            .iter()
            .map(|&id| self.model.rec_of(id).ok_or(format!("device {dev} lists unknown record {id}")))
            .collect::<Result<Vec<_>, _>>()?;
        recs.sort_unstable();
        Ok(recs)
    }

    fn create<T: Driven>(&mut self, dev: usize) -> Result<(), String> {
        let n = self.next();
        let fields = T::fresh(n);
        let now = self.now(dev);
        let journal = &mut self.devices[dev].journal;
        let id = journal.create(&fields).map_err(|e| err("create", e))?;
        let record = journal.get::<T>(id).map_err(|e| err("get", e))?;
        if record.created_at != now || record.fields.as_ref() != Some(&fields) {
            return Err(format!("device {dev} created {fields:?} at {now} but holds {record:?}"));
        }
        let rec = self.model.recs.len();
        self.model.recs.push(Rec { id, kind: T::MODEL, created_at: now });
        let json = serde_json::to_value(&fields).unwrap();
        let hlc = record.hlc;
        // One stamp for all groups: one event per group, the stamp checked once.
        for group in 0..groups(T::MODEL).len() {
            let event = Event::Write { rec, group, value: group_value(T::MODEL, group, &json), hlc, dev };
            match group {
                0 => self.model.local(dev, now, event)?,
                _ => self.model.same_stamp(dev, event),
            }
        }
        Ok(())
    }

    fn edit<T: Driven>(&mut self, dev: usize, rec: usize, mask: u8) -> Result<(), String> {
        let id = self.model.recs[rec].id;
        let count = groups(T::MODEL).len();
        let mut chosen: BTreeSet<usize> = (0..8).filter(|b| mask >> b & 1 == 1).map(|b| b % count).collect();
        if chosen.is_empty() {
            chosen.insert(mask as usize % count);
        }
        let current = self.devices[dev].journal.get::<T>(id).map_err(|e| err("get", e))?;
        let before = current.fields.ok_or(format!("device {dev} listed {id} as live, but it is deleted"))?;
        let mut after = before.clone();
        for &group in &chosen {
            let n = self.next();
            after = after.change(group, n);
        }
        let (old, new) = (serde_json::to_value(&before).unwrap(), serde_json::to_value(&after).unwrap());
        let changed: Vec<usize> =
            (0..count).filter(|&g| group_value(T::MODEL, g, &old) != group_value(T::MODEL, g, &new)).collect();
        let now = self.now(dev);
        let journal = &mut self.devices[dev].journal;
        let updated = journal.update(id, &after).map_err(|e| err("update", e))?;
        if updated == changed.is_empty() {
            return Err(format!("device {dev}: update of groups {changed:?} answered {updated}"));
        }
        let record = journal.get::<T>(id).map_err(|e| err("get", e))?;
        if record.fields.as_ref() != Some(&after) {
            return Err(format!("device {dev} wrote {after:?} but holds {record:?}"));
        }
        for (i, group) in changed.into_iter().enumerate() {
            let event = Event::Write { rec, group, value: group_value(T::MODEL, group, &new), hlc: record.hlc, dev };
            match i {
                0 => self.model.local(dev, now, event)?,
                _ => self.model.same_stamp(dev, event),
            }
        }
        Ok(())
    }

    fn delete<T: Driven>(&mut self, dev: usize, rec: usize) -> Result<(), String> {
        let id = self.model.recs[rec].id;
        let now = self.now(dev);
        let journal = &mut self.devices[dev].journal;
        journal.delete::<T>(id).map_err(|e| err("delete", e))?;
        let record = journal.get::<T>(id).map_err(|e| err("get", e))?;
        if record.fields.is_some() || record.deleted_at != Some(now) {
            return Err(format!("device {dev} deleted {id} at {now} but holds {record:?}"));
        }
        self.model.local(dev, now, Event::Delete { rec, hlc: record.hlc, dev, deleted_at: now })
    }

    fn sync(&mut self, dev: usize, cut: Option<Cut>) -> Result<(), String> {
        match cut {
            Some(Cut::PushAnswer) => self.proxy.cut_once("POST /v1/sync/push", 1),
            Some(Cut::PullAnswer) => self.proxy.cut_once("GET /v1/sync/pull", 1),
            _ => {}
        }
        let stop = Arc::new(tokio::sync::Notify::new());
        let (notify, journal) = (stop.clone(), &mut self.devices[dev].journal);
        let mut progress = move |p: Progress| match (cut, p) {
            (Some(Cut::StopAfterPush), Progress::Pushing { done, total }) if done == total => notify.notify_one(),
            (Some(Cut::StopAfterPage), Progress::Pulling { .. }) => notify.notify_one(),
            _ => {}
        };
        let result = self.rt.block_on(async {
            tokio::select! {
                biased;
                () = stop.notified() => None,
                result = journal.sync_now(&mut progress) => Some(result),
            }
        });
        self.proxy.open();
        self.model.attempted(dev);
        match result {
            Some(Ok(_)) => {
                self.model.completed(dev);
                Ok(())
            }
            None => Ok(()),
            Some(Err(e)) => Err(err(&format!("device {dev} sync (cut: {cut:?})"), e)),
        }
    }

    fn step(&mut self, history: &History, i: usize, op: &Op) -> Result<(), String> {
        self.time.fetch_add(1000, Ordering::SeqCst);
        let offline =
            |dev: usize| history.offline.is_some_and(|o| o.dev == dev && (o.from..o.from + o.len).contains(&i));
        match *op {
            Op::Create { dev, kind } => with_kind!(kind, T => self.create::<T>(dev)),
            Op::Edit { dev, pick, groups } => {
                let live = self.live(dev)?;
                match live.get(pick % live.len().max(1)) {
                    Some(&rec) => with_kind!(self.model.recs[rec].kind, T => self.edit::<T>(dev, rec, groups)),
                    None => Ok(()),
                }
            }
            Op::Delete { dev, pick } => {
                let live = self.live(dev)?;
                match live.get(pick % live.len().max(1)) {
                    Some(&rec) => with_kind!(self.model.recs[rec].kind, T => self.delete::<T>(dev, rec)),
                    None => Ok(()),
                }
            }
            Op::Sync { dev } if self.joined[dev] && !offline(dev) => self.sync(dev, None),
            Op::SyncCut { dev, cut } if self.joined[dev] && !offline(dev) => self.sync(dev, Some(cut)),
            Op::Sync { .. } | Op::SyncCut { .. } => Ok(()),
            Op::Wait { minutes } => {
                self.time.fetch_add(u64::from(minutes) * 60_000, Ordering::SeqCst);
                Ok(())
            }
        }
    }
}

/// Every record a device holds (deleted ones included), as JSON by id.
fn listing(journal: &Journal) -> Result<BTreeMap<Uuid, Value>, String> {
    let mut all = BTreeMap::new();
    for kind in [Kind::Mood, Kind::Assessment, Kind::Activity, Kind::Schedule] {
        with_kind!(kind, T => {
            for record in journal.list::<T>(true).map_err(|e| err("list", e))? {
                all.insert(record.id, serde_json::to_value(&record).unwrap());
            }
        });
    }
    Ok(all)
}

/// What §7 says every device holds once it has seen every event.
fn expected(model: &Model, ids: &[DeviceId]) -> BTreeMap<Uuid, Value> {
    let dot = |hlc: u64, dev: usize| (hlc, *ids[dev].as_bytes());
    let mut all = BTreeMap::new();
    for (rec, r) in model.recs.iter().enumerate() {
        let mut object = Map::new();
        object.insert("id".into(), r.id.to_string().into());
        object.insert("created_at".into(), r.created_at.into());
        let delete = model
            .events
            .iter()
            .filter_map(|e| match *e {
                Event::Delete { rec: of, hlc, dev, deleted_at } if of == rec => Some((dot(hlc, dev), deleted_at)),
                _ => None,
            })
            .max();
        let (hlc, deleted_at) = match delete {
            Some(((hlc, _), deleted_at)) => (hlc, Value::from(deleted_at)),
            None => {
                for group in 0..groups(r.kind).len() {
                    let winner = model
                        .events
                        .iter()
                        .filter_map(|e| match e {
                            Event::Write { rec: of, group: g, value, hlc, dev } if *of == rec && *g == group => {
                                Some((dot(*hlc, *dev), value.to_string(), value))
                            }
                            _ => None,
                        })
                        .max_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)))
                        .expect("a record's creation writes every group");
                    object.extend(winner.2.as_object().unwrap().clone());
                }
                let hlc = model
                    .events
                    .iter()
                    .filter_map(|e| match *e {
                        Event::Write { rec: of, hlc, .. } if of == rec => Some(hlc),
                        _ => None,
                    })
                    .max()
                    .unwrap();
                (hlc, Value::Null)
            }
        };
        object.insert("updated_at".into(), (hlc >> 16).into());
        object.insert("hlc".into(), hlc.into());
        object.insert("deleted_at".into(), deleted_at);
        all.insert(r.id, Value::Object(object));
    }
    all
}

/// The conflict log against §7, both ways.
fn check_conflicts(run: &Run<'_>, ids: &[DeviceId], final_state: &BTreeMap<Uuid, Value>) -> Result<(), String> {
    let model = &run.model;
    let dev_of = |id: Option<DeviceId>, me: usize| id.map_or(Some(me), |id| ids.iter().position(|&d| d == id));
    // Every device's log: (rec, group, lost value, lost dot) -> ...
    let mut logged_values: BTreeSet<(usize, usize, String)> = BTreeSet::new();
    for (me, device) in run.devices.iter().enumerate() {
        let status = device.journal.sync_status().map_err(|e| err("status", e))?;
        let mut once = BTreeSet::new();
        for conflicted in status.conflicts {
            let rec = model.rec_of(conflicted.record_id).ok_or("a conflict on an unknown record")?;
            let kind = model.recs[rec].kind;
            let entries = with_kind!(kind, T => device.journal.conflicts::<T>(conflicted.record_id))
                .map_err(|e| err("conflicts", e))?;
            for c in entries {
                let group = groups(kind)
                    .iter()
                    .position(|(name, _)| *name == c.group)
                    .ok_or(format!("device {me} logged unknown group {}", c.group))?;
                let value = group_value(kind, group, &c.fields);
                let (lost_dev, won_dev) = (dev_of(c.lost_on, me), dev_of(c.won_on, me));
                let find = |hlc: u64, dev: Option<usize>, value: Option<&Value>| {
                    model.events.iter().position(|e| match e {
                        Event::Write { rec: r, group: g, value: v, hlc: h, dev: d } => {
                            *r == rec && *g == group && *h == hlc && Some(*d) == dev && value.is_none_or(|x| x == v)
                        }
                        Event::Delete { .. } => false,
                    })
                };
                let lost = find(c.lost_hlc, lost_dev, Some(&value))
                    .ok_or(format!("device {me} logged a loss that is no write of the history: {c:?}"))?;
                let won = find(c.won_hlc, won_dev, None)
                    .ok_or(format!("device {me} logged a winner that is no write of the history: {c:?}"))?;
                let key = |hlc: u64, dev: usize| (hlc, *ids[dev].as_bytes());
                if key(c.won_hlc, won_dev.unwrap()) <= key(c.lost_hlc, lost_dev.unwrap()) {
                    return Err(format!("device {me} logged a loss to a smaller dot: {c:?}"));
                }
                if model.had_seen[won].contains(&lost) {
                    return Err(format!(
                        "device {me} logged as a conflict a write the winner's author had already merged: {c:?}"
                    ));
                }
                if !once.insert((rec, group, c.lost_hlc, lost_dev)) {
                    return Err(format!("device {me} logged the same loss twice: {c:?}"));
                }
                logged_values.insert((rec, group, value.to_string()));
            }
        }
    }
    // Writes that lost to edits made without any chance of seeing them.
    for (rec, r) in model.recs.iter().enumerate() {
        if final_state[&r.id]["deleted_at"] != Value::Null {
            continue;
        }
        for group in 0..groups(r.kind).len() {
            let writes: Vec<usize> = (0..model.events.len())
                .filter(
                    |&e| matches!(&model.events[e], Event::Write { rec: x, group: g, .. } if *x == rec && *g == group),
                )
                .collect();
            let value_of = |e: usize| match &model.events[e] {
                Event::Write { value, dev, .. } => (value.clone(), *dev),
                Event::Delete { .. } => unreachable!(),
            };
            let final_value = group_value(r.kind, group, &final_state[&r.id]);
            for &lost in &writes {
                let (value, dev) = value_of(lost);
                let last_of_its_device = !writes.iter().any(|&w| w > lost && value_of(w).1 == dev);
                let others = || writes.iter().filter(|&&w| value_of(w).1 != dev);
                let unseen = others().all(|&w| !model.may_have_seen[w].contains(&lost));
                // A loss to an equal value is no loss, and may hide this
                // one behind that value's dot (§7 compares dots).
                let unique = others().all(|&w| value_of(w).0 != value);
                if value != final_value
                    && last_of_its_device
                    && unseen
                    && unique
                    && !logged_values.contains(&(rec, group, value.to_string()))
                {
                    return Err(format!(
                        "the {} of record {rec} written by device {dev} ({value}) lost to edits made without \
                         seeing it, and no device logged it",
                        groups(r.kind)[group].0
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Runs one history from scratch (a new account and new devices) and checks it.
fn check(rt: &tokio::runtime::Runtime, proxy: &Proxy, history: &History) -> Result<(), String> {
    let time = Arc::new(AtomicU64::new(UnixMillis::now().0));
    let mut devices = Vec::new();
    for dev in 0..history.devices {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(SkewedClock { time: time.clone(), skew_ms: history.skew_minutes[dev] * 60_000 });
        let mut journal = Journal::open_with_clock(dir.path(), clock.clone()).map_err(|e| err("open", e))?;
        journal.set_pull_page(std::num::NonZeroU32::new(history.pull_page).unwrap());
        devices.push(Device { journal, clock, id: None, _dir: dir });
    }
    let mut run = Run {
        rt,
        proxy,
        account: account_name(),
        time,
        devices,
        joined: vec![false; history.devices],
        model: Model::new(history.devices),
        counter: 0,
    };
    let late = history.late.filter(|l| l.dev < history.devices);
    let t0 = std::time::Instant::now();
    let first: Vec<usize> = (0..history.devices).filter(|&dev| late.is_none_or(|l| l.dev != dev)).collect();
    run.join(&first)?;
    let t1 = std::time::Instant::now();
    for (i, op) in history.ops.iter().enumerate() {
        if let Some(l) = late
            && l.at == i
        {
            run.join(&[l.dev])?;
        }
        run.step(history, i, op).map_err(|e| format!("operation {i} ({op:?}): {e}"))?;
    }
    if let Some(l) = late
        && !run.joined[l.dev]
    {
        run.join(&[l.dev])?;
    }
    for round in 0..2 {
        for dev in 0..history.devices {
            run.time.fetch_add(1000, Ordering::SeqCst);
            run.sync(dev, None).map_err(|e| format!("final round {round}: {e}"))?;
        }
    }
    let t2 = std::time::Instant::now();
    if std::env::var_os("MODEL_TRACE").is_some() {
        eprintln!("joins {:?} ops {:?} ({} ops)", t1 - t0, t2 - t1, history.ops.len());
    }
    let ids: Vec<DeviceId> = run.devices.iter().map(|d| d.id.expect("every device joined")).collect();
    let want = expected(&run.model, &ids);
    for (dev, device) in run.devices.iter().enumerate() {
        let got = listing(&device.journal)?;
        if got != want {
            let differ: Vec<String> = want
                .keys()
                .chain(got.keys())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .filter(|id| got.get(id) != want.get(id))
                .map(|id| {
                    let rec = run.model.rec_of(*id).map_or("?".into(), |r| r.to_string());
                    let show = |v: Option<&Value>| v.map_or("nothing".into(), Value::to_string);
                    format!("record {rec}:\n  device has {}\n  model says {}", show(got.get(id)), show(want.get(id)))
                })
                .collect();
            return Err(format!("device {dev} differs from the model:\n{}", differ.join("\n")));
        }
        let status = device.journal.sync_status().map_err(|e| err("status", e))?;
        if status.pending != 0 || !status.quarantined.is_empty() {
            return Err(format!(
                "device {dev} ends with {} pending and quarantine {:?}",
                status.pending, status.quarantined
            ));
        }
    }
    check_conflicts(&run, &ids, &want)
}

// ---------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------

fn model_based_convergence(backend: Backend) {
    // Many short-lived accounts from one address: lift the per-address budget.
    let env = [("SEALSYNC_AUTH_RATE_PER_MINUTE", "60000"), ("SEALSYNC_AUTH_BURST", "10000")];
    let Some(server) = Server::start_with(backend, &env) else { return };
    let proxy = Proxy::new(&server);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(DEFAULT_CASES);
    let config = Config { cases, max_shrink_iters: 512, failure_persistence: None, ..Config::default() };
    let checked = AtomicU64::new(0);
    let started = std::time::Instant::now();
    let mut runner = TestRunner::new(config);
    let result = runner.run(&history(), |history| {
        checked.fetch_add(1, Ordering::Relaxed);
        check(&rt, &proxy, &history).map_err(TestCaseError::fail)
    });
    eprintln!(
        "model ({backend:?}): {} histories run (shrinking included) in {:.1?}",
        checked.load(Ordering::Relaxed),
        started.elapsed()
    );
    match result {
        Ok(()) => {}
        Err(TestError::Fail(why, history)) => panic!("minimal failing history:\n{history:?}\n{why}"),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn sqlite() {
    model_based_convergence(Backend::Sqlite);
}

#[test]
fn postgres() {
    model_based_convergence(Backend::Postgres);
}
