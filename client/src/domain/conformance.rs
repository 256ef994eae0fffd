//! The client against its specification: the group values of envelopes it
//! really seals, checked against the CDDL of PROTOCOL.md §4.7 and §4.8 read
//! from the document itself (so the two cannot drift apart), and its
//! encoding of each kind against `test-vectors/v1/record-body.json`.

use std::collections::BTreeMap;

use sealsync_crypto::DataKey;
use sealsync_envelope::{AccountId, DeviceId, DeviceSeq, RecordBody, RecordId, RecordSealer, UnixMillis};
use uuid::Uuid;

use super::{
    Activity, Assessment, AssessmentKind, Mood, RecordType, Recurrence, Schedule, from_group_values, group_values,
};
use crate::store::Store;
use crate::store::records::payload_of;

/// Every ```cddl block of PROTOCOL.md, as one schema.
fn spec_cddl() -> String {
    let spec = include_str!("../../../docs/PROTOCOL.md");
    let mut cddl = String::new();
    let mut inside = false;
    for line in spec.lines() {
        match line.trim() {
            "```cddl" => inside = true,
            "```" if inside => inside = false,
            _ if inside => {
                cddl.push_str(line);
                cddl.push('\n');
            }
            _ => {}
        }
    }
    assert!(cddl.contains("record-body") && cddl.contains("schedule-3"), "PROTOCOL.md lost its CDDL");
    cddl
}

/// Seals `id` as the outbox does, opens it as a receiver does, and checks
/// the body and every group value against the specification's CDDL.
fn check_sealed<T: RecordType>(store: &mut Store, id: Uuid, cddl: &str) {
    let me = DeviceId::random();
    let sealer = RecordSealer::new(AccountId::random(), &DataKey::generate().unwrap());
    let payload = store.transaction(|tx| payload_of(tx, T::KIND, id, me)).unwrap().unwrap();
    let envelope = sealer.seal(RecordId(id), me, DeviceSeq(1), &payload).unwrap();
    let opened = sealer.open(envelope).unwrap();
    assert_eq!(opened.kind.as_str(), T::KIND);
    cddl_cat::validate_cbor_bytes("record-body", cddl, &opened.body)
        .unwrap_or_else(|e| panic!("{} body against §4.7: {e}", T::KIND));
    let body = RecordBody::decode(&opened.body).unwrap();
    let ids: Vec<u64> = body.groups.keys().copied().collect();
    assert_eq!(ids, T::GROUPS.iter().map(|g| g.id).collect::<Vec<_>>(), "{}: exactly its groups", T::KIND);
    for (id, group) in &body.groups {
        let rule = format!("{}-{id}", T::KIND);
        cddl_cat::validate_cbor_bytes(&rule, cddl, &group.value)
            .unwrap_or_else(|e| panic!("{rule} against §4.8: {e} ({})", hex::encode(&group.value)));
    }
    assert_eq!(body.max_dot().unwrap().hlc, opened.hlc, "payload key 2 is the greatest stamp");
}

#[test]
fn every_kind_seals_what_the_specification_says() {
    let cddl = spec_cddl();
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("journal.db")).unwrap();
    let now = UnixMillis(1_764_028_800_000);
    let moods = [
        Mood { score: 1, note: String::new(), tags: vec![] },
        Mood { score: 10, note: "a long day\nat work".into(), tags: vec!["work".into(), "sleep".into()] },
    ];
    for mood in &moods {
        let id = store.create(mood, now).unwrap();
        check_sealed::<Mood>(&mut store, id, &cddl);
    }
    for (kind, answers) in [(AssessmentKind::Phq9, vec![3; 9]), (AssessmentKind::Gad7, vec![0; 7])] {
        let id = store.create(&Assessment::new(kind, answers).unwrap(), now).unwrap();
        check_sealed::<Assessment>(&mut store, id, &cddl);
    }
    let bare = Activity {
        name: "walk".into(),
        category: None,
        minutes: None,
        enjoyment: None,
        mastery: None,
        when: now.0,
        note: String::new(),
    };
    let full = Activity {
        category: Some("exercise".into()),
        minutes: Some(1440),
        enjoyment: Some(0),
        mastery: Some(10),
        note: "by the river".into(),
        ..bare.clone()
    };
    let mut activity = Uuid::nil();
    for a in [&bare, &full] {
        activity = store.create(a, now).unwrap();
        check_sealed::<Activity>(&mut store, activity, &cddl);
    }
    for recurrence in [Recurrence::Once, Recurrence::Daily, Recurrence::Weekly(vec!["mon".into(), "sun".into()])] {
        let schedule = Schedule {
            activity_id: activity,
            recurrence,
            at: "23:59".into(),
            tz: "Europe/Berlin".into(),
            active: false,
        };
        let id = store.create(&schedule, now).unwrap();
        check_sealed::<Schedule>(&mut store, id, &cddl);
    }
}

