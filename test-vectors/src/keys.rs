//! The key lifecycle's constructions (PROTOCOL.md §3.3, §3.4), composed from
//! the specification with the primitives and the AEAD crate directly: the
//! keyring entry, and the recovery key (its text, checksum, auth key, key
//! pair, the wrap to it and the public key's MAC).

use hmac::{Hmac, KeyInit as _, Mac};
use sealsync_crypto::primitives::{hkdf_sha256, x25519, x25519_base};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{counting, hex, xchacha_seal};

fn hkdf32(salt: &[u8], info: &[u8], ikm: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    hkdf_sha256(salt, info, ikm, &mut out).expect("32 bytes");
    out
}

fn key_id(data_key: &[u8; 32]) -> [u8; 16] {
    let mut out = [0u8; 16];
    hkdf_sha256(b"", b"sealsync/v1/key-id", data_key, &mut out).expect("16 bytes");
    out
}

/// Crockford base32, most significant bits first, no padding (§3.4).
pub fn crockford(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let (mut out, mut acc, mut bits) = (String::new(), 0u32, 0);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// `keyring.json`: an older data key sealed under the current one (§3.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyringVector {
    /// The account.
    pub account_id: String,
    /// The current data key and its id.
    pub current_data_key: String,
    /// `key_id(current)`.
    pub current_key_id: String,
    /// The older data key and its id.
    pub older_data_key: String,
    /// `key_id(older)`.
    pub older_key_id: String,
    /// `HKDF-SHA256["", "sealsync/v1/keyring"](current, 32)`.
    pub keyring_key: String,
    /// The 67-byte AAD.
    pub aad: String,
    /// Nonce (random in production).
    pub nonce: String,
    /// `nonce || XChaCha20-Poly1305[keyring_key](nonce, aad, older)`.
    pub sealed_key: String,
}

/// The keyring case.
pub fn keyring_vectors() -> Vec<KeyringVector> {
    let account: [u8; 16] = counting(0x70);
    let (current, older): ([u8; 32], [u8; 32]) = (counting(0x40), counting(0x80));
    let keyring_key = hkdf32(b"", b"sealsync/v1/keyring", &current);
    let aad = [b"sealsync/v1/keyring".as_slice(), &account, &key_id(&current), &key_id(&older)].concat();
    let nonce: [u8; 24] = counting(0xa8);
    let sealed = [nonce.as_slice(), &xchacha_seal(&keyring_key, &nonce, &aad, &older)].concat();
    vec![KeyringVector {
        account_id: hex(account),
        current_data_key: hex(current),
        current_key_id: hex(key_id(&current)),
        older_data_key: hex(older),
        older_key_id: hex(key_id(&older)),
        keyring_key: hex(keyring_key),
        aad: hex(aad),
        nonce: hex(nonce),
        sealed_key: hex(sealed),
    }]
}

/// `recovery.json`: one recovery key from its secret to the wrapped data key (§3.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryVector {
    /// The 16-byte secret.
    pub recovery_secret: String,
    /// `SHA-256("sealsync/v1/recovery-check" || secret)[0..4]`.
    pub check: String,
    /// The key as shown: 8 groups of 4 characters.
    pub recovery_key: String,
    /// The same key with a typo (one character changed): its checksum fails.
    pub recovery_key_with_typo: String,
    /// `HKDF-SHA256["", "sealsync/v1/recovery-auth"](secret, 32)`.
    pub recovery_auth: String,
    /// `HKDF-SHA256["", "sealsync/v1/recovery-x25519"](secret, 32)`.
    pub recovery_private: String,
    /// `X25519(recovery_private, 9)`.
    pub recovery_public: String,
    /// The account.
    pub account_id: String,
    /// The data key wrapped and its id.
    pub data_key: String,
    /// `key_id(data_key)`.
    pub key_id: String,
    /// The root key of the passphrase (PROTOCOL.md §2.3) that MACs the public key.
    pub root_key: String,
    /// `HMAC-SHA256(HKDF-SHA256["", "sealsync/v1/recovery-public-key"](root_key, 32), account_id || recovery_public)`.
    pub public_key_mac: String,
    /// `HMAC-SHA256(HKDF-SHA256["", "sealsync/v1/recovery-anchor"](recovery_secret, 32), account_id || key_id)`.
    pub anchor: String,
    /// The sender's ephemeral X25519 secret (random in production).
    pub ephemeral_secret: String,
    /// `X25519(e, 9)`.
    pub ephemeral_public: String,
    /// `X25519(e, recovery_public)`.
    pub shared: String,
    /// `HKDF-SHA256["", "sealsync/v1/recovery-wrap" || epk || recovery_public](shared, 32)`.
    pub wrap_key: String,
    /// `"sealsync/v1/recovery-wrap" || account_id || key_id`.
    pub aad: String,
    /// Nonce (random in production).
    pub nonce: String,
    /// `epk || nonce || XChaCha20-Poly1305[wrap_key](nonce, aad, data_key)`: 104 bytes.
    pub wrapped_key: String,
}

