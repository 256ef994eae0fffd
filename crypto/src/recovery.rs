//! The recovery key (PROTOCOL.md §3.4): 128 random bits, shown to the user
//! once as 32 characters with a checksum, never stored on a device. From it
//! come an auth key that proves it to the server and an X25519 key pair to
//! which every device wraps the current data key, so a recovery key stays
//! valid across rotations without any device holding it.

use data_encoding::Encoding;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::primitives::{self, KEY_LEN, NONCE_LEN, TAG_LEN, hkdf_fixed, x25519, x25519_base};
use crate::secret::secret_bytes;
use crate::{DataKey, Error, KeyId, RootKey};

/// `"sealsync/v1/recovery-check"`: label of the checksum.
pub const LABEL_CHECK: &[u8] = b"sealsync/v1/recovery-check";
/// `"sealsync/v1/recovery-auth"`: label of the recovery auth key.
pub const LABEL_AUTH: &[u8] = b"sealsync/v1/recovery-auth";
/// `"sealsync/v1/recovery-x25519"`: label of the recovery private key.
pub const LABEL_X25519: &[u8] = b"sealsync/v1/recovery-x25519";
/// `"sealsync/v1/recovery-wrap"`: label of the wrap to the recovery key.
pub const LABEL_WRAP: &[u8] = b"sealsync/v1/recovery-wrap";
/// `"sealsync/v1/recovery-public-key"`: label of the public key's MAC key.
pub const LABEL_PUBLIC_KEY: &[u8] = b"sealsync/v1/recovery-public-key";
/// `"sealsync/v1/recovery-anchor"`: label of the anchor's MAC key.
pub const LABEL_ANCHOR: &[u8] = b"sealsync/v1/recovery-anchor";

secret_bytes!(
    /// The recovery secret: 16 random bytes, the whole of the recovery key.
    RecoverySecret,
    16
);
secret_bytes!(
    /// Proves the recovery key to the server, which keeps only a hash.
    RecoveryAuth,
    KEY_LEN
);
secret_bytes!(
    /// The X25519 private key of the recovery key.
    RecoveryPrivateKey,
    KEY_LEN
);

/// Crockford's base32 (0-9 A-Z without I L O U), reading I and L as 1 and O
/// as 0, in either case, and ignoring hyphens and spaces. Link codes use it
/// too (`crate::link`).
pub(crate) fn crockford() -> Encoding {
    let mut spec = data_encoding::Specification::new();
    spec.symbols.push_str("0123456789ABCDEFGHJKMNPQRSTVWXYZ");
    spec.translate.from.push_str("abcdefghjkmnpqrstvwxyzILOilo");
    spec.translate.to.push_str("ABCDEFGHJKMNPQRSTVWXYZ110110");
    spec.ignore.push_str("- ");
    spec.encoding().expect("a valid base32 specification")
}

/// `check = SHA-256("sealsync/v1/recovery-check" || secret)[0..4]`
fn checksum(secret: &[u8; 16]) -> [u8; 4] {
    let digest = Sha256::new().chain_update(LABEL_CHECK).chain_update(secret).finalize();
    digest[..4].try_into().expect("4 of 32 bytes")
}

impl RecoverySecret {
    /// `recovery_secret = random(16)`
    pub fn generate() -> Result<Self, Error> {
        Ok(Self(primitives::random()?))
    }

    /// The recovery key as shown: `base32(secret || check)`, 32 characters in
    /// eight groups of four joined by `-`.
    pub fn to_code(&self) -> Zeroizing<String> {
        let raw = Zeroizing::new([self.0.as_slice(), &checksum(&self.0)].concat());
        let text = Zeroizing::new(crockford().encode(&raw));
        let groups: Vec<&str> = text.as_bytes().chunks(4).map(|c| core::str::from_utf8(c).expect("ASCII")).collect();
        Zeroizing::new(groups.join("-"))
    }

    /// Reads a typed recovery key: case, hyphens and spaces do not matter,
    /// and I, L, O are read as 1, 1, 0. A typo fails the checksum here,
    /// before anything is derived or sent.
    pub fn parse(code: &str) -> Result<Self, Error> {
        let raw = Zeroizing::new(crockford().decode(code.trim().as_bytes()).map_err(|_| Error::RecoveryKeyFormat)?);
        if raw.len() != 20 {
            return Err(Error::RecoveryKeyFormat);
        }
        let secret: [u8; 16] = raw[..16].try_into().expect("16 bytes");
        if !bool::from(checksum(&secret).ct_eq(&raw[16..])) {
            return Err(Error::RecoveryKeyChecksum);
        }
        Ok(Self(secret))
    }

    /// `recovery_auth = HKDF-SHA256["", "sealsync/v1/recovery-auth"](recovery_secret, 32)`
    pub fn auth(&self) -> RecoveryAuth {
        let mut key = RecoveryAuth([0; KEY_LEN]);
        hkdf_fixed(b"", LABEL_AUTH, &self.0, &mut key.0);
        key
    }

