//! Bodies of the HTTP API (PROTOCOL.md §8), shared by server and client.
//!
//! Sync bodies travel as CBOR (`application/cbor`) through serde and ciborium.
//! Each envelope inside is carried as a byte string holding its canonical
//! encoding, decoded strictly by [`Envelope::decode`]: the server stores
//! exactly the bytes the client sealed and hands back exactly those bytes.
//! Account and device bodies are JSON, with byte strings in lower-case hex;
//! so are the device-linking relay's (`pairing.rs`).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::{AccountId, Cursor, DecodeError, DeviceId, Envelope};

mod pairing;
pub use pairing::*;

/// The canonical encoding of one envelope.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EnvelopeBytes(#[serde(with = "serde_bytes")] pub Vec<u8>);

/// Length only: envelope bytes never reach a log.
impl core::fmt::Debug for EnvelopeBytes {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "EnvelopeBytes({} bytes)", self.0.len())
    }
}

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
    /// Asks for the page this device has not seen in the same answer
    /// (PROTOCOL.md §8.2), so an incremental sync is one round trip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull: Option<PullAfter>,
}

impl PushRequest {
    /// A push that asks for no page.
    pub fn new(envelopes: Vec<EnvelopeBytes>) -> Self {
        Self { envelopes, pull: None }
    }
}

/// The page a push asks for: the envelopes after `after`, with the cursor
/// and paging rules of a pull (PROTOCOL.md §8.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullAfter {
    /// The device's pull cursor.
    pub after: Cursor,
    /// Page size, at least 1 (absent: the server's `max_page_size`; a larger
    /// value is clamped to it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
}

/// The answer to a push: one result per envelope, in request order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushResponse {
    /// `results[i]` is the fate of `envelopes[i]`.
    pub results: Vec<PushResult>,
    /// The account's cursor after the push (its highest `server_seq`).
    pub cursor: Cursor,
    /// The account's log identity and head (PROTOCOL.md §8.2, "Restored
    /// servers"); absent from a server that does not send it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<LogState>,
    /// The page asked for with [`PushRequest::pull`]: what was stored before
    /// this push after the device's cursor; its `next_cursor` passes this
    /// push's own envelopes once the page is complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull: Option<PullResponse>,
}

/// The identity of an account's log: 16 random bytes the server makes with
/// the account and replaces when a device shows that the server lost part of
/// the log (restored from an older backup). Devices remember it: another
/// one means the positions they hold no longer name the same envelopes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LogId(#[serde(with = "serde_bytes")] pub [u8; 16]);

impl core::fmt::Debug for LogId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "LogId({})", hex::encode(self.0))
    }
}

/// The account's log as the server holds it when it answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogState {
    /// The log's identity.
    pub id: LogId,
    /// The account's counter: the highest `server_seq` given out in this log.
    pub head: Cursor,
    /// For each device of the account the server holds a mark for, the
    /// highest `device_seq` it has ever stored from it (the counter rule's
    /// `H`): a device that holds a higher counter from that device, its own
    /// acknowledged ones included, holds something the server lost.
    #[serde(default)]
    pub devices: Vec<DeviceMark>,
}

/// The highest `device_seq` the server has ever stored from one device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceMark {
    /// The device id's 16 bytes.
    #[serde(with = "serde_bytes")]
    pub device: [u8; 16],
    /// Its highest stored `device_seq`.
    pub high: u64,
}

/// `POST /v1/sync/log/renew`: a device found that the server lost part of
/// the log (PROTOCOL.md §8.2, "Restored servers") and asks for a new log
/// identity, so that every other device notices too. `log_id` is the
/// identity the device saw with the evidence: the server replaces it only if
/// it is still current, so two devices finding the same loss renew it once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenewLogRequest {
    /// The identity to replace.
    pub log_id: LogId,
}

