//! Accounts and devices (PROTOCOL.md §8.1): `device-name.json`, the sealed
//! device name; `accounts.json`, the server's auth-key hash and its fake salt
//! seed for unknown names. Each is computed here from the specification with
//! the AEAD, SHA-256 and HMAC crates; the tests check them against the client's
//! primitives and the server's own functions.

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use sealsync_crypto::{AccountName, DataKey, RootKey};

use crate::{counting, hex, xchacha_seal};

/// `device-name.json`: one device name sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceNameVector {
    /// What the case shows.
    pub comment: String,
    /// The account's data key.
    pub data_key: String,
    /// `HKDF-SHA256["", "sealsync/v1/records"](data_key, 32)`.
    pub record_key: String,
    /// The named device's id, 16 bytes.
    pub device_id: String,
    /// The name, as text.
    pub name: String,
    /// `"sealsync/v1/device-name" || device_id`.
    pub aad: String,
    /// Nonce (random in production).
    pub nonce: String,
    /// `nonce || XChaCha20-Poly1305[record_key](nonce, aad, UTF-8 name)`.
    pub sealed: String,
}

/// `accounts.json`: what the server derives from account secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountsFile {
    /// The stored hash of an auth key.
    pub auth_key_hash: Vec<AuthKeyHashVector>,
    /// The salt seed answered for an unknown name.
    pub fake_salt_seed: Vec<FakeSaltSeedVector>,
}

/// `SHA-256("sealsync/v1/auth-key-hash" || account_id || auth_key)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthKeyHashVector {
    /// What the case shows.
    pub comment: String,
    /// Account id, 16 bytes.
    pub account_id: String,
    /// The auth key, 32 bytes.
    pub auth_key: String,
    /// The hash the server stores.
    pub auth_key_hash: String,
}

/// `HMAC-SHA256(server_secret, "sealsync/v1/fake-salt-seed" || account_name)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FakeSaltSeedVector {
    /// What the case shows.
    pub comment: String,
    /// The server's secret, 32 bytes.
    pub server_secret: String,
    /// The name as sent.
    pub account_name_input: String,
    /// Its canonical form (§2.2), whose bytes are hashed.
    pub account_name: String,
    /// The seed answered.
    pub salt_seed: String,
}

/// Two names, one ASCII and one not, sealed for two devices.
pub fn device_name_vectors() -> Vec<DeviceNameVector> {
    let data_key = DataKey::from_bytes(counting(0x40));
    let record_key = data_key.record_key();
    let cases = [
        ("an ASCII name", "Alice's phone", counting::<16>(0xc0), counting::<24>(0x18)),
        ("a name with non-ASCII characters, sealed as UTF-8", "Küche — iPad 🍎", counting(0xa0), counting(0x38)),
    ];
    cases
        .into_iter()
        .map(|(comment, name, device_id, nonce)| {
            let aad = [b"sealsync/v1/device-name".as_slice(), &device_id].concat();
            let sealed =
                [&nonce[..], &xchacha_seal(record_key.expose_secret(), &nonce, &aad, name.as_bytes())].concat();
            DeviceNameVector {
                comment: comment.into(),
                data_key: hex(data_key.expose_secret()),
                record_key: hex(record_key.expose_secret()),
                device_id: hex(device_id),
                name: name.into(),
                aad: hex(&aad),
                nonce: hex(nonce),
                sealed: hex(&sealed),
            }
        })
        .collect()
}

/// The auth-key hashes of two accounts, and the fake seeds of two names.
pub fn accounts_file() -> AccountsFile {
    let auth_key_hash = [
        (
            "the auth key of subkeys.json's first root key, for envelope.json's account",
            counting::<16>(0x70),
            *RootKey::from_bytes(counting(0x10)).auth_key().expose_secret(),
        ),
        ("the same auth key under another account id: an unrelated hash", counting(0x71), {
            *RootKey::from_bytes(counting(0x10)).auth_key().expose_secret()
        }),
    ]
    .into_iter()
    .map(|(comment, account_id, auth_key)| {
        let hash = Sha256::new()
            .chain_update(b"sealsync/v1/auth-key-hash")
            .chain_update(account_id)
            .chain_update(auth_key)
            .finalize();
        AuthKeyHashVector {
            comment: comment.into(),
            account_id: hex(account_id),
            auth_key: hex(auth_key),
            auth_key_hash: hex(hash),
        }
    })
    .collect();
    let server_secret: [u8; 32] = counting(0xe0);
    let fake_salt_seed = [
        ("a name in canonical form", "nobody@example.org"),
        ("a name typed with capitals and spaces: the canonical form is hashed", "  NoBody@Example.ORG\t"),
        ("another name: an unrelated seed", "carol+journal@example.org"),
    ]
    .into_iter()
    .map(|(comment, input)| {
        let name = AccountName::parse(input).expect("vector names are valid");
        let mut mac = Hmac::<Sha256>::new_from_slice(&server_secret).expect("HMAC takes any key length");
        mac.update(b"sealsync/v1/fake-salt-seed");
        mac.update(name.as_str().as_bytes());
        FakeSaltSeedVector {
            comment: comment.into(),
            server_secret: hex(server_secret),
            account_name_input: input.into(),
            account_name: name.as_str().into(),
            salt_seed: hex(mac.finalize().into_bytes()),
        }
    })
    .collect();
    AccountsFile { auth_key_hash, fake_salt_seed }
}
