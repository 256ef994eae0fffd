//! The primitives of suite 1, each a few lines, each stated in the notation of
//! docs/PROTOCOL.md §1 and citing its specification. Everything above this module
//! is composition; everything below it is a RustCrypto crate.

use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::{Error, KdfParams};

/// Symmetric key length of every key in suite 1.
pub const KEY_LEN: usize = 32;
/// XChaCha20-Poly1305 nonce length.
pub const NONCE_LEN: usize = 24;
/// Poly1305 tag length.
pub const TAG_LEN: usize = 16;

/// `HKDF-SHA256[salt, info](ikm, L)`: RFC 5869 extract-then-expand.
///
/// An empty `salt` is HashLen zero bytes (RFC 5869 §2.2). Fails only for
/// `L > 255 * 32`.
pub fn hkdf_sha256(salt: &[u8], info: &[u8], ikm: &[u8], okm: &mut [u8]) -> Result<(), Error> {
    Hkdf::<Sha256>::new(Some(salt), ikm).expand(info, okm).map_err(|_| Error::HkdfLength(okm.len()))
}

/// `HKDF-SHA256[salt, info](ikm, N)` for the fixed, short lengths the protocol uses.
pub(crate) fn hkdf_fixed<const N: usize>(salt: &[u8], info: &[u8], ikm: &[u8], okm: &mut [u8; N]) {
    const { assert!(N <= 255 * 32) };
    hkdf_sha256(salt, info, ikm, okm).expect("N is within HKDF-SHA256's output limit");
}

/// `Argon2id[m, t, p](password, salt, L)`: RFC 9106, version 0x13, no secret, no AD.
pub fn argon2id(params: &KdfParams, password: &[u8], salt: &[u8], out: &mut [u8]) -> Result<(), Error> {
    let argon_params = argon2::Params::new(params.m_kib, params.t, params.p, Some(out.len()))
        .map_err(|e| Error::Argon2(e.to_string()))?;
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, argon_params)
        .hash_password_into(password, salt, out)
        .map_err(|e| Error::Argon2(e.to_string()))
}

/// `XChaCha20-Poly1305[key](nonce, aad, plaintext) = ciphertext || tag`:
/// draft-irtf-cfrg-xchacha-03 §2 over RFC 8439, sealing `buffer` in place.
///
/// Private: callers reach it only through [`aead_seal`], which draws the
/// nonce. No path in sealsync takes a caller's nonce; the vector generator
/// seals with the AEAD crate itself and checks that this code opens it.
fn aead_seal_in_place(key: &[u8; KEY_LEN], nonce: &[u8; NONCE_LEN], aad: &[u8], buffer: &mut Vec<u8>) {
    XChaCha20Poly1305::new(key.into())
        .encrypt_in_place(&XNonce::from(*nonce), aad, buffer)
        .expect("a Vec grows to hold the tag and XChaCha20 has a 2^64-block limit");
}

/// Seals `buffer` in place under a fresh random nonce, which it returns.
pub fn aead_seal(key: &[u8; KEY_LEN], aad: &[u8], buffer: &mut Vec<u8>) -> Result<[u8; NONCE_LEN], Error> {
    let nonce = random::<NONCE_LEN>()?;
    aead_seal_in_place(key, &nonce, aad, buffer);
    Ok(nonce)
}

/// Opens `ciphertext || tag` in place; on failure `buffer` holds no plaintext.
pub fn aead_open(key: &[u8; KEY_LEN], nonce: &[u8; NONCE_LEN], aad: &[u8], buffer: &mut Vec<u8>) -> Result<(), Error> {
    XChaCha20Poly1305::new(key.into()).decrypt_in_place(&XNonce::from(*nonce), aad, buffer).map_err(|_| Error::Decrypt)
}

/// `X25519(k, u)`: RFC 7748 §5, refusing the all-zero output of a low-order `u`
/// (RFC 7748 §6.1), so a peer cannot force a known shared secret.
pub fn x25519(k: &[u8; 32], u: &[u8; 32]) -> Result<Zeroizing<[u8; 32]>, Error> {
    let shared = Zeroizing::new(x25519_dalek::x25519(*k, *u));
    if bool::from(shared.ct_eq(&[0u8; 32])) {
        return Err(Error::LowOrderPoint);
    }
    Ok(shared)
}

/// `X25519(k, 9)`: the public key of secret scalar `k` (RFC 7748 §6.1).
pub fn x25519_base(k: &[u8; 32]) -> [u8; 32] {
    x25519_dalek::x25519(*k, x25519_dalek::X25519_BASEPOINT_BYTES)
}

/// `random(N)`: N bytes from the operating system's CSPRNG.
pub fn random<const N: usize>() -> Result<[u8; N], Error> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|_| Error::Rng)?;
    Ok(bytes)
}
