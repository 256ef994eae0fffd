//! Record bodies and merges (PROTOCOL.md §4.7, §4.8, §7): each kind's group
//! values written from the specification with a general CBOR encoder
//! (ciborium), record bodies with their stamps, and merge cases with the
//! state they must merge to.

use std::collections::BTreeMap;

use ciborium::Value;
use sealsync_envelope::{Content, DeviceId, Dot, Group, Hlc, Lost, RecordBody, Stamps, UnixMillis, Version};
use serde::{Deserialize, Serialize};

use crate::{counting, hex};

/// The canonical CBOR of a value: definite lengths, shortest integers.
pub fn cbor(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).expect("CBOR into a Vec");
    out
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

fn uint(n: u64) -> Value {
    Value::Integer(n.into())
}

/// `mood`: 1 score, 2 note, 3 tags.
pub fn mood_groups(score: u64, note: &str, tags: &[&str]) -> Vec<(u64, Vec<u8>)> {
    vec![
        (1, cbor(&uint(score))),
        (2, cbor(&text(note))),
        (3, cbor(&Value::Array(tags.iter().map(|t| text(t)).collect()))),
    ]
}

/// `assessment`: 1 `[instrument, [* answer]]`.
pub fn assessment_groups(instrument: &str, answers: &[u64]) -> Vec<(u64, Vec<u8>)> {
    vec![(1, cbor(&Value::Array(vec![text(instrument), Value::Array(answers.iter().map(|&a| uint(a)).collect())])))]
}

/// `activity`: 1 name, 2 category, 3 minutes, 4 enjoyment, 5 mastery, 6 when, 7 note.
#[allow(clippy::too_many_arguments)]
pub fn activity_groups(
    name: &str,
    category: Option<&str>,
    minutes: Option<u64>,
    enjoyment: Option<u64>,
    mastery: Option<u64>,
    when: u64,
    note: &str,
) -> Vec<(u64, Vec<u8>)> {
    let opt_uint = |n: Option<u64>| n.map_or(Value::Null, uint);
    vec![
        (1, cbor(&text(name))),
        (2, cbor(&category.map_or(Value::Null, text))),
        (3, cbor(&opt_uint(minutes))),
        (4, cbor(&opt_uint(enjoyment))),
        (5, cbor(&opt_uint(mastery))),
        (6, cbor(&uint(when))),
        (7, cbor(&text(note))),
    ]
}

/// `schedule`: 1 activity id, 2 `[every, at, tz]`, 3 active.
pub fn schedule_groups(activity: [u8; 16], days: &[&str], at: &str, tz: &str, active: bool) -> Vec<(u64, Vec<u8>)> {
    let every = match days {
        ["once"] => text("once"),
        ["daily"] => text("daily"),
        days => Value::Array(days.iter().map(|d| text(d)).collect()),
    };
    vec![
        (1, cbor(&Value::Bytes(activity.to_vec()))),
        (2, cbor(&Value::Array(vec![every, text(at), text(tz)]))),
        (3, cbor(&Value::Bool(active))),
    ]
}

/// A body whose every group was written by `dot`.
pub fn body(groups: Vec<(u64, Vec<u8>)>, dot: Dot) -> RecordBody {
    RecordBody {
        groups: groups.into_iter().map(|(id, value)| (id, Group { value, stamps: Stamps::single(dot) })).collect(),
    }
}

/// `record-body.json`: one record of each kind, from its fields to its
/// sealed envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordBodyVector {
    /// What the case shows.
    pub comment: String,
    /// The record's fields as the client's JSON shows them (derived fields
    /// included; they are not sent).
    pub fields: serde_json::Value,
    /// Each group: id, name, its value's canonical CBOR, and its stamps.
    pub groups: Vec<GroupVector>,
    /// The record body (§4.7) the payload carries as `body`.
    pub body: String,
    /// The whole sealing, as in `envelope.json`.
    pub sealed: crate::EnvelopeVector,
}

/// One group of a body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupVector {
    /// Its number.
    pub id: u64,
    /// Its name in §4.8.
    pub name: String,
    /// Canonical CBOR of its value.
    pub value: String,
    /// Per device (hex id), the stamp.
    pub stamps: Vec<StampVector>,
}

/// One entry of a group's stamps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StampVector {
    /// Device id, 16 bytes.
    pub device_id: String,
    /// Packed HLC.
    pub hlc: u64,
}

/// The stamps of a group, as JSON.
pub fn stamp_vectors(stamps: &Stamps) -> Vec<StampVector> {
    stamps.iter().map(|d| StampVector { device_id: hex(d.device.as_bytes()), hlc: d.hlc.as_u64() }).collect()
}

