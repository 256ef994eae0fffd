//! sealsync's own test vectors: every construction of docs/PROTOCOL.md computed
//! from fixed inputs, with each intermediate value, so that an implementation in
//! another language can check itself step by step.
//!
//! [`generate`] builds every file; `cargo run -p sealsync-test-vectors` writes
//! them to `test-vectors/v1/`, and the tests regenerate and compare them, then
//! open every vector from the JSON through the production API alone.
//!
//! The generator needs fixed nonces and random scalars, which sealsync's own
//! code never accepts. So it composes each construction itself from the
//! specification: the AEAD straight from the `chacha20poly1305` crate, SPAKE2
//! over Edwards25519 from `curve25519-dalek`, the HKDF steps from
//! `sealsync_crypto::primitives`, and the public encoders (payload CBOR,
//! padding, AAD, envelope). The tests then open every
//! vector with the production API, so generator and product check each other.

use serde::{Deserialize, Serialize};

mod accounts;
mod clock;
mod decoding;
pub mod keys;
mod link;
pub mod records;

pub use accounts::{
    AccountsFile, AuthKeyHashVector, DeviceNameVector, FakeSaltSeedVector, accounts_file, device_name_vectors,
};
pub use clock::{HlcStep, HlcVector, hlc_vectors};
pub use decoding::{DecodableEnvelopeVector, InvalidEnvelopeVector, OpenErrorVector, open_error_class};
pub use link::{LinkCodeVector, LinkFile, LinkVector, SPAKE2_M, SPAKE2_N, link_file};

use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use sealsync_crypto::{
    AccountName, DataKey, KdfParams, Passphrase, ProtocolVersion, RootKey, SaltSeed, WrapContext, argon2id_salt,
    derive_root_key,
};
use sealsync_envelope::padding::pad;
use sealsync_envelope::{
    AccountId, DeviceId, DeviceSeq, Envelope, EnvelopeHeader, Hlc, RecordId, RecordKind, RecordPayload, UnixMillis,
};

/// Lower-case hex, the encoding of every byte string in the files.
pub fn hex(bytes: impl AsRef<[u8]>) -> String {
    hex::encode(bytes)
}

/// `XChaCha20-Poly1305[key](nonce, aad, plaintext)` with a fixed nonce, straight
/// from the AEAD crate (PROTOCOL.md §1).
fn xchacha_seal(key: &[u8; 32], nonce: &[u8; 24], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let mut buffer = plaintext.to_vec();
    XChaCha20Poly1305::new(&(*key).into())
        .encrypt_in_place(&XNonce::from(*nonce), aad, &mut buffer)
        .expect("a Vec grows to hold the tag");
    buffer
}

/// `start, start + 1, ...`: the fixed "random" inputs.
fn counting<const N: usize>(start: u8) -> [u8; N] {
    core::array::from_fn(|i| start.wrapping_add(i as u8))
}

/// Argon2id costs as written in the files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kdf {
    /// Memory, KiB.
    pub m_kib: u32,
    /// Passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl From<KdfParams> for Kdf {
    fn from(k: KdfParams) -> Self {
        Self { m_kib: k.m_kib, t: k.t, p: k.p }
    }
}

/// `root-key.json`: passphrase to root key (PROTOCOL.md §2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootKeyVector {
    /// What the case shows.
    pub comment: String,
    /// Protocol version the server named.
    pub version: u16,
    /// The costs that version fixes.
    pub kdf: Kdf,
    /// The passphrase as typed.
    pub passphrase: String,
    /// Its NFC normalisation's UTF-8 bytes: what Argon2id hashes.
    pub passphrase_nfc: String,
    /// The account name as typed.
    pub account_name_input: String,
    /// Its canonical form, whose bytes are the salt derivation's IKM.
    pub account_name: String,
    /// The server's salt seed.
    pub salt_seed: String,
    /// `HKDF-SHA256[salt_seed, "sealsync/v1/argon2id-salt"](account_name, 32)`.
    pub argon2id_salt: String,
    /// `Argon2id[m, t, p](passphrase, salt, 32)`.
    pub root_key: String,
}

