//! The CBOR sync bodies (PROTOCOL.md §8.2) through `dto::from_cbor`.

use sealsync_envelope::DecodeError;
use sealsync_envelope::dto::{PullResponse, PushRequest, PushResponse, from_cbor, to_cbor};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::check_envelope;

/// Each sync body the server reads or a client reads (push request; push
/// response and pull page), decoded from the same bytes:
///
/// - the size cap comes first: one byte under the input's length is
///   `TooLarge`;
/// - a decoded message re-encodes to a message that decodes to the same
///   value, and encoding is deterministic (these messages need not be
///   canonical, so the input's own bytes may differ);
/// - nothing may follow a message: a byte after a valid one is
///   `TrailingBytes(1)`;
/// - every envelope carried inside passes [`check_envelope`].
pub fn check_dto_cbor(data: &[u8]) {
    if let Some(push) = message::<PushRequest>(data) {
        push.envelopes.iter().for_each(|e| check_envelope(&e.0));
    }
    message::<PushResponse>(data);
    if let Some(page) = message::<PullResponse>(data) {
        page.envelopes.iter().for_each(|e| check_envelope(&e.envelope.0));
    }
}

fn message<T: Serialize + DeserializeOwned + PartialEq + core::fmt::Debug>(data: &[u8]) -> Option<T> {
    if let Some(under) = data.len().checked_sub(1) {
        let refused = from_cbor::<T>(data, under);
        assert!(matches!(refused, Err(DecodeError::TooLarge { .. })), "over the cap: {refused:?}");
    }
    match from_cbor::<T>(data, data.len()) {
        Ok(value) => {
            let bytes = to_cbor(&value);
            let again = from_cbor::<T>(&bytes, bytes.len());
            assert_eq!(again.as_ref(), Ok(&value), "a decoded message does not survive its own encoding");
            assert_eq!(to_cbor(&again.unwrap()), bytes, "encoding is not deterministic");
            let mut longer = data.to_vec();
            longer.push(0);
            let trailing = from_cbor::<T>(&longer, longer.len());
            assert_eq!(trailing, Err(DecodeError::TrailingBytes(1)), "a byte after a valid message");
            Some(value)
        }
        Err(error) => {
            assert!(
                matches!(error, DecodeError::Message(_) | DecodeError::TrailingBytes(_)),
                "unexpected error class: {error:?}"
            );
            None
        }
    }
}