/// The fate of one pushed envelope. `Stored` and `Duplicate` mean the device
/// may drop it from its outbox; so does `Superseded`, unless the envelope is
/// still the device's newest change of its record: then someone else pushed
/// under the device's id, and the device keeps it (PROTOCOL.md §12).
/// `Rejected` keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum PushResult {
    /// Stored as the newest envelope of its (record, device) at this position.
    Stored {
        /// The `server_seq` it was stored at.
        seq: Cursor,
    },
    /// The server already holds exactly this envelope: a re-push.
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
    /// Its `device_id` is not the pushing device's: a device pushes only what
    /// it sealed itself.
    DeviceMismatch,
    /// The server holds other bytes under this (record, device, device_seq):
    /// the device reused counters (restored from a backup, or cloned) and must
    /// re-enrol as a new device.
    DeviceSeqReused,
    /// Storing it would exceed [`ServerLimits::max_account_bytes`].
    QuotaExceeded,
    /// Sealed under a key of the account that is no longer its current one:
    /// the data key was rotated, and the device must unlock the new key
    /// (passphrase or linking) before it pushes again.
    StaleKeyId,
    /// Its `device_seq` is more than [`MAX_DEVICE_SEQ_JUMP`] above the
    /// highest the server has ever stored for the device: no device issues
    /// that many counters between two pushes, so someone holding only the
    /// device's token is trying to outrank its future edits.
    DeviceSeqJump,
}

/// How far above the highest `device_seq` a server has ever stored for a
/// device (0 before its first envelope) a pushed `device_seq` may be
/// (PROTOCOL.md §8.2): 2^32, more edits than a device makes between two
/// pushes in its lifetime (a device's outbox of a million queued edits uses a
/// millionth of it), and far below the 2^63 − 1 a counter may reach.
pub const MAX_DEVICE_SEQ_JUMP: u64 = 1 << 32;

impl RejectCode {
    /// The stable wire name (the same string serde writes).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MalformedEnvelope => "malformed_envelope",
            Self::UnsupportedVersion => "unsupported_version",
            Self::UnsupportedSuite => "unsupported_suite",
            Self::UnknownKeyId => "unknown_key_id",
            Self::EnvelopeTooLarge => "envelope_too_large",
            Self::DeviceMismatch => "device_mismatch",
            Self::DeviceSeqReused => "device_seq_reused",
            Self::QuotaExceeded => "quota_exceeded",
            Self::StaleKeyId => "stale_key_id",
            Self::DeviceSeqJump => "device_seq_jump",
        }
    }
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
    /// The account's log identity and head (PROTOCOL.md §8.2, "Restored
    /// servers"); absent from a server that does not send it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<LogState>,
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

impl ServerLimits {
    /// The push every server accepts (PROTOCOL.md §9), so a client sends it
    /// without asking: this many envelopes ...
    pub const GUARANTEED_ENVELOPES_PER_PUSH: u32 = 500;
    /// ... whose encodings add up to at most this many bytes.
    pub const GUARANTEED_PUSH_BYTES: u64 = 4 << 20;
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            max_envelope_bytes: crate::MAX_ENVELOPE_LEN as u64,
            max_envelopes_per_push: 2000,
            max_request_bytes: 8 * 1024 * 1024,
            max_page_size: 1000,
            max_account_bytes: 1024 * 1024 * 1024,
        }
    }
}

/// `GET /v1/meta`: what a client checks before it derives or sends anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaResponse {
    /// Server software version.
    pub server_version: String,
    /// Protocol versions the server accepts for new accounts.
    pub protocol_versions: Vec<u16>,
    /// Envelope format versions it stores.
    pub envelope_versions: Vec<u16>,
    /// Cipher suites it stores.
    pub suites: Vec<u16>,
    /// Whether `POST /v1/accounts` is open.
    pub registration_open: bool,
    /// Its limits.
    pub limits: ServerLimits,
}

/// Largest sealed device name the server stores (`encrypted_name`, in bytes).
pub const MAX_SEALED_DEVICE_NAME_BYTES: usize = 512;

/// Largest device name, in UTF-8 bytes, whose sealed form fits
/// [`MAX_SEALED_DEVICE_NAME_BYTES`]: the sealed form is the 24-byte nonce, the
/// name's ciphertext (as long as the name) and the 16-byte tag, nothing else
/// (PROTOCOL.md §8.1), so 512 − 24 − 16 = 472.
pub const MAX_DEVICE_NAME_BYTES: usize =
    MAX_SEALED_DEVICE_NAME_BYTES - sealsync_crypto::NONCE_LEN - sealsync_crypto::TAG_LEN;