/// `subkeys.json`: the HKDF steps of the key hierarchy (PROTOCOL.md §3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubkeyVector {
    /// Input root key.
    pub root_key: String,
    /// `HKDF-SHA256["", "sealsync/v1/auth"](root_key, 32)`.
    pub auth_key: String,
    /// `HKDF-SHA256["", "sealsync/v1/wrap"](root_key, 32)`.
    pub wrap_key: String,
    /// Input data key.
    pub data_key: String,
    /// `HKDF-SHA256["", "sealsync/v1/records"](data_key, 32)`.
    pub record_key: String,
    /// `HKDF-SHA256["", "sealsync/v1/key-id"](data_key, 16)`.
    pub key_id: String,
}

/// `wrap.json`: the wrapped data key (PROTOCOL.md §3.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrapVector {
    /// The wrap key.
    pub wrap_key: String,
    /// The data key wrapped.
    pub data_key: String,
    /// Its key id.
    pub key_id: String,
    /// Account id, 16 bytes.
    pub account_id: String,
    /// Protocol version.
    pub version: u16,
    /// KDF costs bound in the AAD.
    pub kdf: Kdf,
    /// The 62-byte AAD.
    pub aad: String,
    /// The nonce (random in production).
    pub nonce: String,
    /// `nonce || ciphertext || tag`, 72 bytes.
    pub wrapped: String,
}

/// The plaintext fields of a record, as written in `envelope.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayloadFields {
    /// Record kind.
    pub kind: String,
    /// Packed HLC, as an integer.
    pub hlc: u64,
    /// Its wall-clock part.
    pub hlc_wall_ms: u64,
    /// Its counter part.
    pub hlc_counter: u16,
    /// Unix milliseconds.
    pub created_at: u64,
    /// Unix milliseconds, or null for a live record.
    pub deleted_at: Option<u64>,
    /// Body bytes.
    pub body: String,
}

impl PayloadFields {
    /// The payload these fields describe.
    pub fn to_payload(&self) -> RecordPayload {
        RecordPayload {
            kind: RecordKind::new(self.kind.clone()).expect("vector kinds are valid"),
            hlc: Hlc::from_u64(self.hlc),
            created_at: UnixMillis(self.created_at),
            deleted_at: self.deleted_at.map(UnixMillis),
            body: hex::decode(&self.body).expect("vector hex is valid"),
        }
    }
}

/// `envelope.json` (valid cases): one record sealed (PROTOCOL.md §4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeVector {
    /// What the case shows.
    pub comment: String,
    /// Account id.
    pub account_id: String,
    /// Data key (its record key and key id follow).
    pub data_key: String,
    /// Record key.
    pub record_key: String,
    /// Key id.
    pub key_id: String,
    /// Header: record id.
    pub record_id: String,
    /// Header: device id.
    pub device_id: String,
    /// Header: device counter.
    pub device_seq: u64,
    /// The plaintext fields.
    pub payload: PayloadFields,
    /// Canonical CBOR of the payload map.
    pub payload_cbor: String,
    /// `u32be(len) || payload_cbor || zeros`, to the bucket.
    pub padded_plaintext: String,
    /// The 76-byte AAD.
    pub aad: String,
    /// Nonce (random in production).
    pub nonce: String,
    /// `XChaCha20-Poly1305[record_key](nonce, aad, padded_plaintext)`, tag included.
    pub ciphertext: String,
    /// The canonical CBOR envelope.
    pub envelope: String,
}

/// The whole `envelope.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeFile {
    /// Envelopes that decode and open.
    pub valid: Vec<EnvelopeVector>,
    /// Envelopes that decode (built by hand, not sealed: not opened).
    pub decodes: Vec<DecodableEnvelopeVector>,
    /// Envelopes that must not decode.
    pub invalid: Vec<InvalidEnvelopeVector>,
    /// Envelopes that decode and must not open.
    pub open_errors: Vec<OpenErrorVector>,
}

