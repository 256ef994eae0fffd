//! A server (or anyone on the path) that changes any byte of an envelope, moves
//! it to another account, or swaps any header field must make `open` fail.

use sealsync_crypto::{DataKey, KeyId};
use sealsync_envelope::{
    AccountId, DeviceId, DeviceSeq, Envelope, Error, Hlc, RecordId, RecordKind, RecordPayload, RecordSealer, UnixMillis,
};

fn sealer() -> RecordSealer {
    RecordSealer::new(AccountId::random(), &DataKey::generate().unwrap())
}

fn payload() -> RecordPayload {
    RecordPayload {
        kind: RecordKind::new("mood").unwrap(),
        hlc: Hlc::new(1_764_000_000_000, 1).unwrap(),
        created_at: UnixMillis(1_764_000_000_000),
        deleted_at: None,
        body: b"{\"score\":3,\"note\":\"a hard day\"}".to_vec(),
    }
}

fn sealed(sealer: &RecordSealer) -> Envelope {
    sealer.seal(RecordId::random(), DeviceId::random(), DeviceSeq(41), &payload()).unwrap()
}

#[test]
fn the_untouched_envelope_opens() {
    let sealer = sealer();
    let envelope = Envelope::decode(&sealed(&sealer).encode()).unwrap();
    assert_eq!(sealer.open(envelope).unwrap(), payload());
}

#[test]
fn changing_any_header_field_makes_open_fail() {
    let sealer = sealer();
    let original = sealed(&sealer);
    let mut tampered = Vec::new();
    let mut e = original.clone();
    e.header.record_id = RecordId::random();
    tampered.push(("record_id", e));
    let mut e = original.clone();
    e.header.device_id = DeviceId::random();
    tampered.push(("device_id", e));
    for seq in [0, 40, 42, u64::MAX] {
        let mut e = original.clone();
        e.header.device_seq = DeviceSeq(seq);
        tampered.push(("device_seq", e));
    }
    let mut e = original.clone();
    e.nonce[23] ^= 1;
    tampered.push(("nonce", e));
    for (field, envelope) in tampered {
        assert_eq!(sealer.open(envelope).unwrap_err(), Error::Crypto(sealsync_crypto::Error::Decrypt), "{field}");
    }

    let mut e = original.clone();
    e.header.key_id = KeyId([0; 16]);
    assert_eq!(sealer.open(e).unwrap_err(), Error::UnknownKeyId(KeyId([0; 16])));
}

#[test]
fn another_account_with_the_same_key_cannot_open_it() {
    let data_key = DataKey::generate().unwrap();
    let ours = RecordSealer::new(AccountId::random(), &data_key);
    let theirs = RecordSealer::new(AccountId::random(), &data_key);
    let envelope = sealed(&ours);
    assert_eq!(theirs.open(envelope).unwrap_err(), Error::Crypto(sealsync_crypto::Error::Decrypt));
}

#[test]
fn another_data_key_cannot_open_it() {
    let envelope = sealed(&sealer());
    assert!(matches!(sealer().open(envelope), Err(Error::UnknownKeyId(_))));
}

#[test]
fn flipping_any_ciphertext_byte_makes_open_fail() {
    let sealer = sealer();
    let original = sealed(&sealer);
    for i in 0..original.ciphertext.len() {
        let mut e = original.clone();
        e.ciphertext[i] ^= 0x01;
        assert_eq!(sealer.open(e).unwrap_err(), Error::Crypto(sealsync_crypto::Error::Decrypt), "byte {i}");
    }
}

#[test]
fn flipping_any_encoded_byte_fails_to_decode_or_to_open() {
    let sealer = sealer();
    let bytes = sealed(&sealer).encode();
    for i in 0..bytes.len() {
        for bit in [0x01, 0x80] {
            let mut tampered = bytes.clone();
            tampered[i] ^= bit;
            if let Ok(envelope) = Envelope::decode(&tampered) {
                assert!(sealer.open(envelope).is_err(), "byte {i} bit {bit:#x} opened");
            }
        }
    }
}

#[test]
fn the_largest_possible_envelope_round_trips_at_the_size_limit() {
    use sealsync_envelope::MAX_ENVELOPE_LEN;
    use sealsync_envelope::padding::{MAX_PADDED_LEN, MAX_PAYLOAD_LEN};
    let sealer = sealer();
    let mut payload = payload();
    payload.body = vec![0x42; 1000]; // a body length with the same 3-byte header as the largest
    let overhead = payload.encoded_len() - payload.body.len();
    payload.body = vec![0x42; MAX_PAYLOAD_LEN - overhead];
    let envelope = sealer.seal(RecordId::random(), DeviceId::random(), DeviceSeq::MAX, &payload).unwrap();
    assert_eq!(envelope.ciphertext.len(), MAX_PADDED_LEN + 16);
    let bytes = envelope.encode();
    assert_eq!(bytes.len(), MAX_ENVELOPE_LEN);
    assert_eq!(sealer.open(Envelope::decode(&bytes).unwrap()).unwrap(), payload);

    let mut too_long = bytes;
    too_long.push(0);
    assert!(matches!(Envelope::decode(&too_long), Err(sealsync_envelope::DecodeError::TooLarge { .. })));
}
