//! The JSON bodies of the account and device endpoints as they arrive, and
//! their field-by-field checks (PROTOCOL.md §8.1); those of the device-linking
//! relay (§8.3) are in `wire/pairings.rs`.
//!
//! The bodies are first read with every id and byte string as plain text, so
//! a body that is valid JSON of the right shape reaches the checks below and a
//! bad field is answered with the code of that field (`invalid_key_id`, ...)
//! rather than the catch-all `malformed_json`. The checks are strict, as the
//! protocol is: byte strings are lower-case hex of their exact length, ids are
//! lower-case hyphenated UUID text, and the ids a client chooses are random
//! (version 4, variant RFC 9562) UUIDs. The result is the shared DTO, so the
//! client's and the server's view of a body cannot drift apart.

use sealsync_crypto::{AccountName, ProtocolVersion, WrappedDataKey, accept_version};
use sealsync_crypto::{RecoveryWrapped, SealedKey};
use sealsync_envelope::dto::{
    ChangePassphraseRequest, DeleteAccountRequest, DeviceRegistration, KeyringEntry, LoginRequest,
    MAX_SEALED_DEVICE_NAME_BYTES, RecoverKeysRequest, RecoverRequest, RecoverySetup, RegisterRequest,
    RenameDeviceRequest, RotateRequest, RotatedRecovery, SetRecoveryRequest, UnlockRequest, WrappedKey,
};
use sealsync_envelope::{AccountId, DeviceId};
use serde::Deserialize;
use uuid::Uuid;

use crate::error::ApiError;

mod pairings;
pub use pairings::{ApprovePairingBody, ClaimPairingBody, ConfirmPairingBody, CreatePairingBody, pairing_number};

/// Whether `text` is only the digits `0-9 a-f`.
fn is_lower_hex(text: &str) -> bool {
    text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Exactly `2 * N` lower-case hex digits.
fn hex_array<const N: usize>(text: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    (text.len() == 2 * N && is_lower_hex(text)).then_some(())?;
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

/// An even number of lower-case hex digits, at most `2 * max` of them.
fn hex_vec(text: &str, max: usize) -> Option<Vec<u8>> {
    (text.len().is_multiple_of(2) && text.len() <= 2 * max && is_lower_hex(text)).then_some(())?;
    hex::decode(text).ok()
}

/// UUID text in its one canonical form: 36 characters, lower-case hex digits
/// in the groups 8-4-4-4-12, separated by hyphens (RFC 9562 §4, lower case).
/// The simple, braced, URN and upper-case forms are refused.
pub fn uuid_text(text: &str) -> Option<Uuid> {
    let uuid = Uuid::try_parse(text).ok()?;
    (uuid.hyphenated().to_string() == text).then_some(uuid)
}

/// [`uuid_text`] of a random UUID: version 4, variant RFC 9562 (the ids a
/// client chooses, PROTOCOL.md §3.1).
pub fn random_uuid_text(text: &str) -> Option<Uuid> {
    uuid_text(text)
        .filter(|u| u.get_version() == Some(uuid::Version::Random) && u.get_variant() == uuid::Variant::RFC4122)
}

/// The account name in canonical form (PROTOCOL.md §2.2).
pub fn account_name(name: &str) -> Result<AccountName, ApiError> {
    AccountName::parse(name).map_err(|e| ApiError::bad_request("invalid_account_name", e.to_string()))
}

fn protocol_version(version: u64) -> Result<ProtocolVersion, ApiError> {
    u16::try_from(version).ok().and_then(|v| accept_version(v, None).ok()).ok_or_else(|| {
        ApiError::bad_request(
            "unsupported_protocol_version",
            format!("protocol version {version} is not supported by this server"),
        )
    })
}

fn salt_seed(text: &str) -> Result<[u8; 32], ApiError> {
    hex_array(text)
        .ok_or_else(|| ApiError::bad_request("invalid_salt_seed", "salt_seed must be 64 lower-case hex digits"))
}

fn auth_key(text: &str) -> Result<[u8; 32], ApiError> {
    hex_array(text)
        .ok_or_else(|| ApiError::bad_request("invalid_auth_key", "auth_key must be 64 lower-case hex digits"))
}

fn key_id(text: &str) -> Result<[u8; 16], ApiError> {
    hex_array(text).ok_or_else(|| ApiError::bad_request("invalid_key_id", "key_id must be 32 lower-case hex digits"))
}

fn wrapped_data_key(text: &str) -> Result<Vec<u8>, ApiError> {
    let bytes: [u8; WrappedDataKey::LEN] = hex_array(text).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_wrapped_key",
            format!("wrapped_data_key must be {} lower-case hex digits", 2 * WrappedDataKey::LEN),
        )
    })?;
    Ok(bytes.to_vec())
}

