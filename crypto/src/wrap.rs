//! Wrapping the data key under the wrap key, for storage on the server.
//!
//! Changing the passphrase re-wraps this one key; records are never re-encrypted.

use crate::primitives::{self, KEY_LEN, NONCE_LEN, TAG_LEN};
use crate::{DataKey, Error, KdfParams, KeyId, ProtocolVersion, WrapKey};

/// `"sealsync/v1/wrap"`: the first bytes of the wrap AAD.
pub const WRAP_AAD_PREFIX: &[u8] = b"sealsync/v1/wrap";

/// What a wrapped data key is bound to: opening it in any other context fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrapContext {
    /// Protocol version the wrap key was derived under.
    pub version: ProtocolVersion,
    /// The account the key belongs to (16 UUID bytes).
    pub account_id: [u8; 16],
    /// The fingerprint of the wrapped key.
    pub key_id: KeyId,
    /// The Argon2id costs that produced the wrap key.
    pub kdf: KdfParams,
}

impl WrapContext {
    /// The context for `version`, with that version's KDF costs.
    pub fn new(version: ProtocolVersion, account_id: [u8; 16], key_id: KeyId) -> Self {
        Self { version, account_id, key_id, kdf: version.kdf_params() }
    }

    /// `aad = "sealsync/v1/wrap" || u16(version) || account_id || key_id || u32(m) || u32(t) || u32(p)`,
    /// integers big-endian: 62 bytes.
    pub fn aad(&self) -> [u8; 62] {
        let mut aad = [0u8; 62];
        let parts: [&[u8]; 7] = [
            WRAP_AAD_PREFIX,
            &self.version.get().to_be_bytes(),
            &self.account_id,
            self.key_id.as_bytes(),
            &self.kdf.m_kib.to_be_bytes(),
            &self.kdf.t.to_be_bytes(),
            &self.kdf.p.to_be_bytes(),
        ];
        let mut at = 0;
        for part in parts {
            aad[at..at + part.len()].copy_from_slice(part);
            at += part.len();
        }
        debug_assert_eq!(at, aad.len());
        aad
    }
}

/// `nonce || XChaCha20-Poly1305[wrap_key](nonce, aad, data_key)`: 72 bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedDataKey([u8; Self::LEN]);

impl WrappedDataKey {
    /// Length in bytes: 24-byte nonce, 32-byte key, 16-byte tag.
    pub const LEN: usize = NONCE_LEN + KEY_LEN + TAG_LEN;

    /// Parses the stored form.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let bytes: [u8; Self::LEN] = bytes.try_into().map_err(|_| Error::Length {
            what: "wrapped data key",
            expected: Self::LEN,
            got: bytes.len(),
        })?;
        Ok(Self(bytes))
    }

    /// The stored form.
    pub fn as_bytes(&self) -> &[u8; Self::LEN] {
        &self.0
    }

    fn from_parts(nonce: &[u8; NONCE_LEN], sealed: &[u8]) -> Self {
        let mut bytes = [0u8; Self::LEN];
        bytes[..NONCE_LEN].copy_from_slice(nonce);
        bytes[NONCE_LEN..].copy_from_slice(sealed);
        Self(bytes)
    }
}

impl core::fmt::Debug for WrappedDataKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("WrappedDataKey(..)")
    }
}

/// Seals `data_key` under `wrap_key`, bound to `ctx` (whose key id must be the
/// data key's own).
pub fn wrap_data_key(wrap_key: &WrapKey, data_key: &DataKey, ctx: &WrapContext) -> Result<WrappedDataKey, Error> {
    data_key.check_id(ctx.key_id)?;
    let mut buffer = zeroize::Zeroizing::new(data_key.expose_secret().to_vec());
    let nonce = primitives::aead_seal(wrap_key.expose_secret(), &ctx.aad(), &mut buffer)?;
    Ok(WrappedDataKey::from_parts(&nonce, &buffer))
}

/// Opens a wrapped data key and checks that it is the key `ctx.key_id` names,
/// so a server cannot file one key under another's id.
pub fn unwrap_data_key(wrap_key: &WrapKey, wrapped: &WrappedDataKey, ctx: &WrapContext) -> Result<DataKey, Error> {
    let (nonce, sealed) = wrapped.0.split_at(NONCE_LEN);
    let nonce: &[u8; NONCE_LEN] = nonce.try_into().expect("split at NONCE_LEN");
    let mut buffer = zeroize::Zeroizing::new(sealed.to_vec());
    primitives::aead_open(wrap_key.expose_secret(), nonce, &ctx.aad(), &mut buffer).map_err(|_| Error::Unwrap)?;
    let data_key = DataKey::try_from_slice(&buffer)?;
    data_key.check_id(ctx.key_id)?;
    Ok(data_key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RootKey;

    fn setup() -> (WrapKey, DataKey, WrapContext) {
        let wrap_key = RootKey::from_bytes([1; 32]).wrap_key();
        let data_key = DataKey::generate().unwrap();
        let ctx = WrapContext::new(ProtocolVersion::V1, [9; 16], data_key.key_id());
        (wrap_key, data_key, ctx)
    }

    #[test]
    fn round_trip() {
        let (wrap_key, data_key, ctx) = setup();
        let wrapped = wrap_data_key(&wrap_key, &data_key, &ctx).unwrap();
        assert_eq!(unwrap_data_key(&wrap_key, &wrapped, &ctx).unwrap(), data_key);
    }

    #[test]
    fn any_change_of_context_key_or_bytes_fails() {
        let (wrap_key, data_key, ctx) = setup();
        let wrapped = wrap_data_key(&wrap_key, &data_key, &ctx).unwrap();
        let other_kdf = WrapContext { kdf: KdfParams { m_kib: 19 * 1024, t: 2, p: 1 }, ..ctx };
        let other_account = WrapContext { account_id: [8; 16], ..ctx };
        let other_key_id = WrapContext { key_id: KeyId([0; 16]), ..ctx };
        for bad in [other_kdf, other_account, other_key_id] {
            assert_eq!(unwrap_data_key(&wrap_key, &wrapped, &bad).unwrap_err(), Error::Unwrap);
        }
        let wrong_passphrase = RootKey::from_bytes([2; 32]).wrap_key();
        assert_eq!(unwrap_data_key(&wrong_passphrase, &wrapped, &ctx).unwrap_err(), Error::Unwrap);
        for i in 0..WrappedDataKey::LEN {
            let mut bytes = *wrapped.as_bytes();
            bytes[i] ^= 0x01;
            let tampered = WrappedDataKey::from_bytes(&bytes).unwrap();
            assert_eq!(unwrap_data_key(&wrap_key, &tampered, &ctx).unwrap_err(), Error::Unwrap, "byte {i}");
        }
    }

    #[test]
    fn a_key_filed_under_another_id_is_refused() {
        let (wrap_key, data_key, _) = setup();
        let planted = DataKey::generate().unwrap();
        // A server that wraps its own key under the victim's key id still cannot
        // make the client accept it, even with the right wrap key.
        let ctx = WrapContext::new(ProtocolVersion::V1, [9; 16], data_key.key_id());
        assert_eq!(wrap_data_key(&wrap_key, &planted, &ctx).unwrap_err(), Error::KeyIdMismatch);
    }

    #[test]
    fn wrong_length_is_typed() {
        assert!(matches!(WrappedDataKey::from_bytes(&[0; 71]), Err(Error::Length { got: 71, .. })));
    }
}
