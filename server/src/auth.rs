//! Device tokens and auth keys: what the server keeps of them (hashes only),
//! how it compares them (in constant time), and the extractor that turns a
//! bearer token into an authenticated device.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::app::App;
use crate::error::ApiError;
use crate::store::{Authenticated, Store};

/// `"sealsync/v1/auth-key-hash"`: domain label of the stored auth-key hash.
const LABEL_AUTH_KEY_HASH: &[u8] = b"sealsync/v1/auth-key-hash";

/// Bytes from the OS CSPRNG. The server cannot work without one, so a failing
/// RNG aborts the request's task rather than issuing a predictable token.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    sealsync_crypto::primitives::random().expect("the operating system's random number generator failed")
}

/// A device's bearer token: 256 random bits, shown to the device once, as 64
/// hex digits, and stored only as [`token_hash`].
pub fn new_token() -> (String, [u8; 32]) {
    let token = hex::encode(random_bytes::<32>());
    let hash = token_hash(&token);
    (token, hash)
}

/// `SHA-256(token)`, where `token` is the text the device sends: the SHA-256
/// of the 64 ASCII bytes of its lower-case hex digits, not of the 32 bytes
/// they encode (PROTOCOL.md §8.1). This is deliberate: the server hashes the
/// header value as it arrives, never decodes it, and no other spelling of the
/// same bytes (upper-case digits) names the device. Tokens are uniformly
/// random, so a fast hash is enough, and looking a device up by it leaks
/// nothing about other tokens.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// `SHA-256("sealsync/v1/auth-key-hash" || account_id || auth_key)`. The auth
/// key is a uniformly random 256-bit HKDF output (PROTOCOL.md §3), so a slow
/// password hash would add nothing; binding the account id keeps the hashes of
/// two accounts unrelated.
pub fn auth_key_hash(account_id: &[u8; 16], auth_key: &[u8; 32]) -> [u8; 32] {
    Sha256::new().chain_update(LABEL_AUTH_KEY_HASH).chain_update(account_id).chain_update(auth_key).finalize().into()
}

/// `"sealsync/v1/recovery-auth-hash"`: domain label of the stored recovery-auth hash.
const LABEL_RECOVERY_AUTH_HASH: &[u8] = b"sealsync/v1/recovery-auth-hash";

/// `SHA-256("sealsync/v1/recovery-auth-hash" || account_id || recovery_auth)`:
/// as [`auth_key_hash`], for the recovery key's auth key (PROTOCOL.md §3.4).
pub fn recovery_auth_hash(account_id: &[u8; 16], recovery_auth: &[u8; 32]) -> [u8; 32] {
    Sha256::new()
        .chain_update(LABEL_RECOVERY_AUTH_HASH)
        .chain_update(account_id)
        .chain_update(recovery_auth)
        .finalize()
        .into()
}

/// Constant-time equality of two hashes.
pub fn hashes_match(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.ct_eq(b).into()
}

/// The device behind the request's `Authorization: Bearer` token.
#[derive(Debug, Clone, Copy)]
pub struct AuthDevice(pub Authenticated);

impl<S: Store> FromRequestParts<App<S>> for AuthDevice {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App<S>) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(axum::http::header::AUTHORIZATION).ok_or_else(ApiError::missing_token)?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .filter(|t| t.len() == 64 && t.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .ok_or_else(ApiError::invalid_token)?;
        let hash = token_hash(token);
        match app.store.authenticate(&hash, crate::app::now_ms()).await? {
            Some(device) => Ok(AuthDevice(device)),
            None if app.store.token_revoked(&hash).await? => Err(ApiError::device_revoked()),
            None => Err(ApiError::invalid_token()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hash_stably() {
        let (a, hash_a) = new_token();
        let (b, _) = new_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(token_hash(&a), hash_a);
        assert!(a.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
        // The hash is of the 64 hex characters, not of the 32 bytes they spell.
        let text = "00".repeat(32);
        assert_eq!(token_hash(&text), <[u8; 32]>::from(Sha256::digest(text.as_bytes())));
        assert_ne!(token_hash(&text), <[u8; 32]>::from(Sha256::digest([0u8; 32])));
    }

    #[test]
    fn auth_key_hashes_bind_the_account() {
        let key = [7; 32];
        assert_ne!(auth_key_hash(&[1; 16], &key), auth_key_hash(&[2; 16], &key));
        assert!(hashes_match(&auth_key_hash(&[1; 16], &key), &auth_key_hash(&[1; 16], &key)));
    }
}