fn account_id(text: &str) -> Result<AccountId, ApiError> {
    random_uuid_text(text).map(AccountId).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_account_id",
            "account_id must be a random (version 4) UUID in lower-case hyphenated form",
        )
    })
}

fn device_id(text: &str) -> Result<DeviceId, ApiError> {
    random_uuid_text(text).map(DeviceId).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_device_id",
            "the device id must be a random (version 4) UUID in lower-case hyphenated form",
        )
    })
}

/// A sealed device name: lower-case hex of at most [`MAX_SEALED_DEVICE_NAME_BYTES`] bytes.
fn encrypted_name(text: &str) -> Result<Vec<u8>, ApiError> {
    hex_vec(text, MAX_SEALED_DEVICE_NAME_BYTES).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_device_name",
            format!("encrypted_name must be lower-case hex of at most {MAX_SEALED_DEVICE_NAME_BYTES} bytes"),
        )
    })
}

/// `device` in a register or login body.
#[derive(Debug, Deserialize)]
pub struct DeviceBody {
    id: String,
    encrypted_name: String,
}

impl DeviceBody {
    fn check(self) -> Result<DeviceRegistration, ApiError> {
        Ok(DeviceRegistration { id: device_id(&self.id)?, encrypted_name: encrypted_name(&self.encrypted_name)? })
    }
}

/// `POST /v1/accounts`, as it arrives.
#[derive(Debug, Deserialize)]
pub struct RegisterBody {
    account_id: String,
    account_name: String,
    protocol_version: u64,
    salt_seed: String,
    auth_key: String,
    key_id: String,
    wrapped_data_key: String,
    device: DeviceBody,
    #[serde(default)]
    recovery: Option<RecoveryBody>,
}

impl RegisterBody {
    /// Checks the fields in the order PROTOCOL.md §8.1 lists them; the first
    /// bad one is the answer. Returns the request with the account name in
    /// canonical form, and the parsed name and version.
    pub fn check(self) -> Result<(RegisterRequest, AccountName, ProtocolVersion), ApiError> {
        let account_id = account_id(&self.account_id)?;
        let name = account_name(&self.account_name)?;
        let version = protocol_version(self.protocol_version)?;
        let request = RegisterRequest {
            account_id,
            account_name: name.as_str().to_owned(),
            protocol_version: version.get(),
            salt_seed: salt_seed(&self.salt_seed)?,
            auth_key: auth_key(&self.auth_key)?,
            key_id: key_id(&self.key_id)?,
            wrapped_data_key: wrapped_data_key(&self.wrapped_data_key)?,
            device: self.device.check()?,
            recovery: self.recovery.map(RecoveryBody::check).transpose()?,
        };
        Ok((request, name, version))
    }
}

/// `POST /v1/login`, as it arrives.
#[derive(Debug, Deserialize)]
pub struct LoginBody {
    account_name: String,
    auth_key: String,
    device: DeviceBody,
}

impl LoginBody {
    /// Checks the fields in order (name, auth key, device); the first bad one
    /// is the answer. Returns the request with the account name in canonical
    /// form, and the parsed name.
    pub fn check(self) -> Result<(LoginRequest, AccountName), ApiError> {
        let name = account_name(&self.account_name)?;
        let request = LoginRequest {
            account_name: name.as_str().to_owned(),
            auth_key: auth_key(&self.auth_key)?,
            device: self.device.check()?,
        };
        Ok((request, name))
    }
}

/// `DELETE /v1/account`, as it arrives.
#[derive(Debug, Deserialize)]
pub struct DeleteAccountBody {
    auth_key: String,
}

impl DeleteAccountBody {
    /// Checks `auth_key`.
    pub fn check(self) -> Result<DeleteAccountRequest, ApiError> {
        Ok(DeleteAccountRequest { auth_key: auth_key(&self.auth_key)? })
    }
}

/// `PUT /v1/devices/{id}/name`, as it arrives.
#[derive(Debug, Deserialize)]
pub struct RenameDeviceBody {
    encrypted_name: String,
}

