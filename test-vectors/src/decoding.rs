//! The decoding half of `envelope.json` (PROTOCOL.md §4.6): envelopes that
//! decode without being opened, envelopes every decoder must refuse with a
//! stated error class, and envelopes that decode but are refused on opening.
//!
//! Decoding never looks inside the ciphertext, so the decode cases are built
//! on a fixed envelope whose ciphertext is a byte pattern, not a sealed record:
//! they do not change when the record payload's format does. The class of each
//! invalid case is written here from the order of §4.6, not taken from the
//! decoder; the tests then check the decoder against it.

use serde::{Deserialize, Serialize};

use sealsync_crypto::DataKey;
use sealsync_envelope::{
    AccountId, DeviceId, DeviceSeq, Envelope, EnvelopeHeader, Hlc, MAX_ENVELOPE_LEN, RecordId, RecordKind,
    RecordPayload, UnixMillis,
};

use crate::{counting, hex};

/// `envelope.json` (`decodes`): envelopes that decode, with their header;
/// built by hand, not sealed, so they are not opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecodableEnvelopeVector {
    /// What the case shows.
    pub comment: String,
    /// The bytes.
    pub envelope: String,
    /// Header: record id.
    pub record_id: String,
    /// Header: device id.
    pub device_id: String,
    /// Header: device counter.
    pub device_seq: u64,
    /// Header: key id.
    pub key_id: String,
    /// Nonce.
    pub nonce: String,
    /// Length of the ciphertext, tag included.
    pub ciphertext_len: usize,
}

/// `envelope.json` (`invalid`): bytes every decoder must refuse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvalidEnvelopeVector {
    /// What is wrong with it.
    pub comment: String,
    /// The bytes.
    pub envelope: String,
    /// The error class (PROTOCOL.md §4.6; `DecodeError::class`).
    pub error: String,
}

/// `envelope.json` (`open_errors`): envelopes that decode, and that the
/// account with this id and data key refuses to open (PROTOCOL.md §4.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenErrorVector {
    /// What is wrong with it.
    pub comment: String,
    /// The opening account's id.
    pub account_id: String,
    /// The opening account's data key.
    pub data_key: String,
    /// The bytes.
    pub envelope: String,
    /// `unknown_key_id` or `decrypt`: see [`open_error_class`].
    pub error: String,
}

/// The language-neutral name of an error of opening, as written in `envelope.json`.
pub fn open_error_class(error: &sealsync_envelope::Error) -> String {
    match error {
        sealsync_envelope::Error::UnknownKeyId(_) => "unknown_key_id".into(),
        sealsync_envelope::Error::Crypto(sealsync_crypto::Error::Decrypt) => "decrypt".into(),
        sealsync_envelope::Error::Envelope(_) => "envelope".into(),
        sealsync_envelope::Error::Payload(e) => format!("payload_{}", e.class()),
        _ => "other".into(),
    }
}

/// The header every decode case starts from: the ids of the first valid case.
fn header(device_seq: u64) -> EnvelopeHeader {
    EnvelopeHeader {
        record_id: RecordId::from_bytes(counting(0xb0)),
        device_id: DeviceId::from_bytes(counting(0xc0)),
        device_seq: DeviceSeq(device_seq),
        key_id: DataKey::from_bytes(counting(0x40)).key_id(),
    }
}

/// An envelope with ciphertext `0x00, 0x01, ..., 0xff, 0x00, ...` of `len` bytes.
fn pattern_envelope(device_seq: u64, ciphertext_len: usize) -> Envelope {
    Envelope {
        header: header(device_seq),
        nonce: counting(0xd0),
        ciphertext: (0..ciphertext_len).map(|i| i as u8).collect(),
    }
}

/// Envelopes that decode: the bounds of `device_seq` and of the length.
pub fn decodable_envelopes() -> Vec<DecodableEnvelopeVector> {
    let cases = [
        ("device_seq 2^63 - 1, the largest (1b 7fffffffffffffff)", pattern_envelope(DeviceSeq::MAX.0, 528)),
        (
            "the largest envelope, 65 654 bytes (§9): device_seq 2^63 - 1 and a ciphertext of 65 552 bytes \
             (the 65 536-byte bucket + tag)",
            pattern_envelope(DeviceSeq::MAX.0, 65_552),
        ),
    ];
    cases
        .into_iter()
        .map(|(comment, envelope)| {
            let bytes = envelope.encode();
            assert!(bytes.len() <= MAX_ENVELOPE_LEN);
            DecodableEnvelopeVector {
                comment: comment.into(),
                envelope: hex(&bytes),
                record_id: hex(envelope.header.record_id.as_bytes()),
                device_id: hex(envelope.header.device_id.as_bytes()),
                device_seq: envelope.header.device_seq.0,
                key_id: hex(envelope.header.key_id.as_bytes()),
                nonce: hex(envelope.nonce),
                ciphertext_len: envelope.ciphertext.len(),
            }
        })
        .collect()
}

