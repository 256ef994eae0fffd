//! What the machine can do without sealsync in the way, measured in the same
//! run: XChaCha20-Poly1305 over payloads of the same size here, and a bulk
//! insert of the same rows into the same database (`sealsync_testkit::raw_insert`).

use std::time::{Duration, Instant};

use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};

/// Seal and open `count` messages of `len` bytes (one OS nonce each, as a
/// correct use of the AEAD needs): the crypto ceiling of a sync.
pub fn aead(count: usize, len: usize) -> Duration {
    let cipher = XChaCha20Poly1305::new(&[7u8; 32].into());
    let message = vec![0x5a; len];
    let started = Instant::now();
    for _ in 0..count {
        let mut nonce = [0u8; 24];
        getrandom::fill(&mut nonce).unwrap();
        let nonce = XNonce::from(nonce);
        let mut buffer = message.clone();
        cipher.encrypt_in_place(&nonce, b"", &mut buffer).unwrap();
        cipher.decrypt_in_place(&nonce, b"", &mut buffer).unwrap();
        std::hint::black_box(buffer);
    }
    started.elapsed()
}