impl RenameDeviceBody {
    /// Checks `encrypted_name`.
    pub fn check(self) -> Result<RenameDeviceRequest, ApiError> {
        Ok(RenameDeviceRequest { encrypted_name: encrypted_name(&self.encrypted_name)? })
    }
}

/// A 32-byte value of the recovery key (`recovery_auth`, `public_key`,
/// `public_key_mac`): each refused with its own field name.
fn bytes32(text: &str, field: &'static str) -> Result<[u8; 32], ApiError> {
    hex_array(text)
        .ok_or_else(|| ApiError::bad_request("invalid_recovery", format!("{field} must be 64 lower-case hex digits")))
}

fn recovery_wrapped(text: &str) -> Result<Vec<u8>, ApiError> {
    let bytes: [u8; RecoveryWrapped::LEN] = hex_array(text).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_recovery",
            format!("wrapped_key must be {} lower-case hex digits", 2 * RecoveryWrapped::LEN),
        )
    })?;
    Ok(bytes.to_vec())
}

/// A wrapped key: `{key_id, wrapped_data_key}`.
#[derive(Debug, Deserialize)]
pub struct WrappedKeyBody {
    key_id: String,
    wrapped_data_key: String,
}

impl WrappedKeyBody {
    fn check(self) -> Result<WrappedKey, ApiError> {
        Ok(WrappedKey { key_id: key_id(&self.key_id)?, wrapped_data_key: wrapped_data_key(&self.wrapped_data_key)? })
    }
}

/// A keyring entry: `{key_id, sealed_key}`.
#[derive(Debug, Deserialize)]
pub struct KeyringEntryBody {
    key_id: String,
    sealed_key: String,
}

impl KeyringEntryBody {
    fn check(self) -> Result<KeyringEntry, ApiError> {
        let sealed: [u8; SealedKey::LEN] = hex_array(&self.sealed_key).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_keyring",
                format!("sealed_key must be {} lower-case hex digits", 2 * SealedKey::LEN),
            )
        })?;
        Ok(KeyringEntry { key_id: key_id(&self.key_id)?, sealed_key: sealed.to_vec() })
    }
}

/// The keyring of a rotation: at most this many keys, which is what a 64 KiB
/// JSON body holds with room to spare (an entry is about 200 bytes of JSON);
/// an account can rotate its data key 255 times.
pub const MAX_KEYRING: usize = 256;

fn keyring(entries: Vec<KeyringEntryBody>) -> Result<Vec<KeyringEntry>, ApiError> {
    if entries.len() > MAX_KEYRING {
        return Err(ApiError::bad_request("invalid_keyring", format!("more than {MAX_KEYRING} keys")));
    }
    entries.into_iter().map(KeyringEntryBody::check).collect()
}

/// A recovery key's setup, as it arrives.
#[derive(Debug, Deserialize)]
pub struct RecoveryBody {
    recovery_auth: String,
    public_key: String,
    public_key_mac: String,
    wrapped_key: String,
    anchor_key_id: String,
    anchor: String,
}

impl RecoveryBody {
    fn check(self) -> Result<RecoverySetup, ApiError> {
        Ok(RecoverySetup {
            recovery_auth: bytes32(&self.recovery_auth, "recovery_auth")?,
            public_key: bytes32(&self.public_key, "public_key")?,
            public_key_mac: bytes32(&self.public_key_mac, "public_key_mac")?,
            wrapped_key: recovery_wrapped(&self.wrapped_key)?,
            anchor_key_id: key_id(&self.anchor_key_id)?,
            anchor: bytes32(&self.anchor, "anchor")?,
        })
    }
}

/// `POST /v1/keys/unlock`, as it arrives.
#[derive(Debug, Deserialize)]
pub struct UnlockBody {
    auth_key: String,
}

impl UnlockBody {
    /// Checks `auth_key`.
    pub fn check(self) -> Result<UnlockRequest, ApiError> {
        Ok(UnlockRequest { auth_key: auth_key(&self.auth_key)? })
    }
}

/// `POST /v1/account/passphrase`, as it arrives.
#[derive(Debug, Deserialize)]
pub struct ChangePassphraseBody {
    auth_key: String,
    salt_seed: String,
    new_auth_key: String,
    key: WrappedKeyBody,
    #[serde(default)]
    sign_out_others: bool,
    #[serde(default)]
    recovery_public_key_mac: Option<String>,
}

