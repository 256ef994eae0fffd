//! The symmetric keys of the hierarchy and the HKDF steps between them.

use crate::primitives::{KEY_LEN, hkdf_fixed};
use crate::secret::secret_bytes;
use crate::{Error, primitives};

/// `"sealsync/v1/auth"`: label of the auth key.
pub const LABEL_AUTH: &[u8] = b"sealsync/v1/auth";
/// `"sealsync/v1/wrap"`: label of the wrap key.
pub const LABEL_WRAP: &[u8] = b"sealsync/v1/wrap";
/// `"sealsync/v1/records"`: label of the record key.
pub const LABEL_RECORDS: &[u8] = b"sealsync/v1/records";
/// `"sealsync/v1/key-id"`: label of the key id.
pub const LABEL_KEY_ID: &[u8] = b"sealsync/v1/key-id";

secret_bytes!(
    /// Argon2id output. Never leaves the device; only its HKDF children are used.
    RootKey,
    KEY_LEN
);
secret_bytes!(
    /// Proves knowledge of the passphrase to the server, which keeps only a hash.
    AuthKey,
    KEY_LEN
);
secret_bytes!(
    /// Seals the data key for storage on the server.
    WrapKey,
    KEY_LEN
);
secret_bytes!(
    /// The account's random master key, made once; the passphrase only wraps it.
    DataKey,
    KEY_LEN
);
secret_bytes!(
    /// Seals and opens record envelopes.
    RecordKey,
    KEY_LEN
);

impl RootKey {
    /// `auth_key = HKDF-SHA256["", "sealsync/v1/auth"](root_key, 32)`
    pub fn auth_key(&self) -> AuthKey {
        let mut key = AuthKey([0; KEY_LEN]);
        hkdf_fixed(b"", LABEL_AUTH, &self.0, &mut key.0);
        key
    }

    /// `wrap_key = HKDF-SHA256["", "sealsync/v1/wrap"](root_key, 32)`
    pub fn wrap_key(&self) -> WrapKey {
        let mut key = WrapKey([0; KEY_LEN]);
        hkdf_fixed(b"", LABEL_WRAP, &self.0, &mut key.0);
        key
    }
}

impl DataKey {
    /// `data_key = random(32)`, once per account.
    pub fn generate() -> Result<Self, Error> {
        let mut key = Self([0; KEY_LEN]);
        getrandom::fill(&mut key.0).map_err(|_| Error::Rng)?;
        Ok(key)
    }

    /// `record_key = HKDF-SHA256["", "sealsync/v1/records"](data_key, 32)`
    pub fn record_key(&self) -> RecordKey {
        let mut key = RecordKey([0; KEY_LEN]);
        hkdf_fixed(b"", LABEL_RECORDS, &self.0, &mut key.0);
        key
    }

    /// Checks, in constant time, that this is the key `id` names: every key
    /// that arrives wrapped or sealed is checked so, so a server cannot file
    /// one key under another's id.
    pub fn check_id(&self, id: KeyId) -> Result<(), Error> {
        match bool::from(subtle::ConstantTimeEq::ct_eq(self.key_id().as_bytes().as_slice(), id.as_bytes().as_slice())) {
            true => Ok(()),
            false => Err(Error::KeyIdMismatch),
        }
    }

    /// `key_id = HKDF-SHA256["", "sealsync/v1/key-id"](data_key, 16)`
    ///
    /// A fingerprint the server may see: it names the key without revealing it.
    pub fn key_id(&self) -> KeyId {
        let mut id = [0u8; KeyId::LEN];
        hkdf_fixed(b"", LABEL_KEY_ID, &self.0, &mut id);
        KeyId(id)
    }
}

impl RecordKey {
    /// `nonce = random(24); ciphertext = XChaCha20-Poly1305[record_key](nonce, aad, buffer)`,
    /// in place; returns the nonce.
    pub fn seal(&self, aad: &[u8], buffer: &mut Vec<u8>) -> Result<[u8; primitives::NONCE_LEN], Error> {
        primitives::aead_seal(self.expose_secret(), aad, buffer)
    }

    /// Opens `ciphertext || tag` in place.
    pub fn open(&self, nonce: &[u8; primitives::NONCE_LEN], aad: &[u8], buffer: &mut Vec<u8>) -> Result<(), Error> {
        primitives::aead_open(self.expose_secret(), nonce, aad, buffer)
    }
}

/// The public 16-byte fingerprint of a data key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub [u8; 16]);

impl KeyId {
    /// Length in bytes.
    pub const LEN: usize = 16;

    /// The bytes on the wire.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl core::fmt::Debug for KeyId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "KeyId({self})")
    }
}

impl core::fmt::Display for KeyId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::primitives::random;

    #[test]
    fn generated_data_keys_differ_and_name_themselves() {
        let (a, b) = (DataKey::generate().unwrap(), DataKey::generate().unwrap());
        assert_ne!(a, b);
        assert_ne!(a.key_id(), b.key_id());
        assert_eq!(a.key_id(), a.key_id());
        assert_ne!(random::<32>().unwrap(), random::<32>().unwrap());
    }

    #[test]
    fn subkeys_are_domain_separated() {
        let root = RootKey::from_bytes([7; 32]);
        assert_ne!(root.auth_key().expose_secret(), root.wrap_key().expose_secret());
        let data = DataKey::from_bytes([7; 32]);
        assert_ne!(data.record_key().expose_secret(), root.auth_key().expose_secret());
    }
}