/// Every vector file: name and pretty JSON with a trailing newline.
pub fn generate() -> Vec<(&'static str, String)> {
    fn json<T: Serialize>(value: &T) -> String {
        serde_json::to_string_pretty(value).expect("vectors serialize") + "\n"
    }
    vec![
        ("root-key.json", json(&root_key_vectors())),
        ("subkeys.json", json(&subkey_vectors())),
        ("wrap.json", json(&wrap_vectors())),
        ("envelope.json", json(&envelope_file())),
        ("link.json", json(&link::link_file())),
        ("merge.json", json(&records::merge_vectors())),
        ("record-body.json", json(&records::record_body_vectors(seal_vector))),
        ("keyring.json", json(&keys::keyring_vectors())),
        ("recovery.json", json(&keys::recovery_vectors())),
        ("hlc.json", json(&hlc_vectors())),
        ("device-name.json", json(&device_name_vectors())),
        ("accounts.json", json(&accounts_file())),
    ]
}

/// Passphrase to root key, for v1's pinned costs.
pub fn root_key_vectors() -> Vec<RootKeyVector> {
    let cases = [
        ("ASCII passphrase, canonical name", "correct horse battery staple", "alice@example.org", counting(0x00)),
        (
            "passphrase typed decomposed (u + U+0308), hashed in NFC; name typed with capitals and spaces",
            "Zu\u{308}rich — ß → 🔑",
            "  Bob.Smith+Journal@Example.ORG ",
            counting(0xa0),
        ),
    ];
    cases
        .into_iter()
        .map(|(comment, passphrase, name_input, seed)| {
            let version = ProtocolVersion::V1;
            let account = AccountName::parse(name_input).expect("vector names are valid");
            let seed = SaltSeed(seed);
            let secret = Passphrase::new(passphrase.to_owned()).expect("non-empty");
            let root = derive_root_key(version, &secret, &seed, &account).expect("Argon2id runs");
            RootKeyVector {
                comment: comment.into(),
                version: version.get(),
                kdf: version.kdf_params().into(),
                passphrase: passphrase.into(),
                passphrase_nfc: hex(secret.expose_secret()),
                account_name_input: name_input.into(),
                account_name: account.as_str().into(),
                salt_seed: hex(seed.0),
                argon2id_salt: hex(argon2id_salt(&seed, &account)),
                root_key: hex(root.expose_secret()),
            }
        })
        .collect()
}

/// The HKDF children of a fixed root key and a fixed data key.
pub fn subkey_vectors() -> Vec<SubkeyVector> {
    [(counting(0x10), counting(0x40)), ([0xff; 32], [0x00; 32])]
        .into_iter()
        .map(|(root, data)| {
            let (root_key, data_key) = (RootKey::from_bytes(root), DataKey::from_bytes(data));
            SubkeyVector {
                root_key: hex(root),
                auth_key: hex(root_key.auth_key().expose_secret()),
                wrap_key: hex(root_key.wrap_key().expose_secret()),
                data_key: hex(data),
                record_key: hex(data_key.record_key().expose_secret()),
                key_id: hex(data_key.key_id().as_bytes()),
            }
        })
        .collect()
}

/// A data key wrapped under a wrap key.
pub fn wrap_vectors() -> Vec<WrapVector> {
    let wrap_key = RootKey::from_bytes(counting(0x10)).wrap_key();
    let data_key = DataKey::from_bytes(counting(0x40));
    let account_id: [u8; 16] = counting(0x70);
    let ctx = WrapContext::new(ProtocolVersion::V1, account_id, data_key.key_id());
    let nonce = counting(0x90);
    let sealed = xchacha_seal(wrap_key.expose_secret(), &nonce, &ctx.aad(), data_key.expose_secret());
    let wrapped = [&nonce[..], &sealed].concat();
    vec![WrapVector {
        wrap_key: hex(wrap_key.expose_secret()),
        data_key: hex(data_key.expose_secret()),
        key_id: hex(data_key.key_id().as_bytes()),
        account_id: hex(account_id),
        version: ctx.version.get(),
        kdf: ctx.kdf.into(),
        aad: hex(ctx.aad()),
        nonce: hex(nonce),
        wrapped: hex(wrapped),
    }]
}

