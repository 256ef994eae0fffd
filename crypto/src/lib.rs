//! Key derivation, key wrapping, AEAD and device-linking key agreement for sealsync.
//!
//! Every construction here is specified byte for byte in `docs/PROTOCOL.md`, and
//! each function's doc comment states it in that document's notation, so the two
//! read alike. `test-vectors/` holds the vectors they reproduce.
//!
//! Key hierarchy (PROTOCOL.md §3):
//!
//! ```text
//! passphrase --Argon2id(salt)--> RootKey --HKDF "auth"----> AuthKey (server keeps a hash)
//!                                        --HKDF "wrap"----> WrapKey (seals the DataKey)
//! DataKey (random) --HKDF "records"--> RecordKey (seals envelopes)
//!                  --HKDF "key-id"---> KeyId     (public fingerprint)
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod account;
mod error;
mod kdf;
mod keyring;
mod keys;
pub mod link;
pub mod primitives;
pub mod recovery;
mod secret;
mod version;
mod wrap;

pub use account::AccountName;
pub use error::Error;
pub use kdf::{SaltSeed, argon2id_salt, derive_root_key};
pub use keyring::{KeyringKey, SealedKey, keyring_aad, open_older_key, seal_older_key};
pub use keys::{AuthKey, DataKey, KeyId, RecordKey, RootKey, WrapKey};
pub use recovery::{RecoveryAuth, RecoveryPublicKey, RecoverySecret, RecoveryWrapped};
pub use secret::Passphrase;
pub use version::{KdfParams, ProtocolVersion, accept_version};
pub use wrap::{WrapContext, WrappedDataKey, unwrap_data_key, wrap_data_key};

/// Sizes fixed by suite 1 (XChaCha20-Poly1305, X25519, HKDF-SHA256).
pub use primitives::{KEY_LEN, NONCE_LEN, TAG_LEN};
