//! Bodies of the sync endpoints (PROTOCOL.md §8), shared by server and client.
//!
//! They travel as CBOR (`application/cbor`) through serde and ciborium. Each
//! envelope inside is carried as a byte string holding its canonical encoding,
//! decoded strictly by [`Envelope::decode`]: the server stores exactly the
//! bytes the client sealed and hands back exactly those bytes.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::{Cursor, DecodeError, Envelope};

/// The canonical encoding of one envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EnvelopeBytes(#[serde(with = "serde_bytes")] pub Vec<u8>);

impl EnvelopeBytes {
    /// Strictly decodes the envelope.
    pub fn decode(&self) -> Result<Envelope, DecodeError> {
        Envelope::decode(&self.0)
    }
}

impl From<&Envelope> for EnvelopeBytes {
    fn from(envelope: &Envelope) -> Self {
        Self(envelope.encode())
    }
}

/// `POST /v1/sync/push`: envelopes in the order the device made them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushRequest {
    /// At most [`ServerLimits::max_envelopes_per_push`].
    pub envelopes: Vec<EnvelopeBytes>,
}

/// The answer to a push: one result per envelope, in request order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushResponse {
    /// `results[i]` is the fate of `envelopes[i]`.
    pub results: Vec<PushResult>,
    /// The account's cursor after the push (its highest `server_seq`).
    pub cursor: Cursor,
}

/// The fate of one pushed envelope. Every variant but `Rejected` means the
/// device may drop it from its outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum PushResult {
    /// Stored as the newest envelope of its (record, device) at this position.
    Stored {
        /// The `server_seq` it was stored at.
        seq: Cursor,
    },
    /// The server already holds this (record, device, device_seq): a re-push.
    Duplicate,
    /// The server holds a newer device_seq for this (record, device).
    Superseded,
    /// Refused; nothing was stored for it.
    Rejected {
        /// Why.
        code: RejectCode,
    },
}

/// Why the server refused an envelope. The strings are stable API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RejectCode {
    /// Not a canonical envelope.
    MalformedEnvelope,
    /// An envelope version the server does not accept.
    UnsupportedVersion,
    /// A cipher suite the server does not accept.
    UnsupportedSuite,
    /// Sealed under a key id the account does not have: the device is using
    /// another account's key, and its data would be unreadable to the others.
    UnknownKeyId,
    /// Larger than [`ServerLimits::max_envelope_bytes`].
    EnvelopeTooLarge,
    /// Storing it would exceed [`ServerLimits::max_account_bytes`].
    QuotaExceeded,
}

/// `GET /v1/sync/pull?after=CURSOR&limit=N`: one page in cursor order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullResponse {
    /// Envelopes with `server_seq > after`, ascending.
    pub envelopes: Vec<PulledEnvelope>,
    /// Where the next page starts (the last `seq` here, or `after` if empty).
    pub next_cursor: Cursor,
    /// Whether envelopes remain after `next_cursor`.
    pub more: bool,
}

/// One envelope of a pull page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PulledEnvelope {
    /// Its position in the account's log.
    pub seq: Cursor,
    /// Its bytes, as pushed.
    pub envelope: EnvelopeBytes,
}

/// Limits a server enforces and advertises in `GET /v1/meta`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerLimits {
    /// Largest envelope, encoded.
    pub max_envelope_bytes: u64,
    /// Most envelopes in one push.
    pub max_envelopes_per_push: u32,
    /// Largest request body.
    pub max_request_bytes: u64,
    /// Most envelopes in one pull page.
    pub max_page_size: u32,
    /// Most envelope bytes one account may store.
    pub max_account_bytes: u64,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            max_envelope_bytes: crate::MAX_ENVELOPE_LEN as u64,
            max_envelopes_per_push: 500,
            max_request_bytes: 8 * 1024 * 1024,
            max_page_size: 1000,
            max_account_bytes: 1024 * 1024 * 1024,
        }
    }
}

/// Encodes a DTO as CBOR.
pub fn to_cbor<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).expect("DTOs serialize infallibly into a Vec");
    out
}

/// Decodes one DTO of at most `max_len` bytes, with nothing after it.
pub fn from_cbor<T: DeserializeOwned>(bytes: &[u8], max_len: usize) -> Result<T, DecodeError> {
    if bytes.len() > max_len {
        return Err(DecodeError::TooLarge {
            what: "message",
            len: bytes.len(),
            max: max_len,
        });
    }
    let mut rest = bytes;
    let value =
        ciborium::from_reader(&mut rest).map_err(|e| DecodeError::Message(e.to_string()))?;
    match rest.len() {
        0 => Ok(value),
        extra => Err(DecodeError::TrailingBytes(extra)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_response_round_trips_with_stable_names() {
        let response = PushResponse {
            results: vec![
                PushResult::Stored { seq: Cursor(7) },
                PushResult::Duplicate,
                PushResult::Superseded,
                PushResult::Rejected {
                    code: RejectCode::UnknownKeyId,
                },
            ],
            cursor: Cursor(7),
        };
        let bytes = to_cbor(&response);
        assert_eq!(from_cbor::<PushResponse>(&bytes, 1024).unwrap(), response);
        let as_json = serde_json::to_string(&response.results[3]).unwrap();
        assert_eq!(as_json, r#"{"outcome":"rejected","code":"unknown_key_id"}"#);
    }

    #[test]
    fn trailing_bytes_oversize_and_garbage_are_typed_errors() {
        let mut bytes = to_cbor(&PushRequest {
            envelopes: vec![EnvelopeBytes(vec![1, 2, 3])],
        });
        assert!(from_cbor::<PushRequest>(&bytes, 1024).is_ok());
        assert_eq!(
            from_cbor::<PushRequest>(&bytes, 3).unwrap_err(),
            DecodeError::TooLarge {
                what: "message",
                len: bytes.len(),
                max: 3
            }
        );
        bytes.push(0);
        assert_eq!(
            from_cbor::<PushRequest>(&bytes, 1024).unwrap_err(),
            DecodeError::TrailingBytes(1)
        );
        assert!(matches!(
            from_cbor::<PushRequest>(&[0xff, 0x00], 1024),
            Err(DecodeError::Message(_))
        ));
    }
}