impl ChangePassphraseBody {
    /// Checks the fields in order.
    pub fn check(self) -> Result<ChangePassphraseRequest, ApiError> {
        Ok(ChangePassphraseRequest {
            auth_key: auth_key(&self.auth_key)?,
            salt_seed: salt_seed(&self.salt_seed)?,
            new_auth_key: auth_key(&self.new_auth_key)?,
            key: self.key.check()?,
            sign_out_others: self.sign_out_others,
            recovery_public_key_mac: self
                .recovery_public_key_mac
                .map(|mac| bytes32(&mac, "recovery_public_key_mac"))
                .transpose()?,
        })
    }
}

/// `PUT /v1/account/recovery`, as it arrives.
#[derive(Debug, Deserialize)]
pub struct SetRecoveryBody {
    auth_key: String,
    key_id: String,
    recovery: RecoveryBody,
}

impl SetRecoveryBody {
    /// Checks the fields in order.
    pub fn check(self) -> Result<SetRecoveryRequest, ApiError> {
        Ok(SetRecoveryRequest {
            auth_key: auth_key(&self.auth_key)?,
            key_id: key_id(&self.key_id)?,
            recovery: self.recovery.check()?,
        })
    }
}

/// `POST /v1/account/rotate`, as it arrives.
#[derive(Debug, Deserialize)]
pub struct RotateBody {
    auth_key: String,
    previous_key_id: String,
    key: WrappedKeyBody,
    keyring: Vec<KeyringEntryBody>,
    #[serde(default)]
    recovery: Option<RotatedRecoveryBody>,
}

/// The recovery part of a rotation, as it arrives.
#[derive(Debug, Deserialize)]
pub struct RotatedRecoveryBody {
    wrapped_key: String,
    public_key: String,
}

impl RotateBody {
    /// Checks the fields in order.
    pub fn check(self) -> Result<RotateRequest, ApiError> {
        Ok(RotateRequest {
            auth_key: auth_key(&self.auth_key)?,
            previous_key_id: key_id(&self.previous_key_id)?,
            key: self.key.check()?,
            keyring: keyring(self.keyring)?,
            recovery: match self.recovery {
                Some(r) => Some(RotatedRecovery {
                    wrapped_key: recovery_wrapped(&r.wrapped_key)?,
                    public_key: bytes32(&r.public_key, "public_key")?,
                }),
                None => None,
            },
        })
    }
}

/// `POST /v1/recover/keys`, as it arrives.
#[derive(Debug, Deserialize)]
pub struct RecoverKeysBody {
    account_name: String,
    recovery_auth: String,
}

impl RecoverKeysBody {
    /// Checks the fields in order; returns the request with the canonical name.
    pub fn check(self) -> Result<(RecoverKeysRequest, AccountName), ApiError> {
        let name = account_name(&self.account_name)?;
        let request = RecoverKeysRequest {
            account_name: name.as_str().to_owned(),
            recovery_auth: bytes32(&self.recovery_auth, "recovery_auth")?,
        };
        Ok((request, name))
    }
}

/// `POST /v1/recover`, as it arrives.
#[derive(Debug, Deserialize)]
pub struct RecoverBody {
    account_name: String,
    recovery_auth: String,
    salt_seed: String,
    auth_key: String,
    key: WrappedKeyBody,
    recovery_public_key_mac: String,
    device: DeviceBody,
}