    /// `recovery_private = HKDF-SHA256["", "sealsync/v1/recovery-x25519"](recovery_secret, 32)`
    pub fn private_key(&self) -> RecoveryPrivateKey {
        let mut key = RecoveryPrivateKey([0; KEY_LEN]);
        hkdf_fixed(b"", LABEL_X25519, &self.0, &mut key.0);
        key
    }

    /// `recovery_public = X25519(recovery_private, 9)`
    pub fn public_key(&self) -> RecoveryPublicKey {
        RecoveryPublicKey(x25519_base(self.private_key().expose_secret()))
    }
}

/// The recovery key's public half: stored on the server, authenticated by
/// [`public_key_mac`] under the passphrase's root key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryPublicKey(pub [u8; 32]);

fn hmac(key_ikm: &[u8], label: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let key = Zeroizing::new({
        let mut k = [0u8; KEY_LEN];
        hkdf_fixed(b"", label, key_ikm, &mut k);
        k
    });
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_slice()).expect("HMAC takes any key length");
    parts.iter().for_each(|part| mac.update(part));
    mac.finalize().into_bytes().into()
}

/// `mac = HMAC-SHA256(HKDF-SHA256["", "sealsync/v1/recovery-public-key"](root_key, 32), account_id || recovery_public)`
///
/// Keyed by the passphrase, not by a data key: a device wraps a new data key
/// to the recovery public key only after this check, so neither a server nor
/// a thief holding the data keys can substitute a public key of their own.
pub fn public_key_mac(root: &RootKey, account_id: &[u8; 16], public: &RecoveryPublicKey) -> [u8; 32] {
    hmac(root.expose_secret(), LABEL_PUBLIC_KEY, &[account_id, &public.0])
}

/// Checks a relayed recovery public key against its MAC.
pub fn verify_public_key(
    root: &RootKey,
    account_id: &[u8; 16],
    public: &RecoveryPublicKey,
    mac: &[u8; 32],
) -> Result<(), Error> {
    match bool::from(public_key_mac(root, account_id, public).ct_eq(mac)) {
        true => Ok(()),
        false => Err(Error::RecoveryKeyNotAuthentic),
    }
}

/// `anchor = HMAC-SHA256(HKDF-SHA256["", "sealsync/v1/recovery-anchor"](recovery_secret, 32), account_id || key_id)`
///
/// Made when the recovery key is set, for the data key current then. Anyone
/// can wrap a key to the recovery public key, so a recovering device accepts
/// the current key it is handed only if the anchored key is that key or opens
/// from the keyring under it: the server cannot plant a key of its own.
pub fn anchor(secret: &RecoverySecret, account_id: &[u8; 16], key_id: KeyId) -> [u8; 32] {
    hmac(&secret.0, LABEL_ANCHOR, &[account_id, key_id.as_bytes()])
}

/// Checks a relayed anchor.
pub fn verify_anchor(
    secret: &RecoverySecret,
    account_id: &[u8; 16],
    key_id: KeyId,
    tag: &[u8; 32],
) -> Result<(), Error> {
    match bool::from(anchor(secret, account_id, key_id).ct_eq(tag)) {
        true => Ok(()),
        false => Err(Error::RecoveryKeyNotAuthentic),
    }
}

/// `epk || nonce || XChaCha20-Poly1305[k](nonce, aad, data_key)`: 104 bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryWrapped([u8; Self::LEN]);

impl RecoveryWrapped {
    /// Length: ephemeral public key, nonce, key, tag.
    pub const LEN: usize = 32 + NONCE_LEN + KEY_LEN + TAG_LEN;

    /// Parses the stored form.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let bytes = bytes.try_into().map_err(|_| Error::Length {
            what: "recovery-wrapped key",
            expected: Self::LEN,
            got: bytes.len(),
        })?;
        Ok(Self(bytes))
    }

    /// The stored form.
    pub fn as_bytes(&self) -> &[u8; Self::LEN] {
        &self.0
    }
}

impl core::fmt::Debug for RecoveryWrapped {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("RecoveryWrapped(..)")
    }
}

/// ```text
/// shared = X25519(e, recovery_public)       (e: the sender's ephemeral secret; epk = X25519(e, 9))
/// k      = HKDF-SHA256["", "sealsync/v1/recovery-wrap" || epk || recovery_public](shared, 32)
/// aad    = "sealsync/v1/recovery-wrap" || account_id || key_id
/// ```
fn wrap_key(shared: &[u8; 32], epk: &[u8; 32], public: &RecoveryPublicKey) -> Zeroizing<[u8; KEY_LEN]> {
    let info = [LABEL_WRAP, epk, &public.0].concat();
    let mut k = Zeroizing::new([0u8; KEY_LEN]);
    hkdf_fixed(b"", &info, shared, &mut k);
    k
}

fn wrap_aad(account_id: &[u8; 16], key_id: KeyId) -> Vec<u8> {
    [LABEL_WRAP, account_id, key_id.as_bytes()].concat()
}