/// Stamps from their JSON.
pub fn stamps_from(vectors: &[StampVector]) -> Stamps {
    let mut stamps = Stamps::default();
    for v in vectors {
        let device = DeviceId::from_bytes(hex::decode(&v.device_id).expect("hex").try_into().expect("16 bytes"));
        stamps.join(&Stamps::single(Dot { hlc: Hlc::from_u64(v.hlc), device }));
    }
    stamps
}

fn group_vectors(body: &RecordBody, names: &[&str]) -> Vec<GroupVector> {
    body.groups
        .iter()
        .zip(names)
        .map(|((&id, g), name)| GroupVector {
            id,
            name: (*name).into(),
            value: hex(&g.value),
            stamps: stamp_vectors(&g.stamps),
        })
        .collect()
}

/// A device of the merge and body cases: `counting(start)`.
pub fn device(start: u8) -> DeviceId {
    DeviceId::from_bytes(counting(start))
}

/// A stamp at `wall` ms, counter 0.
pub fn dot(wall: u64, device: DeviceId) -> Dot {
    Dot { hlc: Hlc::new(wall, 0).expect("48-bit"), device }
}

/// The record-body cases; `seal` seals a payload as `envelope.json` does.
pub fn record_body_vectors(
    seal: impl Fn(&str, &str, Hlc, Option<u64>, Vec<u8>, u64, [u8; 24]) -> crate::EnvelopeVector,
) -> Vec<RecordBodyVector> {
    const T: u64 = 1_764_028_800_000;
    let (a, b) = (device(0xc0), device(0xa0));
    // The mood: created on A; B later wrote the note, having seen A's.
    let mut mood = body(mood_groups(6, "walked by the river", &["outside"]), dot(T, a));
    let note = mood.groups.get_mut(&2).expect("group 2");
    note.stamps.record(dot(T + 5_000, b));
    let activity_id = counting::<16>(0x90);
    let cases: Vec<(&str, &str, serde_json::Value, RecordBody, Vec<&str>)> = vec![
        (
            "a mood entry: three groups; the note was last written on another device, which had seen the first",
            "mood",
            serde_json::json!({ "score": 6, "note": "walked by the river", "tags": ["outside"] }),
            mood,
            vec!["score", "note", "tags"],
        ),
        (
            "a PHQ-9: one group, instrument and answers; total, band and flag are derived by the receiver, never sent",
            "assessment",
            serde_json::json!({ "kind": "phq9", "answers": [1, 0, 2, 1, 0, 1, 0, 0, 1], "total": 6,
                                "severity": "mild", "item9_flag": true }),
            body(assessment_groups("phq9", &[1, 0, 2, 1, 0, 1, 0, 0, 1]), dot(T, a)),
            vec!["answers"],
        ),
        (
            "an activity: one group per field; absent optional fields are null",
            "activity",
            serde_json::json!({ "name": "walk", "category": "exercise", "minutes": 30, "enjoyment": 7,
                                "mastery": null, "when": 1_764_028_000_000u64, "note": "" }),
            body(activity_groups("walk", Some("exercise"), Some(30), Some(7), None, 1_764_028_000_000, ""), dot(T, a)),
            vec!["name", "category", "minutes", "enjoyment", "mastery", "when", "note"],
        ),
        (
            "a schedule: the activity's id as 16 bytes; recurrence, time and zone in one group",
            "schedule",
            serde_json::json!({ "activity_id": uuid::Uuid::from_bytes(activity_id).to_string(), "every": "weekly",
                                "days": ["mon", "wed", "fri"], "at": "07:30", "tz": "Europe/Berlin", "active": true }),
            body(schedule_groups(activity_id, &["mon", "wed", "fri"], "07:30", "Europe/Berlin", true), dot(T, a)),
            vec!["activity", "timing", "active"],
        ),
    ];
    cases
        .into_iter()
        .enumerate()
        .map(|(i, (comment, kind, fields, body, names))| {
            let hlc = body.max_dot().expect("groups").hlc;
            let bytes = body.encode();
            let sealed = seal(comment, kind, hlc, None, bytes.clone(), 20 + i as u64, counting(0x30 + i as u8));
            RecordBodyVector {
                comment: comment.into(),
                fields,
                groups: group_vectors(&body, &names),
                body: hex(bytes),
                sealed,
            }
        })
        .collect()
}

/// `merge.json`: versions of one record and the state they merge to (§7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeVector {
    /// What the case shows.
    pub comment: String,
    /// The versions, as a device holds or receives them.
    pub versions: Vec<VersionVector>,
    /// The state every order of merging them gives.
    pub merged: VersionVector,
    /// Merging `versions[1]` into `versions[0]`: the concurrent values that lost.
    pub lost: Vec<LostVector>,
}

/// A version: live with groups, or deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionVector {
    /// Unix ms.
    pub created_at: u64,
    /// For a tombstone: the delete.
    pub deleted: Option<DeleteVector>,
    /// For a live version: its groups (values as hex CBOR).
    pub groups: Vec<GroupVector>,
}