/// A device as registered: its id and its name, sealed by the client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRegistration {
    /// Chosen by the device, at random.
    pub id: DeviceId,
    /// The device's name sealed under the account's keys; opaque to the server.
    #[serde(with = "hex::serde")]
    pub encrypted_name: Vec<u8>,
}

/// `POST /v1/accounts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterRequest {
    /// Chosen by the client (PROTOCOL.md §3.1).
    pub account_id: AccountId,
    /// The account name (canonicalised by the server as in PROTOCOL.md §2.2).
    pub account_name: String,
    /// The protocol version the keys were derived under.
    pub protocol_version: u16,
    /// The random seed the salt was derived from.
    #[serde(with = "hex::serde")]
    pub salt_seed: [u8; 32],
    /// The auth key; the server keeps only a hash.
    #[serde(with = "hex::serde")]
    pub auth_key: [u8; 32],
    /// The data key's id.
    #[serde(with = "hex::serde")]
    pub key_id: [u8; 16],
    /// The wrapped data key (72 bytes).
    #[serde(with = "hex::serde")]
    pub wrapped_data_key: Vec<u8>,
    /// The first device.
    pub device: DeviceRegistration,
    /// A recovery key, unless the user declined one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery: Option<RecoverySetup>,
}

/// The answer to registration, login or recovery: the device's bearer token,
/// shown once, and the account's keys as the server holds them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionResponse {
    /// The account.
    pub account_id: AccountId,
    /// The device now registered.
    pub device_id: DeviceId,
    /// Its bearer token (64 hex digits).
    pub token: String,
    /// The account's protocol version.
    pub protocol_version: u16,
    /// The current data key, wrapped under the passphrase (PROTOCOL.md §3.2).
    pub key: WrappedKey,
    /// Every older data key, sealed under the current one (PROTOCOL.md §3.3).
    pub keyring: Vec<KeyringEntry>,
}

/// One wrapped data key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrappedKey {
    /// Its id.
    #[serde(with = "hex::serde")]
    pub key_id: [u8; 16],
    /// The wrapped key.
    #[serde(with = "hex::serde")]
    pub wrapped_data_key: Vec<u8>,
}

/// An older data key, sealed under the current one (72 bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyringEntry {
    /// Its id.
    #[serde(with = "hex::serde")]
    pub key_id: [u8; 16],
    /// `nonce || XChaCha20-Poly1305[keyring_key(current)](nonce, aad, key)`.
    #[serde(with = "hex::serde")]
    pub sealed_key: Vec<u8>,
}

/// A recovery key as set up by a client (PROTOCOL.md §3.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoverySetup {
    /// Proves the recovery key; the server keeps only a hash.
    #[serde(with = "hex::serde")]
    pub recovery_auth: [u8; 32],
    /// The recovery key's X25519 public key.
    #[serde(with = "hex::serde")]
    pub public_key: [u8; 32],
    /// Its MAC under the passphrase's root key.
    #[serde(with = "hex::serde")]
    pub public_key_mac: [u8; 32],
    /// The current data key wrapped to the public key (104 bytes).
    #[serde(with = "hex::serde")]
    pub wrapped_key: Vec<u8>,
    /// The data key the anchor names (the current one when the recovery key is set).
    #[serde(with = "hex::serde")]
    pub anchor_key_id: [u8; 16],
    /// The anchor: a MAC of that key id under the recovery secret.
    #[serde(with = "hex::serde")]
    pub anchor: [u8; 32],
}

/// The recovery key's public part, as any device of the account sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryInfo {
    /// The recovery key's X25519 public key.
    #[serde(with = "hex::serde")]
    pub public_key: [u8; 32],
    /// Its MAC under the passphrase's root key.
    #[serde(with = "hex::serde")]
    pub public_key_mac: [u8; 32],
    /// Unix ms at which it was set.
    pub created_at: u64,
}

/// `GET /v1/keys`: the account's key state, for any of its devices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeysResponse {
    /// The current data key's id: pushes under any other are refused.
    #[serde(with = "hex::serde")]
    pub current_key_id: [u8; 16],
    /// Unix ms at which the current key was made.
    pub created_at: u64,
    /// Every older key, sealed under the current one.
    pub keyring: Vec<KeyringEntry>,
    /// The recovery key's public part, if the account has one.
    pub recovery: Option<RecoveryInfo>,
}