/// Wraps the current data key to the recovery public key (the caller has
/// checked that key with [`verify_public_key`]).
pub fn wrap_to_recovery(
    public: &RecoveryPublicKey,
    data_key: &DataKey,
    account_id: &[u8; 16],
) -> Result<RecoveryWrapped, Error> {
    let e = Zeroizing::new(primitives::random::<32>()?);
    let epk = x25519_base(&e);
    let shared = x25519(&e, &public.0)?;
    let k = wrap_key(&shared, &epk, public);
    let mut buffer = Zeroizing::new(data_key.expose_secret().to_vec());
    let nonce = primitives::aead_seal(&k, &wrap_aad(account_id, data_key.key_id()), &mut buffer)?;
    let mut out = [0u8; RecoveryWrapped::LEN];
    out[..32].copy_from_slice(&epk);
    out[32..32 + NONCE_LEN].copy_from_slice(&nonce);
    out[32 + NONCE_LEN..].copy_from_slice(&buffer);
    Ok(RecoveryWrapped(out))
}

/// Opens a recovery-wrapped data key with the recovery secret, and checks it
/// is the key `key_id` names.
pub fn unwrap_with_recovery(
    secret: &RecoverySecret,
    wrapped: &RecoveryWrapped,
    account_id: &[u8; 16],
    key_id: KeyId,
) -> Result<DataKey, Error> {
    let epk: [u8; 32] = wrapped.0[..32].try_into().expect("32 bytes");
    let nonce: [u8; NONCE_LEN] = wrapped.0[32..32 + NONCE_LEN].try_into().expect("24 bytes");
    let shared = x25519(secret.private_key().expose_secret(), &epk)?;
    let k = wrap_key(&shared, &epk, &secret.public_key());
    let mut buffer = Zeroizing::new(wrapped.0[32 + NONCE_LEN..].to_vec());
    primitives::aead_open(&k, &nonce, &wrap_aad(account_id, key_id), &mut buffer).map_err(|_| Error::Unwrap)?;
    let key = DataKey::try_from_slice(&buffer)?;
    key.check_id(key_id)?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_round_trips_and_forgives_case_hyphens_and_look_alikes() {
        let secret = RecoverySecret::generate().unwrap();
        let code = secret.to_code();
        assert_eq!(code.len(), 39);
        assert_eq!(code.matches('-').count(), 7);
        assert_eq!(RecoverySecret::parse(&code).unwrap(), secret);
        let sloppy = code.to_lowercase().replace('-', " ").replace('1', "l").replace('0', "o");
        assert_eq!(RecoverySecret::parse(&sloppy).unwrap(), secret);
    }

    #[test]
    fn a_typo_is_caught_by_the_checksum() {
        let code = RecoverySecret::from_bytes([9; 16]).to_code();
        let mut typo = code.to_string().into_bytes();
        typo[5] = if typo[5] == b'A' { b'B' } else { b'A' };
        let typo = String::from_utf8(typo).unwrap();
        assert_eq!(RecoverySecret::parse(&typo), Err(Error::RecoveryKeyChecksum));
        assert_eq!(RecoverySecret::parse(&code[..30]), Err(Error::RecoveryKeyFormat));
        assert_eq!(RecoverySecret::parse("UUUU"), Err(Error::RecoveryKeyFormat));
    }

    #[test]
    fn the_recovery_key_unwraps_what_any_device_wrapped_to_it() {
        let secret = RecoverySecret::generate().unwrap();
        let account = [3; 16];
        let data = DataKey::generate().unwrap();
        let public = secret.public_key();
        let root = RootKey::from_bytes([5; 32]);
        let mac = public_key_mac(&root, &account, &public);
        verify_public_key(&root, &account, &public, &mac).unwrap();
        let tag = anchor(&secret, &account, data.key_id());
        verify_anchor(&secret, &account, data.key_id(), &tag).unwrap();
        assert!(verify_anchor(&secret, &account, DataKey::generate().unwrap().key_id(), &tag).is_err());
        let wrapped = wrap_to_recovery(&public, &data, &account).unwrap();
        assert_eq!(unwrap_with_recovery(&secret, &wrapped, &account, data.key_id()).unwrap(), data);
        let other = RecoverySecret::generate().unwrap();
        assert_eq!(unwrap_with_recovery(&other, &wrapped, &account, data.key_id()), Err(Error::Unwrap));
        assert_eq!(unwrap_with_recovery(&secret, &wrapped, &[4; 16], data.key_id()), Err(Error::Unwrap));
        // A server's own public key does not pass the check.
        let forged = other.public_key();
        assert_eq!(verify_public_key(&root, &account, &forged, &mac), Err(Error::RecoveryKeyNotAuthentic));
        // A data key does not make a valid MAC: only the passphrase does.
        let by_data_key = RootKey::from_bytes(*data.expose_secret());
        assert_eq!(verify_public_key(&by_data_key, &account, &public, &mac), Err(Error::RecoveryKeyNotAuthentic));
    }
}
