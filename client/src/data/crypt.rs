//! age encryption of exports (<https://age-encryption.org/v1>), with the
//! `age` crate: a file the standard `age` command opens (`age -d`), with a
//! passphrase (scrypt) or to X25519 recipients (`age1…`).

use std::io::{Read, Write};
use std::str::FromStr;

pub use age::secrecy::SecretString;

use super::DataError;
use crate::error::ClientError;

/// How an export is encrypted.
pub enum Encryption {
    /// With a passphrase (age's scrypt recipient).
    Passphrase(SecretString),
    /// To these X25519 recipients, `age1…` each.
    Recipients(Vec<String>),
}

impl std::fmt::Debug for Encryption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Passphrase(_) => f.write_str("Passphrase([REDACTED])"),
            Self::Recipients(r) => f.debug_tuple("Recipients").field(r).finish(),
        }
    }
}

/// How an encrypted export is opened.
pub enum Decryption {
    /// The file is not expected to be encrypted.
    None,
    /// With the passphrase it was encrypted with.
    Passphrase(SecretString),
    /// With an age identity file's text (`AGE-SECRET-KEY-1…` lines; `#`
    /// comments and blank lines are skipped).
    Identities(SecretString),
}

impl std::fmt::Debug for Decryption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::None => "None",
            Self::Passphrase(_) => "Passphrase([REDACTED])",
            Self::Identities(_) => "Identities([REDACTED])",
        })
    }
}

/// What an age file needs to be opened, if `bytes` is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encrypted {
    /// A passphrase.
    Passphrase,
    /// An identity (X25519 or another recipient type).
    Identity,
}

/// The first line of every binary age file.
const AGE_MAGIC: &[u8] = b"age-encryption.org/v1\n";

/// Whether `bytes` is an age file, and what opens it.
pub fn encrypted(bytes: &[u8]) -> Option<Encrypted> {
    if !bytes.starts_with(AGE_MAGIC) {
        return None;
    }
    let scrypt = age::Decryptor::new(bytes).map(|d| d.is_scrypt()).unwrap_or(false);
    Some(if scrypt { Encrypted::Passphrase } else { Encrypted::Identity })
}

/// Parses X25519 recipients, refusing any that does not parse.
pub fn parse_recipients(recipients: &[String]) -> Result<Vec<age::x25519::Recipient>, DataError> {
    if recipients.is_empty() {
        return Err(DataError::InvalidKey("no recipient given".into()));
    }
    recipients
        .iter()
        .map(|r| {
            age::x25519::Recipient::from_str(r.trim())
                .map_err(|e| DataError::InvalidKey(format!("{r:?} is not an age X25519 recipient (age1…): {e}")))
        })
        .collect()
}

/// `plaintext`, encrypted as one age file.
pub(crate) fn encrypt(encryption: &Encryption, plaintext: &[u8]) -> Result<Vec<u8>, ClientError> {
    let encryptor = match encryption {
        Encryption::Passphrase(passphrase) => age::Encryptor::with_user_passphrase(passphrase.clone()),
        Encryption::Recipients(recipients) => {
            let parsed = parse_recipients(recipients)?;
            age::Encryptor::with_recipients(parsed.iter().map(|r| r as &dyn age::Recipient))
                .map_err(|e| DataError::Encrypt(e.to_string()))?
        }
    };
    let mut out = Vec::with_capacity(plaintext.len() + 256);
    let mut writer = encryptor.wrap_output(&mut out).map_err(ClientError::io("cannot encrypt the export"))?;
    writer.write_all(plaintext).map_err(ClientError::io("cannot encrypt the export"))?;
    writer.finish().map_err(ClientError::io("cannot encrypt the export"))?;
    Ok(out)
}

/// The plaintext of `bytes`: as is when it is not an age file, else
/// decrypted and authenticated whole (age checks every 64 KiB chunk and the
/// end of the stream, so a truncated or altered file fails).
pub(crate) fn decrypt(bytes: &[u8], key: &Decryption) -> Result<zeroize::Zeroizing<Vec<u8>>, DataError> {
    let Some(kind) = encrypted(bytes) else {
        return Ok(zeroize::Zeroizing::new(bytes.to_vec()));
    };
    let decryptor = age::Decryptor::new(bytes).map_err(decrypt_error)?;
    let reader = match (key, kind) {
        (Decryption::Passphrase(passphrase), Encrypted::Passphrase) => {
            let identity = age::scrypt::Identity::new(passphrase.clone());
            decryptor.decrypt(std::iter::once(&identity as &dyn age::Identity))
        }
        (Decryption::Identities(text), Encrypted::Identity) => {
            let identities = parse_identities(text)?;
            decryptor.decrypt(identities.iter().map(|i| i as &dyn age::Identity))
        }
        (_, Encrypted::Passphrase) => return Err(DataError::KeyRequired("a passphrase")),
        (_, Encrypted::Identity) => return Err(DataError::KeyRequired("a recipient: pass its identity file")),
    };
    let mut plaintext = zeroize::Zeroizing::new(Vec::with_capacity(bytes.len()));
    reader.map_err(decrypt_error)?.read_to_end(&mut plaintext).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => DataError::Truncated("the encrypted stream"),
        _ => DataError::Tampered,
    })?;
    Ok(plaintext)
}

fn parse_identities(text: &SecretString) -> Result<Vec<age::x25519::Identity>, DataError> {
    use age::secrecy::ExposeSecret;
    let identities: Vec<age::x25519::Identity> = text
        .expose_secret()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            age::x25519::Identity::from_str(l).map_err(|_| {
                DataError::InvalidKey("the identity file has a line that is not an age X25519 identity".into())
            })
        })
        .collect::<Result<_, _>>()?;
    if identities.is_empty() {
        return Err(DataError::InvalidKey("the identity file holds no identity".into()));
    }
    Ok(identities)
}

fn decrypt_error(e: age::DecryptError) -> DataError {
    match e {
        age::DecryptError::NoMatchingKeys
        | age::DecryptError::KeyDecryptionFailed
        | age::DecryptError::DecryptionFailed => DataError::WrongKey,
        age::DecryptError::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            DataError::Truncated("the encrypted file's header")
        }
        age::DecryptError::ExcessiveWork { required, target } => DataError::Malformed(format!(
            "its passphrase needs work factor 2^{required}, far above this machine's 2^{target}"
        )),
        age::DecryptError::UnknownFormat => DataError::Malformed("an age format newer than this client reads".into()),
        _ => DataError::Tampered,
    }
}
