//! The strict decoders of envelope/src (PROTOCOL.md §4.1–§4.7) and padding.

use sealsync_crypto::TAG_LEN;
use sealsync_envelope::padding::{self, MAX_PAYLOAD_LEN, is_padded_len, padded_len};
use sealsync_envelope::{DecodeError, DeviceSeq, Envelope, MAX_ENVELOPE_LEN, RecordBody, RecordKind, RecordPayload};

/// One strict decoder over the reader of `envelope/src/cbor.rs`.
struct Strict<T> {
    decode: fn(&[u8]) -> Result<T, DecodeError>,
    encode: fn(&T) -> Vec<u8>,
    /// Inputs longer than this are `TooLarge`, refused unread.
    max_len: Option<usize>,
    /// An error the decoder reports only once the whole map is read (after
    /// its trailing-bytes check), so bytes appended turn it into
    /// `TrailingBytes`.
    after_the_map: fn(&DecodeError) -> bool,
}

/// The properties every strict decoder has (PROTOCOL.md §4.6), returning the
/// decoded value:
///
/// - canonical: a value decodes only from its one encoding, so
///   `encode(decode(bytes)) == bytes`;
/// - read front to back, never looking ahead: every proper prefix of a valid
///   input is `Truncated` at the prefix's end, and a byte after it is
///   `TrailingBytes(1)`; an invalid input's error other than `Truncated` or
///   `TrailingBytes` is the same whatever follows the input;
/// - every error within the input: `Truncated` at its end, any other offset
///   inside it; `TooLarge` exactly for inputs over the limit, before parsing.
fn strict<T: PartialEq + core::fmt::Debug>(data: &[u8], decoder: &Strict<T>) -> Option<T> {
    let decoded = (decoder.decode)(data);
    let too_large = decoder.max_len.is_some_and(|max| data.len() > max);
    if too_large {
        assert!(
            matches!(decoded, Err(DecodeError::TooLarge { .. })),
            "{} bytes over the limit: {decoded:?}",
            data.len()
        );
        return None;
    }
    let appended = |byte: u8| {
        let mut longer = Vec::with_capacity(data.len() + 1);
        longer.extend_from_slice(data);
        longer.push(byte);
        let fits = decoder.max_len.is_none_or(|max| longer.len() <= max);
        fits.then(|| (decoder.decode)(&longer))
    };
    match decoded {
        Ok(value) => {
            assert_eq!((decoder.encode)(&value), data, "a decoded value re-encodes to other bytes");
            for cut in cuts(data) {
                assert_eq!(
                    (decoder.decode)(&data[..cut]),
                    Err(DecodeError::Truncated { offset: cut }),
                    "a {cut}-byte prefix of a valid {}-byte input",
                    data.len()
                );
            }
            if let Some(longer) = appended(0) {
                assert_eq!(longer, Err(DecodeError::TrailingBytes(1)), "a valid input and one byte more");
            }
            Some(value)
        }
        Err(error) => {
            check_offset(&error, data.len());
            match &error {
                DecodeError::Truncated { .. } | DecodeError::TooLarge { .. } => {}
                DecodeError::TrailingBytes(n) => {
                    if let Some(longer) = appended(0xff) {
                        assert_eq!(longer, Err(DecodeError::TrailingBytes(n + 1)), "one more trailing byte");
                    }
                }
                other if (decoder.after_the_map)(other) => {
                    if let Some(longer) = appended(0) {
                        assert_eq!(longer, Err(DecodeError::TrailingBytes(1)), "checked after the trailing bytes");
                    }
                }
                other => {
                    for byte in [0x00, 0xff] {
                        if let Some(longer) = appended(byte) {
                            assert_eq!(longer.as_ref(), Err(other), "the decoder looked past its error at {byte:#04x}");
                        }
                    }
                }
            }
            None
        }
    }
}

/// Where to cut a valid input: every prefix of the first 64 bytes (every
/// header of an envelope or payload), the last two, and a few spread over the
/// rest (all of them would make a check quadratic in the input's length).
fn cuts(data: &[u8]) -> impl Iterator<Item = usize> + '_ {
    let len = data.len();
    let head = 0..len.min(64);
    let tail = [len.saturating_sub(2), len.saturating_sub(1)];
    let spread = (1..8).map(move |k| len * k / 8);
    head.chain(tail).chain(spread).filter(move |&cut| cut < len)
}

fn check_offset(error: &DecodeError, len: usize) {
    match *error {
        DecodeError::Truncated { offset } => assert_eq!(offset, len, "truncated before the end: {error:?}"),
        DecodeError::Malformed { offset }
        | DecodeError::NotCanonical { offset }
        | DecodeError::Unexpected { offset, .. } => {
            assert!(offset < len, "{error:?} outside a {len}-byte input")
        }
        DecodeError::TrailingBytes(n) => assert!(n >= 1 && n < len, "{error:?} of a {len}-byte input"),
        DecodeError::Message(_) => panic!("a strict decoder reported a serde error: {error:?}"),
        _ => {}
    }
}