/// A delete: its stamp, device and time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteVector {
    /// Packed HLC of the delete.
    pub hlc: u64,
    /// The deleting device (the envelope's device_id).
    pub device_id: String,
    /// Unix ms of the delete (payload key 4).
    pub deleted_at: u64,
}

/// A value that lost to a concurrent edit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LostVector {
    /// Group id.
    pub group: u64,
    /// The losing value.
    pub value: String,
    /// The change that wrote it.
    pub lost: StampVector,
    /// The change that won.
    pub winner: StampVector,
}

impl VersionVector {
    /// The version these fields describe.
    pub fn to_version(&self) -> Version {
        let content = match &self.deleted {
            Some(d) => Content::Deleted {
                dot: stamps_from(&[StampVector { device_id: d.device_id.clone(), hlc: d.hlc }]).dot().expect("one"),
                at: UnixMillis(d.deleted_at),
            },
            None => Content::Live(RecordBody {
                groups: self
                    .groups
                    .iter()
                    .map(|g| {
                        (g.id, Group { value: hex::decode(&g.value).expect("hex"), stamps: stamps_from(&g.stamps) })
                    })
                    .collect(),
            }),
        };
        Version { created_at: UnixMillis(self.created_at), content }
    }

    /// The fields of a version.
    pub fn of(version: &Version) -> Self {
        let (deleted, groups) = match &version.content {
            Content::Deleted { dot, at } => (
                Some(DeleteVector { hlc: dot.hlc.as_u64(), device_id: hex(dot.device.as_bytes()), deleted_at: at.0 }),
                Vec::new(),
            ),
            Content::Live(body) => (None, group_vectors(body, &["score", "note", "tags"])),
        };
        Self { created_at: version.created_at.0, deleted, groups }
    }
}

/// A lost value as JSON.
pub fn lost_vector(lost: &Lost) -> LostVector {
    let stamp = |d: Dot| StampVector { device_id: hex(d.device.as_bytes()), hlc: d.hlc.as_u64() };
    LostVector { group: lost.group, value: hex(&lost.value), lost: stamp(lost.dot), winner: stamp(lost.winner) }
}

/// Each rule of §7 once, on mood records.
pub fn merge_vectors() -> Vec<MergeVector> {
    const T: u64 = 1_764_028_800_000;
    let (a, b, c) = (device(0x10), device(0x20), device(0x30));
    let score = |n| mood_groups(n, "", &[]).remove(0).1;
    let note = |s: &str| mood_groups(1, s, &[]).remove(1).1;
    let tags = mood_groups(1, "", &[]).remove(2).1;
    // A group's value and its stamps, from (wall, device) pairs; the last pair wrote the value.
    let group = |value: Vec<u8>, stamps: &[(u64, DeviceId)]| {
        let mut s = Stamps::default();
        stamps.iter().for_each(|&(wall, d)| s.join(&Stamps::single(dot(wall, d))));
        Group { value, stamps: s }
    };
    let live = |created: u64, groups: Vec<Group>| Version {
        created_at: UnixMillis(created),
        content: Content::Live(RecordBody {
            groups: groups.into_iter().enumerate().map(|(i, g)| (i as u64 + 1, g)).collect(),
        }),
    };
    let deleted = |wall: u64, d: DeviceId| Version {
        created_at: UnixMillis(T),
        content: Content::Deleted { dot: dot(wall, d), at: UnixMillis(wall) },
    };
    let base =
        |s: u64, n: &str| vec![group(score(s), &[(T, a)]), group(note(n), &[(T, a)]), group(tags.clone(), &[(T, a)])];
    let mut cases: Vec<(&str, Vec<Version>)> = vec![
        (
            "concurrent edits to different groups both survive: A changed the score, B the note, both from the same \
             base",
            vec![
                live(
                    T,
                    vec![
                        group(score(2), &[(T + 10, a)]),
                        group(note("first"), &[(T, a)]),
                        group(tags.clone(), &[(T, a)]),
                    ],
                ),
                live(
                    T,
                    vec![
                        group(score(5), &[(T, a)]),
                        group(note("edited on B"), &[(T, a), (T + 20, b)]),
                        group(tags.clone(), &[(T, a)]),
                    ],
                ),
            ],
        ),
        (
            "concurrent edits to one group: the later stamp wins and the other is reported lost",
            vec![
                live(
                    T,
                    vec![group(score(2), &[(T + 10, a)]), group(note("n"), &[(T, a)]), group(tags.clone(), &[(T, a)])],
                ),
                live(
                    T,
                    vec![
                        group(score(9), &[(T, a), (T + 20, b)]),
                        group(note("n"), &[(T, a)]),
                        group(tags.clone(), &[(T, a)]),
                    ],
                ),
            ],
        ),
        (
            "equal stamps in one group: the greater device id (bytewise) wins",
            vec![
                live(
                    T,
                    vec![group(score(2), &[(T + 10, a)]), group(note("n"), &[(T, a)]), group(tags.clone(), &[(T, a)])],
                ),
                live(
                    T,
                    vec![
                        group(score(9), &[(T, a), (T + 10, b)]),
                        group(note("n"), &[(T, a)]),
                        group(tags.clone(), &[(T, a)]),
                    ],
                ),
            ],
        ),
        (
            "an edit made after seeing the other value replaces it: no conflict",
            vec![
                live(T, base(4, "n")),
                live(
                    T,
                    vec![
                        group(score(7), &[(T, a), (T + 30, b)]),
                        group(note("n"), &[(T, a)]),
                        group(tags.clone(), &[(T, a)]),
                    ],
                ),
            ],
        ),
        ("a tombstone beats a later edit", vec![live(T, base(4, "n")), deleted(T - 1, b)]),
        (
            "between tombstones, the greater (stamp, device) wins",
            vec![deleted(T + 5, a), deleted(T + 5, b), deleted(T + 1, c)],
        ),
        ("equal versions: the same change twice merges to itself", vec![live(T, base(4, "n")), live(T, base(4, "n"))]),
        ("created_at: the earliest claim wins", vec![live(T + 7, base(4, "n")), live(T, base(4, "n"))]),
        (
            "equal changes with different values (a faulty peer reused a stamp): the greater value bytes win, so \
             devices still agree",
            vec![live(T, base(4, "n")), live(T, base(5, "n"))],
        ),
    ];
    cases
        .drain(..)
        .map(|(comment, versions)| {
            let merged = versions.iter().cloned().reduce(|x, y| reference_merge(&x, &y).0).expect("versions");
            let lost = reference_merge(&versions[0], &versions[1]).1;
            MergeVector {
                comment: comment.into(),
                versions: versions.iter().map(VersionVector::of).collect(),
                merged: VersionVector::of(&merged),
                lost: lost.iter().map(lost_vector).collect(),
            }
        })
        .collect()
}