/// The recovery case.
pub fn recovery_vectors() -> Vec<RecoveryVector> {
    let secret: [u8; 16] = counting(0x30);
    let check: [u8; 4] = Sha256::new().chain_update(b"sealsync/v1/recovery-check").chain_update(secret).finalize()[..4]
        .try_into()
        .expect("4 bytes");
    let text = crockford(&[secret.as_slice(), &check].concat());
    let grouped = text.as_bytes().chunks(4).map(|c| String::from_utf8(c.to_vec()).expect("ASCII")).collect::<Vec<_>>();
    let recovery_key = grouped.join("-");
    let mut typo = recovery_key.clone().into_bytes();
    typo[0] = if typo[0] == b'Z' { b'Y' } else { b'Z' };
    let private = hkdf32(b"", b"sealsync/v1/recovery-x25519", &secret);
    let public = x25519_base(&private);
    let account: [u8; 16] = counting(0x70);
    let data_key: [u8; 32] = counting(0x40);
    let id = key_id(&data_key);
    let root: [u8; 32] = counting(0x60);
    let mac_key = hkdf32(b"", b"sealsync/v1/recovery-public-key", &root);
    let mut mac = <Hmac<Sha256>>::new_from_slice(&mac_key).expect("any key length");
    mac.update(&[account.as_slice(), &public].concat());
    let anchor_key = hkdf32(b"", b"sealsync/v1/recovery-anchor", &secret);
    let mut anchor = <Hmac<Sha256>>::new_from_slice(&anchor_key).expect("any key length");
    anchor.update(&[account.as_slice(), &id].concat());
    let e: [u8; 32] = counting(0x50);
    let epk = x25519_base(&e);
    let shared = x25519(&e, &public).expect("not low order");
    let wrap_key = hkdf32(b"", &[b"sealsync/v1/recovery-wrap".as_slice(), &epk, &public].concat(), &*shared);
    let aad = [b"sealsync/v1/recovery-wrap".as_slice(), &account, &id].concat();
    let nonce: [u8; 24] = counting(0x58);
    let wrapped = [epk.as_slice(), &nonce, &xchacha_seal(&wrap_key, &nonce, &aad, &data_key)].concat();
    vec![RecoveryVector {
        recovery_secret: hex(secret),
        check: hex(check),
        recovery_key,
        recovery_key_with_typo: String::from_utf8(typo).expect("ASCII"),
        recovery_auth: hex(hkdf32(b"", b"sealsync/v1/recovery-auth", &secret)),
        recovery_private: hex(private),
        recovery_public: hex(public),
        account_id: hex(account),
        data_key: hex(data_key),
        key_id: hex(id),
        root_key: hex(root),
        public_key_mac: hex(mac.finalize().into_bytes()),
        anchor: hex(anchor.finalize().into_bytes()),
        ephemeral_secret: hex(e),
        ephemeral_public: hex(epk),
        shared: hex(*shared),
        wrap_key: hex(wrap_key),
        aad: hex(aad),
        nonce: hex(nonce),
        wrapped_key: hex(wrapped),
    }]
}
