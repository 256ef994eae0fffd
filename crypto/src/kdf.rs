//! From passphrase to root key: the salt derivation and the Argon2id call.

use crate::primitives::{argon2id, hkdf_fixed};
use crate::{AccountName, Error, Passphrase, ProtocolVersion, RootKey};

/// `"sealsync/v1/argon2id-salt"`: HKDF label of the salt derivation.
pub const LABEL_SALT: &[u8] = b"sealsync/v1/argon2id-salt";

/// The random 32-byte seed the server stores per account (and fakes,
/// deterministically, for unknown names). Public, but it must not repeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SaltSeed(pub [u8; 32]);

/// `salt = HKDF-SHA256[salt_seed, "sealsync/v1/argon2id-salt"](account_name, 32)`
///
/// Binding the name means a server cannot give two accounts one salt and attack
/// both at the cost of one; 32 bytes put even a chosen-seed collision search
/// (a birthday search over seeds) at 2^128 work.
pub fn argon2id_salt(seed: &SaltSeed, account: &AccountName) -> [u8; 32] {
    let mut salt = [0u8; 32];
    hkdf_fixed(&seed.0, LABEL_SALT, account.as_str().as_bytes(), &mut salt);
    salt
}

/// `root_key = Argon2id[m, t, p](passphrase, salt, 32)` with `(m, t, p)` fixed by
/// `version` in this crate, never by the server.
///
/// Takes about a second and 64 MiB at v1: call it once per unlock.
pub fn derive_root_key(
    version: ProtocolVersion,
    passphrase: &Passphrase,
    seed: &SaltSeed,
    account: &AccountName,
) -> Result<RootKey, Error> {
    let salt = argon2id_salt(seed, account);
    RootKey::fill_with(|out| argon2id(&version.kdf_params(), passphrase.expose_secret(), &salt, out))
}
