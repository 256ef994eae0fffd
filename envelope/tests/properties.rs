//! Property tests: envelope round trips, decoders that never panic, the HLC's
//! order, and the merge rule's algebra.

use proptest::prelude::*;
use sealsync_crypto::DataKey;
use sealsync_envelope::dto::{PullResponse, PushRequest, from_cbor};
use sealsync_envelope::hlc::MAX_AHEAD_MS;
use sealsync_envelope::merge::merge;
use sealsync_envelope::padding::{MAX_PAYLOAD_LEN, unpad};
use sealsync_envelope::{
    AccountId, Clock, Content, DeviceId, DeviceSeq, Dot, Envelope, Group, Hlc, RecordBody, RecordId, RecordKind,
    RecordPayload, RecordSealer, Stamps, UnixMillis, Version,
};
use uuid::Uuid;

fn payload_strategy() -> impl Strategy<Value = RecordPayload> {
    (
        "[a-z0-9_-]{1,32}",
        any::<u64>(),
        any::<u64>(),
        proptest::option::of(any::<u64>()),
        proptest::collection::vec(any::<u8>(), 0..3000),
    )
        .prop_map(|(kind, hlc, created, deleted, body)| RecordPayload {
            kind: RecordKind::new(kind).unwrap(),
            hlc: Hlc::from_u64(hlc),
            created_at: UnixMillis(created),
            deleted_at: deleted.map(UnixMillis),
            // A tombstone carries no body.
            body: if deleted.is_some() { Vec::new() } else { body },
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn envelope_round_trips(payload in payload_strategy(), record in any::<u128>(), device in any::<u128>(), seq in 0..=i64::MAX as u64) {
        let sealer = RecordSealer::new(AccountId::random(), &DataKey::generate().unwrap());
        let envelope = sealer
            .seal(RecordId(Uuid::from_u128(record)), DeviceId(Uuid::from_u128(device)), DeviceSeq(seq), &payload)
            .unwrap();
        let bytes = envelope.encode();
        let decoded = Envelope::decode(&bytes).unwrap();
        prop_assert_eq!(&decoded, &envelope);
        prop_assert_eq!(decoded.encode(), bytes);
        prop_assert_eq!(sealer.open(decoded).unwrap(), payload);
    }

    #[test]
    fn decoders_never_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = Envelope::decode(&bytes);
        let _ = RecordPayload::decode(&bytes);
        let _ = unpad(&bytes);
        let _ = from_cbor::<PushRequest>(&bytes, 1 << 20);
        let _ = from_cbor::<PullResponse>(&bytes, 1 << 20);
    }

    #[test]
    fn mutated_envelopes_never_panic_are_canonical_and_never_open(
        payload in payload_strategy(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let sealer = RecordSealer::new(AccountId::random(), &DataKey::generate().unwrap());
        let original = sealer.seal(RecordId::random(), DeviceId::random(), DeviceSeq(1), &payload).unwrap().encode();
        let mut bytes = original.clone();
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len()));
        }
        if let Ok(envelope) = Envelope::decode(&bytes) {
            // Whatever decodes is the one canonical encoding of what it decodes to.
            prop_assert_eq!(envelope.encode(), bytes.clone());
            if bytes != original {
                prop_assert!(sealer.open(envelope).is_err());
            }
        }
    }

    #[test]
    fn payloads_past_the_largest_bucket_are_refused(extra in 0usize..100) {
        let payload = RecordPayload {
            kind: RecordKind::new("k").unwrap(),
            hlc: Hlc::ZERO,
            created_at: UnixMillis(0),
            deleted_at: None,
            body: vec![0; MAX_PAYLOAD_LEN + extra],
        };
        let sealer = RecordSealer::new(AccountId::random(), &DataKey::generate().unwrap());
        let refused = sealer.seal(RecordId::random(), DeviceId::random(), DeviceSeq(1), &payload);
        prop_assert!(
            matches!(refused, Err(sealsync_envelope::Error::PayloadTooLarge { .. })),
            "expected PayloadTooLarge, got {:?}", refused.map(|_| ())
        );
    }
}

/// One step a device's clock can take.
#[derive(Debug, Clone)]
enum ClockStep {
    /// A local edit at a wall time that may jump back and forth.
    Tick(u64),
    /// A remote stamp within the accepted skew of the current wall time.
    Observe(u64, u16),
}

fn clock_steps() -> impl Strategy<Value = Vec<ClockStep>> {
    let base = 1_764_000_000_000u64;
    proptest::collection::vec(
        prop_oneof![
            (base..base + 10_000).prop_map(ClockStep::Tick),
            (base..base + 10_000, any::<u16>()).prop_map(|(w, c)| ClockStep::Observe(w, c)),
        ],
        1..200,
    )
}