/// One payload sealed by the first valid case's account, data key, record
/// and device, composed from §4 with the AEAD crate directly.
pub fn seal_vector(
    comment: &str,
    kind: &str,
    hlc: Hlc,
    deleted_at: Option<u64>,
    body: Vec<u8>,
    seq: u64,
    nonce: [u8; 24],
) -> EnvelopeVector {
    let account_id = AccountId::from_bytes(counting(0x70));
    let data_key = DataKey::from_bytes(counting(0x40));
    let record_id = RecordId::from_bytes(counting(0xb0));
    let device_id = DeviceId::from_bytes(counting(0xc0));
    let payload = RecordPayload {
        kind: RecordKind::new(kind).expect("valid kind"),
        hlc,
        created_at: UnixMillis(1_764_028_000_000),
        deleted_at: deleted_at.map(UnixMillis),
        body,
    };
    let mut payload_cbor = Vec::new();
    payload.encode_into(&mut payload_cbor);
    let padded = pad(&payload_cbor).expect("payload fits");
    let header = EnvelopeHeader { record_id, device_id, device_seq: DeviceSeq(seq), key_id: data_key.key_id() };
    let aad = header.aad(&account_id);
    let ciphertext = xchacha_seal(data_key.record_key().expose_secret(), &nonce, &aad, &padded);
    let envelope = Envelope { header, nonce, ciphertext };
    EnvelopeVector {
        comment: comment.into(),
        account_id: hex(account_id.as_bytes()),
        data_key: hex(data_key.expose_secret()),
        record_key: hex(data_key.record_key().expose_secret()),
        key_id: hex(data_key.key_id().as_bytes()),
        record_id: hex(record_id.as_bytes()),
        device_id: hex(device_id.as_bytes()),
        device_seq: seq,
        payload: PayloadFields {
            kind: kind.into(),
            hlc: hlc.as_u64(),
            hlc_wall_ms: hlc.wall_ms(),
            hlc_counter: hlc.counter(),
            created_at: payload.created_at.0,
            deleted_at,
            body: hex(&payload.body),
        },
        payload_cbor: hex(&payload_cbor),
        padded_plaintext: hex(&padded),
        aad: hex(aad),
        nonce: hex(nonce),
        ciphertext: hex(&envelope.ciphertext),
        envelope: hex(envelope.encode()),
    }
}

/// The valid and invalid envelope cases.
pub fn envelope_file() -> EnvelopeFile {
    let account_id = AccountId::from_bytes(counting(0x70));
    let data_key = DataKey::from_bytes(counting(0x40));
    let device_id = DeviceId::from_bytes(counting(0xc0));
    let hlc = |counter| Hlc::new(1_764_028_800_000, counter).expect("48-bit wall time");
    let dot = |counter| sealsync_envelope::Dot { hlc: hlc(counter), device: device_id };
    let mood = records::body(records::mood_groups(6, "walked by the river", &["outside"]), dot(2)).encode();
    let long_note: String = (0..1500u32).map(|i| char::from(b"abcdefghijklmnopqrstuvwxyz "[i as usize % 27])).collect();
    let activity = records::activity_groups("walk", None, None, None, None, 1_764_028_000_000, &long_note);
    let activity = records::body(activity, dot(4)).encode();
    let valid = vec![
        seal_vector("a mood entry: small records pad to 512 bytes", "mood", hlc(2), None, mood, 7, counting(0xd0)),
        seal_vector(
            "its delete: a tombstone, deleted_at set, body empty",
            "mood",
            hlc(3),
            Some(1_764_028_800_000),
            vec![],
            8,
            counting(0xe0),
        ),
        seal_vector(
            "an activity with a 1500-byte note: padded to the Padmé bucket above 512",
            "activity",
            hlc(4),
            None,
            activity,
            9,
            counting(0xf0),
        ),
    ];
    let good = hex::decode(&valid[0].envelope).expect("hex");
    let mut open_errors = decoding::open_errors(&good, account_id, &data_key);
    open_errors.extend(decoding::payload_errors(account_id, &data_key));
    EnvelopeFile {
        open_errors,
        decodes: decoding::decodable_envelopes(),
        invalid: decoding::invalid_envelopes(),
        valid,
    }
}
