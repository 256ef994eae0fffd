//! The one error type of the crypto crate: every failure a caller can act on.

/// Why a cryptographic operation did not complete.
///
/// Messages never contain key material: at most lengths and version numbers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server named a protocol version this build does not implement.
    #[error("protocol version {0} is not supported by this client")]
    UnsupportedVersion(u16),
    /// The server named a version lower than one this account already used:
    /// a downgrade that could weaken the passphrase KDF (PROTOCOL.md §2).
    #[error(
        "the server offered protocol version {offered}, lower than version {pinned} already used with this account"
    )]
    VersionDowngrade {
        /// What the server offered.
        offered: u16,
        /// The highest version this device has seen for the account.
        pinned: u16,
    },
    /// An empty passphrase would make the root key public.
    #[error("the passphrase is empty")]
    EmptyPassphrase,
    /// The account name is not in its canonical form's alphabet or length.
    #[error("invalid account name: {0}")]
    InvalidAccountName(&'static str),
    /// AEAD authentication failed: wrong key, or altered ciphertext, nonce or AAD.
    #[error("decryption failed: wrong key, or the data was altered")]
    Decrypt,
    /// The wrapped data key did not open under this wrap key and context.
    #[error("the data key could not be unwrapped: wrong passphrase, or the wrapped key was altered")]
    Unwrap,
    /// The unwrapped data key's fingerprint is not the key id it was filed under.
    #[error("the unwrapped data key does not match its key id")]
    KeyIdMismatch,
    /// A typed link code is not 6 digits and 8 characters of base32.
    #[error("that is not a link code: expected 6 digits and 8 letters or digits, like 012345-ABCD-EFGH")]
    LinkCodeFormat,
    /// A relayed SPAKE2 message is from the wrong side or not a point.
    #[error("the other device's link message is malformed")]
    LinkMessage,
    /// The other device's key confirmation does not match: the code was
    /// mistyped, or someone in between guessed wrong. The pairing must be failed.
    #[error("the devices did not agree on a key: check the link code and start again")]
    LinkConfirmation,
    /// X25519 gave the all-zero output: the peer key has low order (RFC 7748 §6.1).
    #[error("key agreement with a low-order public key")]
    LowOrderPoint,
    /// A fixed-size value had the wrong length.
    #[error("{what} must be {expected} bytes, got {got}")]
    Length {
        /// Which value.
        what: &'static str,
        /// The length the protocol fixes.
        expected: usize,
        /// The length supplied.
        got: usize,
    },
    /// HKDF-SHA256 cannot produce more than 255 * 32 bytes (RFC 5869 §2.3).
    #[error("HKDF-SHA256 output of {0} bytes exceeds 8160")]
    HkdfLength(usize),
    /// Argon2id rejected its inputs or could not allocate its memory.
    #[error("Argon2id failed: {0}")]
    Argon2(String),
    /// A typed recovery key is not 32 characters of its alphabet.
    #[error("that is not a recovery key: expected 32 letters and digits (hyphens and spaces are ignored)")]
    RecoveryKeyFormat,
    /// A typed recovery key fails its checksum: a typo.
    #[error("the recovery key has a typo: its checksum does not match")]
    RecoveryKeyChecksum,
    /// A relayed recovery public key is not the account's (its MAC fails).
    #[error("the recovery public key the server sent is not the account's")]
    RecoveryKeyNotAuthentic,
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed")]
    Rng,
}