proptest! {
    #[test]
    fn hlc_order_is_total_and_matches_the_packed_integer(a in any::<u64>(), b in any::<u64>()) {
        let (x, y) = (Hlc::from_u64(a), Hlc::from_u64(b));
        prop_assert_eq!(x.cmp(&y), a.cmp(&b));
        prop_assert_eq!([x < y, x == y, x > y].iter().filter(|&&t| t).count(), 1);
        prop_assert_eq!((x.wall_ms(), x.counter()), (a >> 16, a as u16));
    }

    #[test]
    fn every_tick_exceeds_everything_issued_or_observed(steps in clock_steps()) {
        let mut clock = Clock::new(Hlc::ZERO);
        let mut greatest = Hlc::ZERO;
        for step in steps {
            match step {
                ClockStep::Tick(now) => {
                    let stamp = clock.tick(UnixMillis(now)).unwrap();
                    prop_assert!(stamp > greatest, "{stamp} after {greatest}");
                    prop_assert!(stamp.wall_ms() <= now + MAX_AHEAD_MS);
                    greatest = stamp;
                }
                ClockStep::Observe(wall, counter) => {
                    let remote = Hlc::new(wall, counter).unwrap();
                    clock.observe(remote, UnixMillis(wall)).unwrap();
                    greatest = greatest.max(remote);
                }
            }
            prop_assert_eq!(clock.last(), greatest);
        }
    }
}

/// A version of one record drawn from a few devices, stamps and groups, so
/// ties, shared pasts and concurrent edits all occur. As in the protocol, a
/// group's value is determined by the change that wrote it.
fn version() -> impl Strategy<Value = Version> {
    let dot = (0u64..4, 0u16..2, 0u128..3).prop_map(|(wall, counter, device)| Dot {
        hlc: Hlc::new(wall, counter).unwrap(),
        device: DeviceId(Uuid::from_u128(device)),
    });
    let stamps = proptest::collection::vec(dot.clone(), 1..4).prop_map(|dots| {
        let mut stamps = Stamps::default();
        dots.into_iter().for_each(|d| stamps.join(&Stamps::single(d)));
        stamps
    });
    let group = stamps.prop_map(|stamps| {
        let d = stamps.dot().unwrap();
        Group { value: [d.hlc.as_u64().to_be_bytes().as_slice(), d.device.as_bytes()].concat(), stamps }
    });
    let live =
        proptest::collection::btree_map(1u64..4, group, 1..4).prop_map(|groups| Content::Live(RecordBody { groups }));
    let deleted = dot.prop_map(|dot| Content::Deleted { dot, at: UnixMillis(dot.hlc.wall_ms()) });
    (prop_oneof![3 => live, 1 => deleted], 0u64..3)
        .prop_map(|(content, created)| Version { created_at: UnixMillis(created), content })
}

fn join(a: &Version, b: &Version) -> Version {
    merge(a, b).version
}

proptest! {
    #[test]
    fn merge_is_commutative_associative_and_idempotent(a in version(), b in version(), c in version()) {
        prop_assert_eq!(join(&a, &b), join(&b, &a));
        prop_assert_eq!(join(&join(&a, &b), &c), join(&a, &join(&b, &c)));
        prop_assert_eq!(join(&a, &a), a.clone());
        prop_assert_eq!(join(&join(&a, &b), &b), join(&a, &b));
        prop_assert!(merge(&a, &a).lost.is_empty() && !merge(&a, &a).changed);
    }

    #[test]
    fn any_order_of_applying_a_set_of_versions_gives_one_state(
        (versions, reordered) in proptest::collection::vec(version(), 1..20)
            .prop_flat_map(|versions| (Just(versions.clone()), Just(versions).prop_shuffle())),
    ) {
        let fold = |vs: &[Version]| vs.iter().cloned().reduce(|a, b| join(&a, &b)).unwrap();
        let expected = fold(&versions);
        // Another order, then every version delivered a second time.
        let replayed: Vec<Version> = reordered.iter().chain(&versions).cloned().collect();
        prop_assert_eq!(fold(&replayed), expected.clone());
        // A delete wins whenever one exists, and the merged state is the greatest change seen.
        let deleted = versions.iter().any(|v| matches!(v.content, Content::Deleted { .. }));
        prop_assert_eq!(matches!(expected.content, Content::Deleted { .. }), deleted);
        if !deleted {
            prop_assert_eq!(expected.dot(), versions.iter().filter_map(Version::dot).max());
        }
    }

    #[test]
    fn a_group_value_that_loses_is_either_the_winners_past_or_reported(a in version(), b in version()) {
        let merged = merge(&a, &b);
        let (Content::Live(x), Content::Live(y), Content::Live(m)) = (&a.content, &b.content, &merged.version.content) else {
            return Ok(());
        };
        for (id, group) in x.groups.iter().chain(&y.groups) {
            let kept = &m.groups[id];
            if kept.value != group.value {
                let dot = group.stamps.dot().unwrap();
                let reported = merged.lost.iter().any(|l| l.group == *id && l.dot == dot && l.value == group.value);
                let winner = if x.groups.get(id) == Some(kept) { x.groups.get(id) } else { y.groups.get(id) };
                prop_assert!(reported || winner.is_some_and(|w| w.stamps.covers(dot)), "group {} lost silently", id);
            }
        }
    }
}