/// Inputs that a strict decoder refuses, each with the class the order of
/// PROTOCOL.md §4.6 gives it. Offsets in `good` (620 bytes): 0 map header;
/// 1, 3, 5, 23, 41, 43, 61, 88 keys 1-8; 2 version; 4 suite; 6 record_id
/// header; 24 device_id header; 42 device_seq; 44 key_id header; 62 nonce
/// header (58 18); 89 ciphertext header (59 0210); 92 ciphertext.
pub fn invalid_envelopes() -> Vec<InvalidEnvelopeVector> {
    let good = pattern_envelope(7, 528).encode();
    let good = good.as_slice();
    assert_eq!((good.len(), good[88], good[89]), (620, 0x08, 0x59));
    let splice =
        |at: usize, remove: usize, insert: &[u8]| -> Vec<u8> { [&good[..at], insert, &good[at + remove..]].concat() };
    // Replaces the version (offset 2) by `item`.
    let version = |item: &[u8]| splice(2, 1, item);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        // Size, before anything is parsed.
        (
            "65 655 bytes, one over the limit: refused before parsing (the envelope followed by zero bytes, \
             otherwise trailing_bytes)",
            [good, &vec![0; MAX_ENVELOPE_LEN + 1 - good.len()]].concat(),
            "too_large",
        ),
        // The map header and the version.
        ("empty input", vec![], "truncated"),
        ("an array (0x88) where the map is expected", splice(0, 1, &[0x88]), "unexpected_item"),
        ("an indefinite-length map (0xbf ... 0xff)", [&[0xbf], &good[1..], &[0xff]].concat(), "not_canonical"),
        ("an empty map (0xa0) and nothing else", vec![0xa0], "invalid_field"),
        (
            "an empty map (0xa0) followed by the envelope's entries: the count 0 is refused before key 1 is read",
            [&[0xa0], &good[1..]].concat(),
            "invalid_field",
        ),
        ("map of 9 entries announced", splice(0, 1, &[0xa9]), "invalid_field"),
        (
            "map of 9 entries with version 2: the version is checked before the count",
            [&[0xa9, 0x01, 0x02], &good[3..]].concat(),
            "unsupported_version",
        ),
        (
            "map of 9 entries whose first key is 2: key 1 is checked before the count",
            [&[0xa9, 0x02, 0x01, 0x01, 0x01][..], &good[5..]].concat(),
            "unexpected_item",
        ),
        (
            "map of 9 entries, version as 0x18 0x01: each header's form is checked as it is read, before the count",
            [&[0xa9, 0x01, 0x18, 0x01], &good[3..]].concat(),
            "not_canonical",
        ),
        ("version 2 (key 1)", version(&[0x02]), "unsupported_version"),
        ("suite 2 (key 2)", splice(4, 1, &[0x02]), "unsupported_suite"),
        (
            "suite 2 and a record_id of 15 bytes: the suite is read first",
            [&splice(4, 1, &[0x02])[..6], &[0x4f], &good[7..22], &good[23..]].concat(),
            "unsupported_suite",
        ),
        (
            "keys 1 and 2 swapped in order",
            [&[0xa8, 0x02, 0x01, 0x01, 0x01][..], &good[5..]].concat(),
            "unexpected_item",
        ),
        ("key 1 written as 0x18 0x01", splice(1, 1, &[0x18, 0x01]), "not_canonical"),
        ("a negative integer (0x20) in place of key 1", splice(1, 1, &[0x20]), "unexpected_item"),
        ("key 9 in place of key 8", splice(88, 1, &[0x09]), "unexpected_item"),
        // Header rules H1-H6 before the type rule T, on the version's position.
        ("input ending after key 1", good[..2].to_vec(), "truncated"),
        (
            "version written as a 2-byte integer (0x18 0x01): not the shortest form",
            version(&[0x18, 0x01]),
            "not_canonical",
        ),
        ("additional information 28 on an unsigned integer (0x1c) as the version", version(&[0x1c]), "malformed"),
        ("additional information 30 on major type 7 (0xfe) as the version", version(&[0xfe]), "malformed"),
        ("additional information 31 on an unsigned integer (0x1f) as the version", version(&[0x1f]), "malformed"),
        ("additional information 31 on a negative integer (0x3f) as key 2", splice(3, 1, &[0x3f]), "malformed"),
        ("additional information 31 on a tag (0xdf) as the version", version(&[0xdf]), "malformed"),
        ("a break byte (0xff) as the version: an item of the wrong type", version(&[0xff]), "unexpected_item"),
        ("a break byte (0xff) in place of key 3", splice(5, 1, &[0xff]), "unexpected_item"),
        (
            "an indefinite-length text string (0x7f 0x61 0x31 0xff) as the version: the header rule before the type",
            version(&[0x7f, 0x61, 0x31, 0xff]),
            "not_canonical",
        ),
        (
            "a byte string with a non-shortest header (0x58 0x01 0x01) as the version: the header rule before the type",
            version(&[0x58, 0x01, 0x01]),
            "not_canonical",
        ),
        ("input ending after 0xf8, before its argument", [&good[..2], &[0xf8]].concat(), "truncated"),
        (
            "a two-byte simple value below 32 (0xf8 0x01) as the version: not well-formed, before the shortest-form rule",
            version(&[0xf8, 0x01]),
            "malformed",
        ),
        ("a two-byte simple value 32 (0xf8 0x20) as the version", version(&[0xf8, 0x20]), "unexpected_item"),
        ("a half-precision float 1.0 (0xf9 0x3c00) as the version", version(&[0xf9, 0x3c, 0x00]), "unexpected_item"),
        ("null (0xf6) as the version", version(&[0xf6]), "unexpected_item"),
        // Tags: never expected; a tag's header is checked like any other.
        (
            "the self-described CBOR tag 55799 (0xd9 0xd9f7) before the map",
            [&[0xd9, 0xd9, 0xf7], good].concat(),
            "unexpected_item",
        ),
        ("tag 1 (0xc1) wrapping the version", version(&[0xc1, 0x01]), "unexpected_item"),
        (
            "tag 1 in a non-shortest header (0xd8 0x01) wrapping the version: the header rule before the type",
            version(&[0xd8, 0x01, 0x01]),
            "not_canonical",
        ),
        // Strings: type, then length, then content.
        (
            "record_id as a 16-byte text string of invalid UTF-8 (0x70 0xff...): the type is wrong; the content is \
             never read",
            splice(6, 17, &[[0x70].as_slice(), &[0xff; 16]].concat()),
            "unexpected_item",
        ),
        ("record_id of 15 bytes", splice(5, 18, &[[0x03, 0x4f].as_slice(), &good[7..22]].concat()), "invalid_field"),
        (
            "record_id of 17 bytes (0x51), input ending 5 bytes into it: the length is checked before the content",
            [&good[..6], &[0x51], &good[7..12]].concat(),
            "invalid_field",
        ),
        ("input ending 8 bytes into the record_id", good[..15].to_vec(), "truncated"),
        ("nonce in a non-shortest header (0x59 0x0018)", splice(62, 2, &[0x59, 0x00, 0x18]), "not_canonical"),
        ("input ending inside the ciphertext header's argument (0x59 0x02)", good[..91].to_vec(), "truncated"),
        ("truncated inside the ciphertext", good[..good.len() - 1].to_vec(), "truncated"),
        (
            "ciphertext in an indefinite-length byte string",
            [&good[..89], &[0x5f, 0x59, 0x02, 0x10], &good[92..], &[0xff]].concat(),
            "not_canonical",
        ),
        (
            "ciphertext one byte short of bucket + tag",
            [&good[..89], &[0x59, 0x02, 0x0f], &good[92..good.len() - 1]].concat(),
            "invalid_field",
        ),
        (
            "ciphertext of 16 bytes: a tag and no bucket",
            [&good[..89], &[0x50], &good[92..108]].concat(),
            "invalid_field",
        ),
        (
            "ciphertext declared as 65 553 bytes (0x5a 0x00010011), one over the largest bucket + tag",
            splice(89, 3, &[0x5a, 0x00, 0x01, 0x00, 0x11]),
            "invalid_field",
        ),
        (
            "ciphertext declared as 2^32 bytes, 528 bytes following: the length is checked before the content",
            splice(89, 3, &[0x5b, 0, 0, 0, 0x01, 0, 0, 0, 0]),
            "invalid_field",
        ),
        // Field values and the end.
        (
            "device_seq 2^63 (1b 8000000000000000), one over the largest",
            splice(42, 1, &[0x1b, 0x80, 0, 0, 0, 0, 0, 0, 0]),
            "invalid_field",
        ),
        ("a trailing byte after the map", [good, &[0x00]].concat(), "trailing_bytes"),
    ];
    cases
        .into_iter()
        .map(|(comment, bytes, error)| InvalidEnvelopeVector {
            comment: comment.into(),
            envelope: hex(&bytes),
            error: error.into(),
        })
        .collect()
}

