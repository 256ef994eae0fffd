//! The plaintext of an envelope: one whole version of one record
//! (PROTOCOL.md §4.2). The server never sees it; only the client builds or reads it.

use crate::cbor::{Reader, Writer, header_len};
use crate::{DecodeError, Hlc, UnixMillis};

/// Longest record kind name, in bytes.
pub const MAX_KIND_LEN: usize = 32;

/// The record's type, named by the application (e.g. `mood`, `phq9`): 1 to 32
/// bytes of `a-z 0-9 _ -`. Encrypted, so the server cannot tell kinds apart.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordKind(String);

impl RecordKind {
    /// Validates a kind name.
    pub fn new(kind: impl Into<String>) -> Result<Self, DecodeError> {
        let kind = kind.into();
        let valid = !kind.is_empty()
            && kind.len() <= MAX_KIND_LEN
            && kind.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if valid {
            Ok(Self(kind))
        } else {
            Err(DecodeError::InvalidField { field: "kind", reason: "must be 1-32 bytes of a-z 0-9 _ -" })
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One version of a record, as sealed into an envelope.
#[derive(Clone, PartialEq, Eq)]
pub struct RecordPayload {
    /// What the body holds.
    pub kind: RecordKind,
    /// When this version was made (orders versions: see [`crate::merge`]).
    pub hlc: Hlc,
    /// When the record was first created, by the creating device's clock.
    pub created_at: UnixMillis,
    /// Set on a tombstone: when the record was deleted.
    pub deleted_at: Option<UnixMillis>,
    /// A live record's [`crate::RecordBody`] (its field groups and their
    /// stamps), encoded; empty on a tombstone, so a delete erases the content.
    pub body: Vec<u8>,
}

/// The body is clinical data: `Debug` shows its length only.
impl core::fmt::Debug for RecordPayload {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RecordPayload")
            .field("kind", &self.kind)
            .field("hlc", &self.hlc)
            .field("created_at", &self.created_at)
            .field("deleted_at", &self.deleted_at)
            .field("body_len", &self.body.len())
            .finish()
    }
}

// CBOR map keys of the payload (PROTOCOL.md §4.2).
const KEY_KIND: u64 = 1;
const KEY_HLC: u64 = 2;
const KEY_CREATED_AT: u64 = 3;
const KEY_DELETED_AT: u64 = 4;
const KEY_BODY: u64 = 5;

impl RecordPayload {
    /// Whether this version deletes the record.
    pub fn is_tombstone(&self) -> bool {
        self.deleted_at.is_some()
    }

    /// Exact length of [`RecordPayload::encode_into`]'s output.
    pub fn encoded_len(&self) -> usize {
        let uint = |n: u64| header_len(n);
        let string = |len: usize| header_len(len as u64) + len;
        1 + 5
            + string(self.kind.0.len())
            + uint(self.hlc.as_u64())
            + uint(self.created_at.0)
            + self.deleted_at.map_or(1, |d| uint(d.0))
            + string(self.body.len())
    }

    /// Appends the canonical CBOR map `{1: kind, 2: hlc, 3: created_at, 4: deleted_at / null, 5: body}`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let mut w = Writer::new(out);
        w.map(5);
        w.uint(KEY_KIND);
        w.text(&self.kind.0);
        w.uint(KEY_HLC);
        w.uint(self.hlc.as_u64());
        w.uint(KEY_CREATED_AT);
        w.uint(self.created_at.0);
        w.uint(KEY_DELETED_AT);
        match self.deleted_at {
            Some(at) => w.uint(at.0),
            None => w.null(),
        }
        w.uint(KEY_BODY);
        w.bytes(&self.body);
    }

    /// Parses exactly one canonical payload map.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let entries = r.map_len()?;
        if entries != 5 {
            return Err(DecodeError::InvalidField { field: "payload", reason: "must have exactly 5 entries" });
        }
        r.key(KEY_KIND)?;
        let kind = RecordKind::new(r.text("kind", MAX_KIND_LEN)?)?;
        r.key(KEY_HLC)?;
        let hlc = Hlc::from_u64(r.uint()?);
        r.key(KEY_CREATED_AT)?;
        let created_at = UnixMillis(r.uint()?);
        r.key(KEY_DELETED_AT)?;
        let deleted_at = r.uint_or_null()?.map(UnixMillis);
        r.key(KEY_BODY)?;
        let body = r.bytes("body", crate::padding::MAX_PAYLOAD_LEN)?.to_vec();
        r.finish()?;
        if deleted_at.is_some() && !body.is_empty() {
            return Err(DecodeError::InvalidField { field: "body", reason: "a tombstone's body must be empty" });
        }
        Ok(Self { kind, hlc, created_at, deleted_at, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RecordPayload {
        RecordPayload {
            kind: RecordKind::new("mood").unwrap(),
            hlc: Hlc::new(1_700_000_000_000, 3).unwrap(),
            created_at: UnixMillis(1_699_999_999_000),
            deleted_at: None,
            body: b"{\"score\":7}".to_vec(),
        }
    }

    #[test]
    fn round_trip_and_exact_length() {
        for payload in [sample(), RecordPayload { deleted_at: Some(UnixMillis(5)), body: vec![], ..sample() }] {
            let mut out = Vec::new();
            payload.encode_into(&mut out);
            assert_eq!(out.len(), payload.encoded_len());
            assert_eq!(RecordPayload::decode(&out).unwrap(), payload);
        }
    }

    #[test]
    fn kinds_are_validated() {
        for bad in ["", "Mood", "mood entry", "é", &"k".repeat(33)] {
            assert!(RecordKind::new(bad).is_err(), "{bad:?}");
        }
        assert!(RecordKind::new("phq9_v2-x").is_ok());
    }
}