/// `POST /v1/keys/unlock`: the passphrase's auth key, for the current key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnlockRequest {
    /// The auth key derived from the passphrase.
    #[serde(with = "hex::serde")]
    pub auth_key: [u8; 32],
}

/// The answer to unlock: the current key wrapped under the passphrase, and
/// the keyring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnlockResponse {
    /// The current data key, wrapped under the passphrase.
    pub key: WrappedKey,
    /// Every older key, sealed under the current one.
    pub keyring: Vec<KeyringEntry>,
}

/// `POST /v1/account/passphrase`: proof of the old passphrase and the new
/// passphrase's material.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangePassphraseRequest {
    /// The auth key of the current passphrase.
    #[serde(with = "hex::serde")]
    pub auth_key: [u8; 32],
    /// The new passphrase's salt seed.
    #[serde(with = "hex::serde")]
    pub salt_seed: [u8; 32],
    /// The new passphrase's auth key.
    #[serde(with = "hex::serde")]
    pub new_auth_key: [u8; 32],
    /// The current data key wrapped under the new passphrase.
    pub key: WrappedKey,
    /// Revoke every other device of the account in the same step.
    #[serde(default)]
    pub sign_out_others: bool,
    /// The recovery public key's MAC under the new passphrase, if the account
    /// has a recovery key.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_hex32")]
    pub recovery_public_key_mac: Option<[u8; 32]>,
}

/// An optional 32-byte value as hex.
mod opt_hex32 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<[u8; 32]>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(bytes) => s.serialize_str(&hex::encode(bytes)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<[u8; 32]>, D::Error> {
        let Some(text) = Option::<String>::deserialize(d)? else { return Ok(None) };
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out).map_err(serde::de::Error::custom)?;
        Ok(Some(out))
    }
}

/// `PUT /v1/account/recovery`: a new recovery key, replacing any other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetRecoveryRequest {
    /// The passphrase's auth key.
    #[serde(with = "hex::serde")]
    pub auth_key: [u8; 32],
    /// The data key the recovery key wraps: it must be the current one.
    #[serde(with = "hex::serde")]
    pub key_id: [u8; 16],
    /// The recovery key's material.
    pub recovery: RecoverySetup,
}

/// `POST /v1/account/rotate`: a new current data key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotateRequest {
    /// The passphrase's auth key.
    #[serde(with = "hex::serde")]
    pub auth_key: [u8; 32],
    /// The key that is current now (a rotation based on an older state is refused).
    #[serde(with = "hex::serde")]
    pub previous_key_id: [u8; 16],
    /// The new key, wrapped under the passphrase.
    pub key: WrappedKey,
    /// Every key of the account but the new one, sealed under the new one.
    pub keyring: Vec<KeyringEntry>,
    /// The new key wrapped to the recovery key, if the account has one.
    pub recovery: Option<RotatedRecovery>,
}

/// The recovery key's part of a rotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotatedRecovery {
    /// The new data key wrapped to the recovery public key (104 bytes).
    #[serde(with = "hex::serde")]
    pub wrapped_key: Vec<u8>,
    /// The recovery public key it is wrapped to: the rotation commits only if
    /// it is still the account's (a recovery key set meanwhile refuses it).
    #[serde(with = "hex::serde")]
    pub public_key: [u8; 32],
}

/// `POST /v1/recover/keys`: the recovery key's proof, for the wrapped keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoverKeysRequest {
    /// The account name.
    pub account_name: String,
    /// Proves the recovery key.
    #[serde(with = "hex::serde")]
    pub recovery_auth: [u8; 32],
}

/// The account's keys as the recovery key opens them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoverKeysResponse {
    /// The account.
    pub account_id: AccountId,
    /// Its protocol version.
    pub protocol_version: u16,
    /// The current data key's id.
    #[serde(with = "hex::serde")]
    pub key_id: [u8; 16],
    /// The current data key wrapped to the recovery key (104 bytes).
    #[serde(with = "hex::serde")]
    pub wrapped_key: Vec<u8>,
    /// Every older key, sealed under the current one.
    pub keyring: Vec<KeyringEntry>,
    /// The data key the anchor names.
    #[serde(with = "hex::serde")]
    pub anchor_key_id: [u8; 16],
    /// The anchor made with the recovery key (PROTOCOL.md §3.4).
    #[serde(with = "hex::serde")]
    pub anchor: [u8; 32],
}