/// Envelopes derived from `good` (the first valid case, which opens under
/// `account_id` and `data_key`) that decode but must not open.
pub fn open_errors(good: &[u8], account_id: AccountId, data_key: &DataKey) -> Vec<OpenErrorVector> {
    let envelope = Envelope::decode(good).expect("the first valid case decodes");
    let other_key = DataKey::from_bytes([0; 32]).key_id();
    let mut other_account = *account_id.as_bytes();
    other_account[15] ^= 0x01;
    let changed = |change: &dyn Fn(&mut Envelope)| {
        let mut envelope = envelope.clone();
        change(&mut envelope);
        envelope.encode()
    };
    let cases = [
        (
            "the first valid case with key_id replaced by the all-zero data key's (subkeys.json): refused before \
             decrypting",
            *account_id.as_bytes(),
            changed(&|e| e.header.key_id = other_key),
            "unknown_key_id",
        ),
        (
            "the first valid case with bit 0 of the ciphertext's first byte flipped",
            *account_id.as_bytes(),
            changed(&|e| e.ciphertext[0] ^= 0x01),
            "decrypt",
        ),
        (
            "the first valid case with bit 7 of the tag's last byte flipped",
            *account_id.as_bytes(),
            changed(&|e| *e.ciphertext.last_mut().expect("not empty") ^= 0x80),
            "decrypt",
        ),
        (
            "the first valid case, unchanged, opened by another account (last byte of account_id flipped): the AAD \
             differs",
            other_account,
            good.to_vec(),
            "decrypt",
        ),
    ];
    cases
        .into_iter()
        .map(|(comment, account_id, envelope, error)| OpenErrorVector {
            comment: comment.into(),
            account_id: hex(account_id),
            data_key: hex(data_key.expose_secret()),
            envelope: hex(envelope),
            error: error.into(),
        })
        .collect()
}

