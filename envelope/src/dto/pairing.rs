//! Bodies of the device-linking relay (PROTOCOL.md §6, §8.3), shared by
//! server and client. Byte strings are lower-case hex; the messages,
//! confirmations and sealed bytes are opaque to the server.

use serde::{Deserialize, Serialize};

use crate::DeviceId;

/// A SPAKE2 message: a side byte and a compressed Edwards25519 point.
pub const LINK_MESSAGE_BYTES: usize = 33;
/// The side byte of the new device's SPAKE2 message (`"A"`).
pub const LINK_MESSAGE_SIDE_NEW: u8 = 0x41;
/// The side byte of the approving device's SPAKE2 message (`"B"`).
pub const LINK_MESSAGE_SIDE_APPROVER: u8 = 0x42;
/// Largest sealed bundle the relay carries, in bytes (nonce and tag included).
pub const MAX_SEALED_BUNDLE_BYTES: usize = 16 * 1024;
/// Smallest sealed bundle or sealed name: a nonce and a tag.
pub const MIN_LINK_SEALED_BYTES: usize = sealsync_crypto::NONCE_LEN + sealsync_crypto::TAG_LEN;

/// Optional byte strings as hex, absent when `None`.
mod opt_hex {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(bytes) => s.serialize_str(&hex::encode(bytes)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        Option::<String>::deserialize(d)?.map(|text| hex::decode(text).map_err(serde::de::Error::custom)).transpose()
    }
}

/// `POST /v1/pairings`: the new device opens a pairing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatePairingRequest {
    /// The id the new device will have (a random UUID).
    pub device_id: DeviceId,
    /// Its SPAKE2 message (33 bytes, first byte `0x41`).
    #[serde(with = "hex::serde")]
    pub message: Vec<u8>,
}

/// The answer to `POST /v1/pairings` (201).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatePairingResponse {
    /// The pairing number, six decimal digits.
    pub pairing: String,
    /// The pairing secret, 64 hex digits: `Authorization: Pairing SECRET`.
    pub secret: String,
    /// Unix ms after which the pairing is gone.
    pub expires_at: u64,
}

/// `POST /v1/pairings/{pairing}/claim`: the approving device answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimPairingRequest {
    /// Its SPAKE2 message (33 bytes, first byte `0x42`).
    #[serde(with = "hex::serde")]
    pub message: Vec<u8>,
    /// `confirm_approver`.
    #[serde(with = "hex::serde")]
    pub confirm: [u8; 32],
}

/// `POST /v1/pairings/{pairing}/confirm`: the new device confirms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfirmPairingRequest {
    /// `confirm_new`.
    #[serde(with = "hex::serde")]
    pub confirm: [u8; 32],
    /// Its name sealed under the link key (PROTOCOL.md §6.3).
    #[serde(with = "hex::serde")]
    pub encrypted_name: Vec<u8>,
}

/// `POST /v1/pairings/{pairing}/approve`: the approving device hands over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovePairingRequest {
    /// The new device's name sealed under the record key, as every device
    /// name (PROTOCOL.md §8.1), for its device id.
    #[serde(with = "hex::serde")]
    pub encrypted_name: Vec<u8>,
    /// The bundle sealed under the link key.
    #[serde(with = "hex::serde")]
    pub bundle: Vec<u8>,
}

/// Where a pairing stands. A failed pairing is not a state anyone reads: it
/// is answered `410 pairing_failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PairingState {
    /// Opened by the new device; no device has claimed it.
    Open,
    /// An approving device answered.
    Claimed,
    /// The new device confirmed.
    Confirmed,
    /// The approving device handed over the bundle; the new device fetches it next.
    Approved,
}

/// A pairing as the approving device reads it (bearer token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApproverPairingView {
    /// The pairing number.
    pub pairing: String,
    /// Where it stands.
    pub state: PairingState,
    /// Unix ms after which it is gone.
    pub expires_at: u64,
    /// The new device's id.
    pub new_device_id: DeviceId,
    /// The new device's SPAKE2 message.
    #[serde(with = "hex::serde")]
    pub message: Vec<u8>,
    /// `confirm_new`, once the new device confirmed.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_hex")]
    pub confirm: Option<Vec<u8>>,
    /// The new device's name sealed under the link key, once it confirmed.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_hex")]
    pub encrypted_name: Option<Vec<u8>>,
}

/// A pairing as the new device reads it (pairing secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewDevicePairingView {
    /// The pairing number.
    pub pairing: String,
    /// Where it stands.
    pub state: PairingState,
    /// Unix ms after which it is gone.
    pub expires_at: u64,
    /// The approving device's id, once claimed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approver_device_id: Option<DeviceId>,
    /// The approving device's SPAKE2 message, once claimed.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_hex")]
    pub message: Option<Vec<u8>>,
    /// `confirm_approver`, once claimed.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_hex")]
    pub confirm: Option<Vec<u8>>,
    /// The sealed bundle, once approved (answered once: the pairing is then gone).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_hex")]
    pub bundle: Option<Vec<u8>>,
    /// The new device's bearer token, with the bundle (64 hex digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optional_members_are_absent_until_set() {
        let view = NewDevicePairingView {
            pairing: "004217".into(),
            state: PairingState::Open,
            expires_at: 5,
            approver_device_id: None,
            message: None,
            confirm: None,
            bundle: None,
            token: None,
        };
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(json, serde_json::json!({ "pairing": "004217", "state": "open", "expires_at": 5 }));
        assert_eq!(serde_json::from_value::<NewDevicePairingView>(json).unwrap(), view);
        let claimed = NewDevicePairingView { message: Some(vec![0x42, 0xab]), state: PairingState::Claimed, ..view };
        let json = serde_json::to_value(&claimed).unwrap();
        assert_eq!(json["message"], "42ab");
        assert_eq!(json["state"], "claimed");
        assert_eq!(serde_json::from_value::<NewDevicePairingView>(json).unwrap(), claimed);
    }
}