/// `POST /v1/recover`: a new passphrase set with the recovery key's proof,
/// and the device that does it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoverRequest {
    /// The account name.
    pub account_name: String,
    /// Proves the recovery key.
    #[serde(with = "hex::serde")]
    pub recovery_auth: [u8; 32],
    /// The new passphrase's salt seed.
    #[serde(with = "hex::serde")]
    pub salt_seed: [u8; 32],
    /// The new passphrase's auth key.
    #[serde(with = "hex::serde")]
    pub auth_key: [u8; 32],
    /// The current data key wrapped under the new passphrase.
    pub key: WrappedKey,
    /// The recovery public key's MAC under the new passphrase.
    #[serde(with = "hex::serde")]
    pub recovery_public_key_mac: [u8; 32],
    /// The device joining.
    pub device: DeviceRegistration,
}

/// `POST /v1/login/params`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginParamsRequest {
    /// The account name.
    pub account_name: String,
}

/// What a client needs to derive its keys. For an unknown name the server
/// answers with a deterministic fake, so the answer reveals nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginParamsResponse {
    /// The account's protocol version.
    pub protocol_version: u16,
    /// The account's salt seed.
    #[serde(with = "hex::serde")]
    pub salt_seed: [u8; 32],
}

/// `POST /v1/login`: registers a new device on an existing account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginRequest {
    /// The account name.
    pub account_name: String,
    /// The auth key derived from the passphrase.
    #[serde(with = "hex::serde")]
    pub auth_key: [u8; 32],
    /// The device signing in.
    pub device: DeviceRegistration,
}

/// `DELETE /v1/account`: the auth key again, because deletion is final.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteAccountRequest {
    /// The auth key derived from the passphrase.
    #[serde(with = "hex::serde")]
    pub auth_key: [u8; 32],
}

/// `PUT /v1/devices/{id}/name`: a device's new name, sealed by the client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenameDeviceRequest {
    /// The name sealed under the account's keys; opaque to the server.
    #[serde(with = "hex::serde")]
    pub encrypted_name: Vec<u8>,
}