/// `Envelope::decode` (PROTOCOL.md §4.1, §4.6): the strict properties, and a
/// decoded envelope obeys §4.6's value rules (version and suite 1, a counter
/// of at most 2^63 − 1, a ciphertext of a padding bucket plus the tag).
pub fn check_envelope(data: &[u8]) {
    let decoder = Strict {
        decode: Envelope::decode,
        encode: Envelope::encode,
        max_len: Some(MAX_ENVELOPE_LEN),
        after_the_map: |_| false,
    };
    let Some(envelope) = strict(data, &decoder) else { return };
    assert!(envelope.header.device_seq <= DeviceSeq::MAX);
    let ciphertext = envelope.ciphertext.len();
    assert!(ciphertext >= TAG_LEN && is_padded_len(ciphertext - TAG_LEN), "ciphertext of {ciphertext} bytes");
    // The server decodes what it is pushed through the DTO's bytes.
    let bytes = sealsync_envelope::dto::EnvelopeBytes::from(&envelope);
    assert_eq!(bytes.decode().as_ref(), Ok(&envelope));
}

/// `RecordPayload::decode` (PROTOCOL.md §4.2, §4.6): the strict properties;
/// a decoded payload has a valid kind, a tombstone has an empty body; its
/// length is `encoded_len`; and it pads and unpads to itself.
pub fn check_payload(data: &[u8]) {
    fn encode(payload: &RecordPayload) -> Vec<u8> {
        let mut out = Vec::new();
        payload.encode_into(&mut out);
        out
    }
    let decoder = Strict {
        decode: RecordPayload::decode,
        encode,
        max_len: None,
        // The tombstone rule is step 6, after the trailing bytes (step 5).
        after_the_map: |e| {
            matches!(e, DecodeError::InvalidField { field: "body", reason: "a tombstone's body must be empty" })
        },
    };
    let Some(payload) = strict(data, &decoder) else { return };
    assert_eq!(RecordKind::new(payload.kind.as_str()).as_ref(), Ok(&payload.kind));
    assert!(!payload.is_tombstone() || payload.body.is_empty(), "a tombstone with a body");
    assert_eq!(payload.encoded_len(), data.len());
    if data.len() <= MAX_PAYLOAD_LEN {
        let padded = padding::pad(data).expect("a payload within the limit pads");
        assert_eq!(padding::unpad(&padded), Ok(data));
    }
}

/// `RecordBody::decode` (PROTOCOL.md §4.7): the strict properties; a
/// decoded body has 1 to 63 groups numbered within 1..=63, each with 1 to 64
/// stamps, and its greatest dot is the greatest of its groups' dots.
pub fn check_record_body(data: &[u8]) {
    let decoder =
        Strict { decode: RecordBody::decode, encode: RecordBody::encode, max_len: None, after_the_map: |_| false };
    let Some(body) = strict(data, &decoder) else { return };
    assert!((1..=63).contains(&body.groups.len()), "{} groups", body.groups.len());
    let mut dots = Vec::new();
    for (&id, group) in &body.groups {
        assert!((1..=sealsync_envelope::body::MAX_GROUP_ID).contains(&id), "group {id}");
        let stamps: Vec<_> = group.stamps.iter().collect();
        assert!((1..=sealsync_envelope::body::MAX_STAMPS).contains(&stamps.len()), "{} stamps", stamps.len());
        let dot = group.stamps.dot().expect("stamps are never empty");
        assert_eq!(Some(&dot), stamps.iter().max());
        dots.push(dot);
    }
    assert_eq!(body.max_dot(), dots.into_iter().max());
}

/// `padding::unpad` (PROTOCOL.md §4.3): only the canonical padding opens,
/// so a payload it returns pads to exactly the input; and any input taken
/// as a payload pads to a bucket and unpads to itself.
pub fn check_unpad(data: &[u8]) {
    if let Ok(payload) = padding::unpad(data) {
        assert!(is_padded_len(data.len()), "unpadded a {}-byte plaintext", data.len());
        assert_eq!(padded_len(payload.len()), data.len());
        assert_eq!(padding::pad(payload).as_deref(), Ok(data), "the padding is not canonical");
    }
    match padding::pad(data) {
        Ok(padded) => {
            assert!(data.len() <= MAX_PAYLOAD_LEN);
            assert_eq!(padded.len(), padded_len(data.len()));
            assert!(is_padded_len(padded.len()), "padded to {} bytes", padded.len());
            assert_eq!(padding::unpad(&padded), Ok(data));
        }
        Err(error) => {
            assert!(data.len() > MAX_PAYLOAD_LEN, "{error:?}");
        }
    }
}