#[test]
fn the_cddl_refuses_what_the_client_refuses() {
    let cddl = spec_cddl();
    let cbor = |v: &ciborium::Value| {
        let mut out = Vec::new();
        ciborium::into_writer(v, &mut out).unwrap();
        out
    };
    use ciborium::Value as V;
    let bad = [
        ("mood-1", V::Integer(11.into())),
        ("mood-1", V::Integer(0.into())),
        ("assessment-1", V::Array(vec![V::Text("phq9".into()), V::Array(vec![V::Integer(1.into()); 7])])),
        ("assessment-1", V::Array(vec![V::Text("gad7".into()), V::Array(vec![V::Integer(4.into()); 7])])),
        ("schedule-1", V::Text(Uuid::nil().to_string())),
        ("schedule-2", V::Array(vec![V::Text("weekly".into()), V::Text("07:30".into()), V::Text("UTC".into())])),
        ("activity-3", V::Integer(1441.into())),
    ];
    for (rule, value) in bad {
        assert!(cddl_cat::validate_cbor_bytes(rule, &cddl, &cbor(&value)).is_err(), "{rule} accepted {value:?}");
    }
}

/// PROTOCOL.md §4.8 by example: the client's encoding of each vector's
/// fields is exactly the vector's group values, and decoding them gives the
/// fields back, derived ones recomputed.
#[test]
fn each_kind_encodes_as_the_record_body_vectors() {
    let vectors: Vec<serde_json::Value> =
        serde_json::from_str(include_str!("../../../test-vectors/v1/record-body.json")).unwrap();
    assert_eq!(vectors.len(), 4);
    for v in vectors {
        let groups: BTreeMap<u64, Vec<u8>> = v["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| (g["id"].as_u64().unwrap(), hex::decode(g["value"].as_str().unwrap()).unwrap()))
            .collect();
        match v["sealed"]["payload"]["kind"].as_str().unwrap() {
            "mood" => check_vector::<Mood>(&v["fields"], &groups),
            "assessment" => check_vector::<Assessment>(&v["fields"], &groups),
            "activity" => check_vector::<Activity>(&v["fields"], &groups),
            "schedule" => check_vector::<Schedule>(&v["fields"], &groups),
            other => panic!("a vector of kind {other}"),
        }
    }
}

fn check_vector<T: RecordType>(fields: &serde_json::Value, groups: &BTreeMap<u64, Vec<u8>>) {
    let decoded = from_group_values::<T>(groups).unwrap();
    assert_eq!(&serde_json::to_value(&decoded).unwrap(), fields, "{}", T::KIND);
    assert_eq!(group_values(&decoded).into_iter().collect::<BTreeMap<_, _>>(), *groups, "{}", T::KIND);
}

#[test]
fn non_canonical_or_missing_groups_are_invalid_records() {
    let mood = Mood { score: 6, note: "n".into(), tags: vec![] };
    let good: BTreeMap<u64, Vec<u8>> = group_values(&mood).into_iter().collect();
    assert_eq!(from_group_values::<Mood>(&good).unwrap(), mood);
    let mut long_int = good.clone();
    long_int.insert(1, vec![0x18, 0x06]); // 6 in two bytes
    let mut missing = good.clone();
    missing.remove(&3);
    let mut extra = good.clone();
    extra.insert(4, vec![0x60]);
    let mut trailing = good.clone();
    trailing.get_mut(&2).unwrap().push(0);
    let mut indefinite = good.clone();
    indefinite.insert(3, vec![0x9f, 0xff]);
    for (what, groups) in [
        ("long integer", long_int),
        ("missing", missing),
        ("extra", extra),
        ("trailing", trailing),
        ("indefinite", indefinite),
    ] {
        assert!(from_group_values::<Mood>(&groups).is_err(), "{what}");
    }
}
