//! Errors of decoding (anything from the network or the server's database) and
//! of sealing and opening. Every malformed input maps to one of these; none panics.

use sealsync_crypto::KeyId;

/// Why bytes are not a valid envelope, payload or DTO.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input is longer than the format allows.
    #[error("{what} is {len} bytes, more than the limit of {max}")]
    TooLarge {
        /// What was being decoded.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The input ended inside an item.
    #[error("truncated CBOR at byte {offset}")]
    Truncated {
        /// Where the input ended.
        offset: usize,
    },
    /// Not CBOR at all.
    #[error("malformed CBOR at byte {offset}")]
    Malformed {
        /// Where parsing failed.
        offset: usize,
    },
    /// Valid CBOR, but not the one canonical encoding (shortest integers,
    /// definite lengths), which PROTOCOL.md requires so each value has one form.
    #[error("non-canonical CBOR at byte {offset}")]
    NotCanonical {
        /// The item's first byte.
        offset: usize,
    },
    /// Bytes after the item.
    #[error("{0} bytes after the end of the item")]
    TrailingBytes(usize),
    /// The structure is not the one the format specifies.
    #[error("unexpected {found} at byte {offset}: expected {expected}")]
    Unexpected {
        /// Where.
        offset: usize,
        /// What the format says comes here.
        expected: &'static str,
        /// What came.
        found: &'static str,
    },
    /// A field's value is out of its range.
    #[error("invalid {field}: {reason}")]
    InvalidField {
        /// Which field.
        field: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// An envelope format version this build does not read.
    #[error("unsupported envelope version {0}")]
    UnsupportedVersion(u64),
    /// A cipher suite this build does not implement.
    #[error("unsupported cipher suite {0}")]
    UnsupportedSuite(u64),
    /// A DTO failed to decode (serde-level; no offsets).
    #[error("invalid message: {0}")]
    Message(String),
}

impl DecodeError {
    /// The error's class as PROTOCOL.md §4.6 names it (and `envelope.json`
    /// writes it): `too_large`, `truncated`, `malformed`, `not_canonical`,
    /// `unexpected_item`, `unsupported_version`, `unsupported_suite`,
    /// `invalid_field` or `trailing_bytes`; `message` for a DTO.
    pub fn class(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "too_large",
            Self::Truncated { .. } => "truncated",
            Self::Malformed { .. } => "malformed",
            Self::NotCanonical { .. } => "not_canonical",
            Self::TrailingBytes(_) => "trailing_bytes",
            Self::Unexpected { .. } => "unexpected_item",
            Self::InvalidField { .. } => "invalid_field",
            Self::UnsupportedVersion(_) => "unsupported_version",
            Self::UnsupportedSuite(_) => "unsupported_suite",
            Self::Message(_) => "message",
        }
    }
}

/// Why a record could not be sealed or an envelope opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The envelope bytes are malformed.
    #[error("envelope: {0}")]
    Envelope(DecodeError),
    /// The decrypted payload is malformed (a bug or a key compromise: a server
    /// cannot produce this, because it cannot produce a valid tag).
    #[error("record payload: {0}")]
    Payload(DecodeError),
    /// Sealed under a data key this account's keyring does not hold.
    #[error("envelope sealed under key {0}, which is not this account's key")]
    UnknownKeyId(KeyId),
    /// The record is larger than the largest padding bucket.
    #[error("record payload of {len} bytes exceeds the limit of {max}")]
    PayloadTooLarge {
        /// Encoded payload length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A device counter above [`crate::DeviceSeq::MAX`].
    #[error("device counter {0:?} exceeds 2^63 - 1")]
    DeviceSeqOutOfRange(crate::DeviceSeq),
    /// Authentication failed, or the OS RNG failed while sealing.
    #[error(transparent)]
    Crypto(#[from] sealsync_crypto::Error),
}