/// Envelopes that open (the tag verifies) but whose plaintext is not a
/// canonical padded payload (§4.2, §4.3): each refused as `payload_CLASS`.
pub fn payload_errors(account_id: AccountId, data_key: &DataKey) -> Vec<OpenErrorVector> {
    let payload = |kind: &str, deleted: Option<u64>, body: &[u8]| {
        let p = RecordPayload {
            kind: RecordKind::new(kind).expect("valid"),
            hlc: Hlc::new(1_764_028_800_000, 9).expect("48-bit"),
            created_at: UnixMillis(1_764_028_000_000),
            deleted_at: deleted.map(UnixMillis),
            body: body.to_vec(),
        };
        let mut out = Vec::new();
        p.encode_into(&mut out);
        out
    };
    let pad_raw = |cbor: &[u8], bucket: usize| {
        let mut padded = (cbor.len() as u32).to_be_bytes().to_vec();
        padded.extend_from_slice(cbor);
        padded.resize(bucket, 0);
        padded
    };
    let live = payload("mood", None, b"");
    let mut nonzero = pad_raw(&live, 512);
    nonzero[511] = 1;
    let mut bad_kind = live.clone();
    bad_kind[3] = b'M'; // a5 01 64 'm' 'o' 'o' 'd': "mood" -> "Mood"
    let mut five_to_four = live.clone();
    five_to_four[0] = 0xa4;
    let with_trailing = [live.as_slice(), &[0x00]].concat();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("a padding byte that is not zero", nonzero, "payload_invalid_field"),
        ("a 1024-byte bucket for a payload that fits 512", pad_raw(&live, 1024), "payload_invalid_field"),
        ("a length prefix beyond the plaintext", [&[0, 0, 2, 0][..], &[0; 508]].concat(), "payload_invalid_field"),
        ("a tombstone with a body", pad_raw(&payload("mood", Some(1), &[0xa0]), 512), "payload_invalid_field"),
        ("kind \"Mood\": upper case is not a kind", pad_raw(&bad_kind, 512), "payload_invalid_field"),
        ("a payload map of 4 entries", pad_raw(&five_to_four, 512), "payload_invalid_field"),
        ("a byte after the payload map, inside its length", pad_raw(&with_trailing, 512), "payload_trailing_bytes"),
    ];
    let record_key = data_key.record_key();
    cases
        .into_iter()
        .enumerate()
        .map(|(i, (comment, padded, error))| {
            let header = header(30 + i as u64);
            let nonce: [u8; 24] = counting(0x60 + i as u8);
            let ciphertext = crate::xchacha_seal(record_key.expose_secret(), &nonce, &header.aad(&account_id), &padded);
            OpenErrorVector {
                comment: format!("sealed correctly, but {comment}"),
                account_id: hex(account_id.as_bytes()),
                data_key: hex(data_key.expose_secret()),
                envelope: hex(Envelope { header, nonce, ciphertext }.encode()),
                error: error.into(),
            }
        })
        .collect()
}