/// `GET /v1/devices`, one entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceListEntry {
    /// The device.
    pub id: DeviceId,
    /// Its sealed name.
    #[serde(with = "hex::serde")]
    pub encrypted_name: Vec<u8>,
    /// Unix ms.
    pub created_at: u64,
    /// Unix ms, to the minute.
    pub last_seen_at: u64,
    /// Unix ms of revocation, if revoked.
    pub revoked_at: Option<u64>,
    /// Whether this is the device asking.
    pub current: bool,
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
        return Err(DecodeError::TooLarge { what: "message", len: bytes.len(), max: max_len });
    }
    let mut rest = bytes;
    let value = ciborium::from_reader(&mut rest).map_err(|e| DecodeError::Message(e.to_string()))?;
    match rest.len() {
        0 => Ok(value),
        extra => Err(DecodeError::TrailingBytes(extra)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The log state's CBOR is `"log": {"id": bytes16, "head": uint}`, and an
    /// answer without it (an older server) still decodes.
    #[test]
    fn log_state_is_a_map_of_id_bytes_and_head() {
        let page = PullResponse {
            envelopes: vec![],
            next_cursor: Cursor(3),
            more: false,
            log: Some(LogState {
                id: LogId([7; 16]),
                head: Cursor(9),
                devices: vec![DeviceMark { device: [1; 16], high: 4 }],
            }),
        };
        let bytes = to_cbor(&page);
        let value: ciborium::Value = ciborium::de::from_reader(&bytes[..]).unwrap();
        let log = value.as_map().unwrap().iter().find(|(k, _)| k.as_text() == Some("log")).unwrap().1.clone();
        let fields = log.as_map().unwrap();
        assert_eq!(fields[0].0.as_text(), Some("id"));
        assert_eq!(fields[0].1.as_bytes().map(Vec::as_slice), Some(&[7u8; 16][..]));
        assert_eq!(fields[1].0.as_text(), Some("head"));
        assert_eq!(fields[1].1.as_integer(), Some(9.into()));
        assert_eq!(fields[2].0.as_text(), Some("devices"));
        let mark = fields[2].1.as_array().unwrap()[0].as_map().unwrap().clone();
        assert_eq!(mark[0].0.as_text(), Some("device"));
        assert_eq!(mark[0].1.as_bytes().map(Vec::as_slice), Some(&[1u8; 16][..]));
        assert_eq!(mark[1].0.as_text(), Some("high"));
        assert_eq!(mark[1].1.as_integer(), Some(4.into()));
        assert_eq!(from_cbor::<PullResponse>(&bytes, 1024).unwrap(), page);
        let older = PullResponse { log: None, ..page };
        assert_eq!(from_cbor::<PullResponse>(&to_cbor(&older), 1024).unwrap().log, None);
    }

    #[test]
    fn push_response_round_trips_with_stable_names() {
        let response = PushResponse {
            results: vec![
                PushResult::Stored { seq: Cursor(7) },
                PushResult::Duplicate,
                PushResult::Superseded,
                PushResult::Rejected { code: RejectCode::UnknownKeyId },
            ],
            cursor: Cursor(7),
            log: None,
            pull: None,
        };
        let bytes = to_cbor(&response);
        assert_eq!(from_cbor::<PushResponse>(&bytes, 1024).unwrap(), response);
        let as_json = serde_json::to_string(&response.results[3]).unwrap();
        assert_eq!(as_json, r#"{"outcome":"rejected","code":"unknown_key_id"}"#);
    }

    /// The page a push asks for is an optional member on both sides: a push
    /// without it is byte for byte what it was before, and a reader that
    /// does not know it ignores it (unknown keys are ignored, PROTOCOL.md §8.2).
    #[test]
    fn the_page_of_a_push_is_optional_on_the_wire() {
        let plain = PushRequest::new(vec![EnvelopeBytes(vec![1])]);
        let bytes = to_cbor(&plain);
        assert!(!bytes.windows(4).any(|w| w == b"pull"), "no pull member when none is asked for");
        assert_eq!(from_cbor::<PushRequest>(&bytes, 1024).unwrap(), plain);

        let asking = PushRequest { pull: Some(PullAfter { after: Cursor(41), limit: Some(1000) }), ..plain };
        assert_eq!(from_cbor::<PushRequest>(&to_cbor(&asking), 1024).unwrap(), asking);
        let default_limit = PushRequest { pull: Some(PullAfter { after: Cursor(0), limit: None }), ..asking.clone() };
        assert_eq!(from_cbor::<PushRequest>(&to_cbor(&default_limit), 1024).unwrap(), default_limit);

        let page = PullResponse {
            envelopes: vec![PulledEnvelope { seq: Cursor(42), envelope: EnvelopeBytes(vec![2]) }],
            next_cursor: Cursor(43),
            more: false,
            log: None,
        };
        let answer = PushResponse {
            results: vec![PushResult::Stored { seq: Cursor(43) }],
            cursor: Cursor(43),
            log: None,
            pull: Some(page),
        };
        assert_eq!(from_cbor::<PushResponse>(&to_cbor(&answer), 1024).unwrap(), answer);
    }

    #[test]
    fn reject_code_names_match_their_wire_form() {
        use RejectCode::*;
        for code in [
            MalformedEnvelope,
            UnsupportedVersion,
            UnsupportedSuite,
            UnknownKeyId,
            EnvelopeTooLarge,
            DeviceMismatch,
            DeviceSeqReused,
            QuotaExceeded,
            DeviceSeqJump,
        ] {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
    }

    #[test]
    fn trailing_bytes_oversize_and_garbage_are_typed_errors() {
        let mut bytes = to_cbor(&PushRequest::new(vec![EnvelopeBytes(vec![1, 2, 3])]));
        assert!(from_cbor::<PushRequest>(&bytes, 1024).is_ok());
        assert_eq!(
            from_cbor::<PushRequest>(&bytes, 3).unwrap_err(),
            DecodeError::TooLarge { what: "message", len: bytes.len(), max: 3 }
        );
        bytes.push(0);
        assert_eq!(from_cbor::<PushRequest>(&bytes, 1024).unwrap_err(), DecodeError::TrailingBytes(1));
        assert!(matches!(from_cbor::<PushRequest>(&[0xff, 0x00], 1024), Err(DecodeError::Message(_))));
    }
}
