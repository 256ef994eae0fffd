//! The keyring: every older data key of the account, each sealed under the
//! current one (PROTOCOL.md §3.3). Whoever holds the current key reads every
//! older envelope; whoever holds only older keys (a revoked device) opens
//! nothing sealed after a rotation, not even the keyring.

use crate::primitives::{self, KEY_LEN, NONCE_LEN, TAG_LEN, hkdf_fixed};
use crate::secret::secret_bytes;
use crate::{DataKey, Error, KeyId};

/// `"sealsync/v1/keyring"`: label of the keyring key and first bytes of its AAD.
pub const LABEL_KEYRING: &[u8] = b"sealsync/v1/keyring";

secret_bytes!(
    /// Seals the older data keys; derived from the current one.
    KeyringKey,
    KEY_LEN
);

impl DataKey {
    /// `keyring_key = HKDF-SHA256["", "sealsync/v1/keyring"](data_key, 32)`
    pub fn keyring_key(&self) -> KeyringKey {
        let mut key = KeyringKey::from_bytes([0; KEY_LEN]);
        hkdf_fixed(b"", LABEL_KEYRING, self.expose_secret(), &mut key.0);
        key
    }
}

/// `aad = "sealsync/v1/keyring" || account_id || current_key_id || older_key_id`: 67 bytes.
pub fn keyring_aad(account_id: &[u8; 16], current: KeyId, older: KeyId) -> Vec<u8> {
    [LABEL_KEYRING, account_id, current.as_bytes(), older.as_bytes()].concat()
}

/// `nonce || XChaCha20-Poly1305[keyring_key(current)](nonce, aad, older)`: 72 bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedKey([u8; Self::LEN]);

impl SealedKey {
    /// Length in bytes: nonce, key, tag.
    pub const LEN: usize = NONCE_LEN + KEY_LEN + TAG_LEN;

    /// Parses the stored form.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let bytes = bytes.try_into().map_err(|_| Error::Length {
            what: "sealed key",
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

impl core::fmt::Debug for SealedKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SealedKey(..)")
    }
}

/// Seals `older` under the current key, bound to the account and both key ids.
pub fn seal_older_key(current: &DataKey, older: &DataKey, account_id: &[u8; 16]) -> Result<SealedKey, Error> {
    let aad = keyring_aad(account_id, current.key_id(), older.key_id());
    let mut buffer = zeroize::Zeroizing::new(older.expose_secret().to_vec());
    let nonce = primitives::aead_seal(current.keyring_key().expose_secret(), &aad, &mut buffer)?;
    let mut sealed = [0u8; SealedKey::LEN];
    sealed[..NONCE_LEN].copy_from_slice(&nonce);
    sealed[NONCE_LEN..].copy_from_slice(&buffer);
    Ok(SealedKey(sealed))
}

/// Opens an entry of the keyring filed under `older_id`, and checks that the
/// key inside is the one that id names.
pub fn open_older_key(
    current: &DataKey,
    sealed: &SealedKey,
    older_id: KeyId,
    account_id: &[u8; 16],
) -> Result<DataKey, Error> {
    let aad = keyring_aad(account_id, current.key_id(), older_id);
    let (nonce, body) = sealed.0.split_at(NONCE_LEN);
    let mut buffer = zeroize::Zeroizing::new(body.to_vec());
    primitives::aead_open(
        current.keyring_key().expose_secret(),
        nonce.try_into().expect("24 bytes"),
        &aad,
        &mut buffer,
    )
    .map_err(|_| Error::Unwrap)?;
    let key = DataKey::try_from_slice(&buffer)?;
    key.check_id(older_id)?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_current_key_opens_an_older_one_under_its_own_id() {
        let account = [7; 16];
        let (old, new) = (DataKey::generate().unwrap(), DataKey::generate().unwrap());
        let sealed = seal_older_key(&new, &old, &account).unwrap();
        assert_eq!(open_older_key(&new, &sealed, old.key_id(), &account).unwrap(), old);
        // The older key cannot open it (a revoked device holding only old keys).
        assert_eq!(open_older_key(&old, &sealed, old.key_id(), &account), Err(Error::Unwrap));
        // Filed under another id, or moved to another account: refused.
        assert_eq!(open_older_key(&new, &sealed, new.key_id(), &account), Err(Error::Unwrap));
        assert_eq!(open_older_key(&new, &sealed, old.key_id(), &[8; 16]), Err(Error::Unwrap));
        assert_eq!(keyring_aad(&account, new.key_id(), old.key_id()).len(), 67);
    }
}
