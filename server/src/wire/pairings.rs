//! The JSON bodies of the device-linking relay as they arrive, and their
//! field-by-field checks (PROTOCOL.md §8.3), in the manner of the account
//! bodies: every member is read as text, then checked in the order the
//! specification lists it, and the first bad one is the answer.

use sealsync_crypto::link::PairingNumber;
use sealsync_envelope::dto::{
    ApprovePairingRequest, ClaimPairingRequest, ConfirmPairingRequest, CreatePairingRequest, LINK_MESSAGE_BYTES,
    LINK_MESSAGE_SIDE_APPROVER, LINK_MESSAGE_SIDE_NEW, MAX_SEALED_BUNDLE_BYTES, MAX_SEALED_DEVICE_NAME_BYTES,
    MIN_LINK_SEALED_BYTES,
};
use serde::Deserialize;

use super::{device_id, encrypted_name, hex_array, hex_vec};
use crate::error::ApiError;

/// `{pairing}` in a path: exactly six decimal digits.
pub fn pairing_number(text: &str) -> Result<PairingNumber, ApiError> {
    PairingNumber::parse(text)
        .map_err(|_| ApiError::bad_request("invalid_pairing", "the pairing number must be six decimal digits"))
}

/// A SPAKE2 message from the given side: 33 bytes whose first is the side's letter.
fn link_message(text: &str, side: u8) -> Result<Vec<u8>, ApiError> {
    hex_array::<LINK_MESSAGE_BYTES>(text).filter(|m| m[0] == side).map(|m| m.to_vec()).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_link_message",
            format!("message must be {} lower-case hex digits, starting with {side:02x}", 2 * LINK_MESSAGE_BYTES),
        )
    })
}

fn confirm(text: &str) -> Result<[u8; 32], ApiError> {
    hex_array(text).ok_or_else(|| ApiError::bad_request("invalid_confirm", "confirm must be 64 lower-case hex digits"))
}

/// A name sealed under the link key: a nonce, the name and a tag, at most
/// as long as any sealed device name.
fn link_sealed_name(text: &str) -> Result<Vec<u8>, ApiError> {
    hex_vec(text, MAX_SEALED_DEVICE_NAME_BYTES).filter(|n| n.len() >= MIN_LINK_SEALED_BYTES).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_device_name",
            format!(
                "encrypted_name must be lower-case hex of {MIN_LINK_SEALED_BYTES} to {MAX_SEALED_DEVICE_NAME_BYTES} bytes"
            ),
        )
    })
}

fn bundle(text: &str) -> Result<Vec<u8>, ApiError> {
    hex_vec(text, MAX_SEALED_BUNDLE_BYTES).filter(|b| b.len() >= MIN_LINK_SEALED_BYTES).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_bundle",
            format!("bundle must be lower-case hex of {MIN_LINK_SEALED_BYTES} to {MAX_SEALED_BUNDLE_BYTES} bytes"),
        )
    })
}

/// `POST /v1/pairings`, as it arrives.
#[derive(Debug, Deserialize)]
pub struct CreatePairingBody {
    device_id: String,
    message: String,
}

impl CreatePairingBody {
    /// `device_id` (a random UUID), then `message` (from side A).
    pub fn check(self) -> Result<CreatePairingRequest, ApiError> {
        Ok(CreatePairingRequest {
            device_id: device_id(&self.device_id)?,
            message: link_message(&self.message, LINK_MESSAGE_SIDE_NEW)?,
        })
    }
}

/// `POST /v1/pairings/{pairing}/claim`, as it arrives.
#[derive(Debug, Deserialize)]
pub struct ClaimPairingBody {
    message: String,
    confirm: String,
}

impl ClaimPairingBody {
    /// `message` (from side B), then `confirm`.
    pub fn check(self) -> Result<ClaimPairingRequest, ApiError> {
        Ok(ClaimPairingRequest {
            message: link_message(&self.message, LINK_MESSAGE_SIDE_APPROVER)?,
            confirm: confirm(&self.confirm)?,
        })
    }
}

/// `POST /v1/pairings/{pairing}/confirm`, as it arrives.
#[derive(Debug, Deserialize)]
pub struct ConfirmPairingBody {
    confirm: String,
    encrypted_name: String,
}

impl ConfirmPairingBody {
    /// `confirm`, then `encrypted_name` (sealed under the link key).
    pub fn check(self) -> Result<ConfirmPairingRequest, ApiError> {
        Ok(ConfirmPairingRequest {
            confirm: confirm(&self.confirm)?,
            encrypted_name: link_sealed_name(&self.encrypted_name)?,
        })
    }
}

/// `POST /v1/pairings/{pairing}/approve`, as it arrives.
#[derive(Debug, Deserialize)]
pub struct ApprovePairingBody {
    encrypted_name: String,
    bundle: String,
}

impl ApprovePairingBody {
    /// `encrypted_name` (sealed under the record key, as §8.1), then `bundle`.
    pub fn check(self) -> Result<ApprovePairingRequest, ApiError> {
        Ok(ApprovePairingRequest {
            encrypted_name: encrypted_name(&self.encrypted_name)?,
            bundle: bundle(&self.bundle)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code<T>(result: Result<T, ApiError>) -> &'static str {
        result.err().map_or("ok", |e| e.code)
    }

    #[test]
    fn relay_fields_have_their_own_codes() {
        let message = |side: &str| format!("{side}{}", "ab".repeat(32));
        assert_eq!(code(link_message(&message("41"), LINK_MESSAGE_SIDE_NEW)), "ok");
        assert_eq!(code(link_message(&message("42"), LINK_MESSAGE_SIDE_NEW)), "invalid_link_message");
        assert_eq!(code(link_message(&message("42"), LINK_MESSAGE_SIDE_APPROVER)), "ok");
        assert_eq!(code(link_message(&"41".repeat(32), LINK_MESSAGE_SIDE_NEW)), "invalid_link_message");
        assert_eq!(code(link_message(&message("41").to_uppercase(), LINK_MESSAGE_SIDE_NEW)), "invalid_link_message");
        assert_eq!(code(confirm(&"00".repeat(32))), "ok");
        assert_eq!(code(confirm(&"00".repeat(31))), "invalid_confirm");
        assert_eq!(code(link_sealed_name(&"00".repeat(40))), "ok");
        assert_eq!(code(link_sealed_name(&"00".repeat(39))), "invalid_device_name");
        assert_eq!(code(link_sealed_name(&"00".repeat(513))), "invalid_device_name");
        assert_eq!(code(bundle(&"00".repeat(MAX_SEALED_BUNDLE_BYTES))), "ok");
        assert_eq!(code(bundle(&"00".repeat(MAX_SEALED_BUNDLE_BYTES + 1))), "invalid_bundle");
        assert_eq!(code(bundle(&"00".repeat(39))), "invalid_bundle");
        assert_eq!(code(pairing_number("004217")), "ok");
        for bad in ["4217", "0042170", "00421a", "-04217", "１２３４５６"] {
            assert_eq!(code(pairing_number(bad)), "invalid_pairing", "{bad}");
        }
    }
}
