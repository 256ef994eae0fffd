//! Property tests: envelope round trips, decoders that never panic, the HLC's
//! order, and the merge rule's algebra.

use proptest::prelude::*;
use sealsync_crypto::DataKey;
use sealsync_envelope::dto::{PullResponse, PushRequest, from_cbor};
use sealsync_envelope::hlc::MAX_AHEAD_MS;
use sealsync_envelope::merge::{merge, supersedes};
use sealsync_envelope::padding::{MAX_PAYLOAD_LEN, unpad};
use sealsync_envelope::{
    AccountId, Clock, DeviceId, DeviceSeq, Envelope, Hlc, LwwKey, RecordId, RecordKind, RecordPayload, RecordSealer,
    UnixMillis,
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

/// A change to one record: its LWW key and a content that, as in the protocol,
/// is determined by the key (a device never issues one stamp twice).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Change {
    key: LwwKey,
    content: u64,
}

fn change() -> impl Strategy<Value = Change> {
    // Small ranges force ties on the stamp, broken by device id.
    (any::<bool>(), 0u64..4, 0u16..2, 0u128..3).prop_map(|(tombstone, wall, counter, device)| {
        let key =
            LwwKey { tombstone, hlc: Hlc::new(wall, counter).unwrap(), device_id: DeviceId(Uuid::from_u128(device)) };
        Change { key, content: wall * 1000 + u64::from(counter) * 10 + device as u64 + u64::from(tombstone) * 7 }
    })
}

fn join(a: &Change, b: &Change) -> Change {
    *merge(a, b, |c| c.key)
}

fn fold(changes: &[Change]) -> Option<Change> {
    changes.iter().copied().reduce(|a, b| join(&a, &b))
}

proptest! {
    #[test]
    fn merge_is_commutative_associative_and_idempotent(a in change(), b in change(), c in change()) {
        prop_assert_eq!(join(&a, &b), join(&b, &a));
        prop_assert_eq!(join(&join(&a, &b), &c), join(&a, &join(&b, &c)));
        prop_assert_eq!(join(&a, &a), a);
        prop_assert_eq!(join(&join(&a, &b), &b), join(&a, &b));
    }

    #[test]
    fn any_order_of_applying_a_set_of_changes_gives_one_state(
        (changes, reordered) in proptest::collection::vec(change(), 1..40)
            .prop_flat_map(|changes| (Just(changes.clone()), Just(changes).prop_shuffle())),
    ) {
        let expected = fold(&changes).unwrap();
        // Another order, then every change delivered a second time.
        let replayed: Vec<Change> = reordered.iter().chain(&changes).copied().collect();
        prop_assert_eq!(fold(&replayed).unwrap(), expected);
        // The winner is the maximum, and a tombstone wins whenever one exists.
        prop_assert!(changes.iter().all(|c| !supersedes(&c.key, &expected.key)));
        prop_assert_eq!(expected.key.tombstone, changes.iter().any(|c| c.key.tombstone));
    }
}