/// §7 as written, apart from the production code so each checks the other:
/// the merged version, and the values that lost without being the winner's past.
pub fn reference_merge(x: &Version, y: &Version) -> (Version, Vec<Lost>) {
    let created_at = x.created_at.min(y.created_at);
    let mut lost = Vec::new();
    let content = match (&x.content, &y.content) {
        (Content::Deleted { dot: d1, at: a1 }, Content::Deleted { dot: d2, at: a2 }) => {
            let ((dot, at), _) = if (d2, a2) > (d1, a1) { ((*d2, *a2), ()) } else { ((*d1, *a1), ()) };
            Content::Deleted { dot, at }
        }
        (Content::Deleted { dot, at }, _) | (_, Content::Deleted { dot, at }) => {
            Content::Deleted { dot: *dot, at: *at }
        }
        (Content::Live(bx), Content::Live(by)) => {
            let mut groups = BTreeMap::new();
            let ids: std::collections::BTreeSet<&u64> = bx.groups.keys().chain(by.groups.keys()).collect();
            for id in ids {
                let merged = match (bx.groups.get(id), by.groups.get(id)) {
                    (Some(g), None) | (None, Some(g)) => g.clone(),
                    (Some(gx), Some(gy)) => {
                        let key = |g: &Group| {
                            let top = g.stamps.iter().max_by_key(|d| (d.hlc, d.device)).expect("stamps");
                            (top.hlc, top.device, g.value.clone())
                        };
                        let (winner, loser) = if key(gy) > key(gx) { (gy, gx) } else { (gx, gy) };
                        let mut stamps = Stamps::default();
                        winner.stamps.iter().chain(loser.stamps.iter()).for_each(|d| stamps.join(&Stamps::single(d)));
                        let (w, l) = (key(winner), key(loser));
                        let seen = winner.stamps.iter().any(|d| d.device == l.1 && d.hlc >= l.0);
                        if w.2 != l.2 && !seen {
                            lost.push(Lost {
                                group: *id,
                                value: l.2.clone(),
                                dot: Dot { hlc: l.0, device: l.1 },
                                winner: Dot { hlc: w.0, device: w.1 },
                            });
                        }
                        Group { value: winner.value.clone(), stamps }
                    }
                    (None, None) => unreachable!("the id came from one of them"),
                };
                groups.insert(*id, merged);
            }
            Content::Live(RecordBody { groups })
        }
    };
    (Version { created_at, content }, lost)
}

/// Group values by id, for a kind's decoder.
pub fn values(body: &RecordBody) -> BTreeMap<u64, Vec<u8>> {
    body.groups.iter().map(|(&id, g)| (id, g.value.clone())).collect()
}