impl RecoverBody {
    /// Checks the fields in order; returns the request with the canonical name.
    pub fn check(self) -> Result<(RecoverRequest, AccountName), ApiError> {
        let name = account_name(&self.account_name)?;
        let request = RecoverRequest {
            account_name: name.as_str().to_owned(),
            recovery_auth: bytes32(&self.recovery_auth, "recovery_auth")?,
            salt_seed: salt_seed(&self.salt_seed)?,
            auth_key: auth_key(&self.auth_key)?,
            key: self.key.check()?,
            recovery_public_key_mac: bytes32(&self.recovery_public_key_mac, "recovery_public_key_mac")?,
            device: self.device.check()?,
        };
        Ok((request, name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code<T>(result: Result<T, ApiError>) -> &'static str {
        result.err().map_or("ok", |e| e.code)
    }

    #[test]
    fn uuids_must_be_lower_case_hyphenated_and_random() {
        let v4 = "0f8fad5b-d9cb-469f-a165-70867728950e";
        assert_eq!(random_uuid_text(v4).map(|u| u.to_string()), Some(v4.to_owned()));
        for refused in [
            "0F8FAD5B-D9CB-469F-A165-70867728950E",   // upper case
            "0f8fad5bd9cb469fa16570867728950e",       // simple form
            "{0f8fad5b-d9cb-469f-a165-70867728950e}", // braced
            "urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e",
            "0f8fad5b-d9cb-169f-a165-70867728950e", // version 1
            "0f8fad5b-d9cb-469f-c165-70867728950e", // variant Microsoft
            "00000000-0000-0000-0000-000000000000", // nil
            "0f8fad5b-d9cb-469f-a165-70867728950",  // short
        ] {
            assert_eq!(random_uuid_text(refused), None, "{refused}");
        }
        // Path ids need the canonical text only.
        assert!(uuid_text("0f8fad5b-d9cb-169f-a165-70867728950e").is_some());
        assert!(uuid_text("0F8FAD5B-D9CB-169F-A165-70867728950E").is_none());
    }

    #[test]
    fn hex_fields_are_lower_case_and_exact() {
        assert_eq!(code(key_id(&"ab".repeat(16))), "ok");
        assert_eq!(code(key_id(&"ab".repeat(15))), "invalid_key_id");
        assert_eq!(code(key_id(&"ab".repeat(17))), "invalid_key_id");
        assert_eq!(code(key_id(&"AB".repeat(16))), "invalid_key_id");
        assert_eq!(code(salt_seed(&"0g".repeat(32))), "invalid_salt_seed");
        assert_eq!(code(auth_key(&"0".repeat(63))), "invalid_auth_key");
        assert_eq!(code(wrapped_data_key(&"00".repeat(72))), "ok");
        assert_eq!(code(wrapped_data_key(&"00".repeat(71))), "invalid_wrapped_key");
        assert_eq!(code(encrypted_name("")), "ok");
        assert_eq!(code(encrypted_name(&"ab".repeat(512))), "ok");
        assert_eq!(code(encrypted_name(&"ab".repeat(513))), "invalid_device_name");
        assert_eq!(code(encrypted_name("abc")), "invalid_device_name");
        assert_eq!(code(encrypted_name("AB")), "invalid_device_name");
    }

    /// What the client serialises, the server reads back unchanged.
    #[test]
    fn the_shared_dtos_pass_their_own_checks() {
        let request = RegisterRequest {
            account_id: AccountId::random(),
            account_name: "someone@example.org".into(),
            protocol_version: 1,
            salt_seed: [0xa1; 32],
            auth_key: [0xb2; 32],
            key_id: [0xc3; 16],
            wrapped_data_key: vec![0xd4; WrappedDataKey::LEN],
            device: DeviceRegistration { id: DeviceId::random(), encrypted_name: vec![0xef; 40] },
            recovery: Some(RecoverySetup {
                recovery_auth: [1; 32],
                public_key: [2; 32],
                public_key_mac: [3; 32],
                wrapped_key: vec![4; RecoveryWrapped::LEN],
                anchor_key_id: [12; 16],
                anchor: [13; 32],
            }),
        };
        let body: RegisterBody = serde_json::from_value(serde_json::to_value(&request).unwrap()).unwrap();
        assert_eq!(body.check().unwrap().0, request);
        let rotate = RotateRequest {
            auth_key: [5; 32],
            previous_key_id: [6; 16],
            key: WrappedKey { key_id: [7; 16], wrapped_data_key: vec![8; WrappedDataKey::LEN] },
            keyring: vec![KeyringEntry { key_id: [6; 16], sealed_key: vec![9; SealedKey::LEN] }],
            recovery: Some(RotatedRecovery { wrapped_key: vec![10; RecoveryWrapped::LEN], public_key: [11; 32] }),
        };
        let body: RotateBody = serde_json::from_value(serde_json::to_value(&rotate).unwrap()).unwrap();
        assert_eq!(body.check().unwrap(), rotate);
        let login = LoginRequest { account_name: "x@y".into(), auth_key: [0xfe; 32], device: request.device.clone() };
        let body: LoginBody = serde_json::from_value(serde_json::to_value(&login).unwrap()).unwrap();
        assert_eq!(body.check().unwrap().0, login);
    }
}
