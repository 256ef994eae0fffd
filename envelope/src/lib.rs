//! The sealsync wire format: envelopes, the record payload inside them, the
//! record body of field groups, the hybrid logical clock, the merge rule and
//! the sync DTOs.
//!
//! The server depends on this crate to read envelope headers; it never sees a
//! [`RecordPayload`], which exists only inside the client after [`RecordSealer::open`].
//! docs/PROTOCOL.md specifies every byte; `test-vectors/` reproduces them.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod body;
mod cbor;
pub mod dto;
mod envelope;
mod error;
pub mod hlc;
mod ids;
pub mod merge;
pub mod padding;
mod payload;
mod seal;

pub use body::{Dot, Group, GroupId, RecordBody, Stamps};
pub use envelope::{AAD_LEN, Envelope, EnvelopeHeader, MAX_ENVELOPE_LEN, SUITE, VERSION};
pub use error::{DecodeError, Error};
pub use hlc::{Clock, Hlc};
pub use ids::{AccountId, Cursor, DeviceId, DeviceSeq, RecordId, UnixMillis};
pub use merge::{Content, Lost, Merged, Version};
pub use payload::{RecordKind, RecordPayload};
pub use seal::RecordSealer;
pub use sealsync_crypto::KeyId;
