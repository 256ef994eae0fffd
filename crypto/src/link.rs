//! Device linking: a new device receives the account keys from one already
//! signed in, with the server only relaying (PROTOCOL.md §6).
//!
//! 1. The new device makes a [`LinkRequest`]: an X25519 key pair and a
//!    [`LinkCode`] (pairing id, public-key fingerprint, 128-bit secret) that it
//!    shows to the user; it uploads only the pairing id and public key.
//! 2. The existing device reads the code, checks the relayed public key against
//!    the fingerprint, and calls [`seal_to_new_device`].
//! 3. The new device calls [`LinkRequest::open`].
//!
//! A server that swaps the public key fails step 2; one that seals its own
//! payload to the new device fails step 3, because it lacks the secret.

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::Error;
use crate::primitives::{self, KEY_LEN, NONCE_LEN, TAG_LEN, hkdf_fixed, random, x25519, x25519_base};
use crate::secret::secret_bytes;

/// `"sealsync/v1/link"`: label of the link key; the transcript follows it.
pub const LABEL_LINK: &[u8] = b"sealsync/v1/link";
/// `"sealsync/v1/link-fingerprint"`: label of the public-key fingerprint.
pub const LABEL_FINGERPRINT: &[u8] = b"sealsync/v1/link-fingerprint";

secret_bytes!(
    /// The 128-bit secret shown in the link code; it never goes to the server.
    LinkSecret,
    16
);
secret_bytes!(
    /// An X25519 secret scalar (clamped by X25519 itself, RFC 7748 §5).
    LinkSecretKey,
    32
);

/// An X25519 public key as relayed by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkPublicKey(pub [u8; 32]);

impl LinkPublicKey {
    /// `fingerprint = HKDF-SHA256["", "sealsync/v1/link-fingerprint"](public_key, 16)`
    pub fn fingerprint(&self) -> LinkFingerprint {
        let mut fp = [0u8; 16];
        hkdf_fixed(b"", LABEL_FINGERPRINT, &self.0, &mut fp);
        LinkFingerprint(fp)
    }
}

/// The fingerprint of a link public key, carried in the link code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkFingerprint(pub [u8; 16]);

/// Names one linking attempt at the relay; random, chosen by the new device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PairingId(pub [u8; 16]);

/// What the new device shows and the existing device reads: 48 bytes.
#[derive(Debug, PartialEq, Eq)]
pub struct LinkCode {
    /// Which relay slot to use.
    pub pairing_id: PairingId,
    /// Fingerprint of the new device's public key.
    pub fingerprint: LinkFingerprint,
    /// The one-time secret bound into the link key.
    pub secret: LinkSecret,
}

impl LinkCode {
    /// Encoded length: `pairing_id || fingerprint || secret`.
    pub const LEN: usize = 48;

    /// `pairing_id || fingerprint || secret`, for a QR code or typed text.
    pub fn to_bytes(&self) -> Zeroizing<[u8; Self::LEN]> {
        let mut out = Zeroizing::new([0u8; Self::LEN]);
        out[..16].copy_from_slice(&self.pairing_id.0);
        out[16..32].copy_from_slice(&self.fingerprint.0);
        out[32..].copy_from_slice(self.secret.expose_secret());
        out
    }

    /// Parses [`LinkCode::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() != Self::LEN {
            return Err(Error::Length { what: "link code", expected: Self::LEN, got: bytes.len() });
        }
        Ok(Self {
            pairing_id: PairingId(bytes[..16].try_into().expect("16 bytes")),
            fingerprint: LinkFingerprint(bytes[16..32].try_into().expect("16 bytes")),
            secret: LinkSecret::try_from_slice(&bytes[32..])?,
        })
    }
}

/// The new device's side of a link: its key pair and the code it shows.
#[derive(Debug)]
pub struct LinkRequest {
    secret_key: LinkSecretKey,
    public_key: LinkPublicKey,
    code: LinkCode,
}

impl LinkRequest {
    /// Draws a key pair, a pairing id and a secret from the OS RNG.
    pub fn generate() -> Result<Self, Error> {
        Ok(Self::from_parts(
            LinkSecretKey::from_bytes(random()?),
            PairingId(random()?),
            LinkSecret::from_bytes(random()?),
        ))
    }

    /// Rebuilds a request from its parts (e.g. kept across an app restart).
    pub fn from_parts(secret_key: LinkSecretKey, pairing_id: PairingId, secret: LinkSecret) -> Self {
        let public_key = LinkPublicKey(x25519_base(secret_key.expose_secret()));
        let code = LinkCode { pairing_id, fingerprint: public_key.fingerprint(), secret };
        Self { secret_key, public_key, code }
    }

    /// The code to show the user.
    pub fn code(&self) -> &LinkCode {
        &self.code
    }

    /// The public key to upload for the relay.
    pub fn public_key(&self) -> LinkPublicKey {
        self.public_key
    }

    /// Opens what the existing device sealed to this request.
    pub fn open(&self, sealed: &LinkSealed) -> Result<Zeroizing<Vec<u8>>, Error> {
        let shared = x25519(self.secret_key.expose_secret(), &sealed.ephemeral_public.0)?;
        let key = link_key(&shared, &self.code, &sealed.ephemeral_public, &self.public_key);
        let mut buffer = Zeroizing::new(sealed.ciphertext.clone());
        primitives::aead_open(&key, &sealed.nonce, b"", &mut buffer)?;
        Ok(buffer)
    }
}

/// `ephemeral_public || nonce || ciphertext`, as relayed to the new device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkSealed {
    /// `epk = X25519(e, 9)`.
    pub ephemeral_public: LinkPublicKey,
    /// Random XChaCha20-Poly1305 nonce.
    pub nonce: [u8; NONCE_LEN],
    /// `XChaCha20-Poly1305[link_key](nonce, "", payload)`.
    pub ciphertext: Vec<u8>,
}

impl LinkSealed {
    /// The relayed form.
    pub fn to_bytes(&self) -> Vec<u8> {
        [&self.ephemeral_public.0[..], &self.nonce, &self.ciphertext].concat()
    }

    /// Largest sealed payload accepted: account keys are a few hundred bytes.
    pub const MAX_LEN: usize = 64 * 1024;

    /// Parses [`LinkSealed::to_bytes`]; anything shorter than a tag, or longer
    /// than [`LinkSealed::MAX_LEN`], is refused.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        const MIN: usize = 32 + NONCE_LEN + TAG_LEN;
        if bytes.len() < MIN {
            return Err(Error::Length { what: "sealed link payload", expected: MIN, got: bytes.len() });
        }
        if bytes.len() > Self::MAX_LEN {
            return Err(Error::Length { what: "sealed link payload", expected: Self::MAX_LEN, got: bytes.len() });
        }
        Ok(Self {
            ephemeral_public: LinkPublicKey(bytes[..32].try_into().expect("32 bytes")),
            nonce: bytes[32..32 + NONCE_LEN].try_into().expect("24 bytes"),
            ciphertext: bytes[32 + NONCE_LEN..].to_vec(),
        })
    }
}

/// The existing device's side: checks `relayed` against the code's fingerprint,
/// then seals `payload` (the account keys) to it with a fresh ephemeral key.
pub fn seal_to_new_device(code: &LinkCode, relayed: &LinkPublicKey, payload: &[u8]) -> Result<LinkSealed, Error> {
    if !bool::from(relayed.fingerprint().0.ct_eq(&code.fingerprint.0)) {
        return Err(Error::FingerprintMismatch);
    }
    let ephemeral = LinkSecretKey::from_bytes(random()?);
    let ephemeral_public = LinkPublicKey(x25519_base(ephemeral.expose_secret()));
    let shared = x25519(ephemeral.expose_secret(), &relayed.0)?;
    let key = link_key(&shared, code, &ephemeral_public, relayed);
    let mut ciphertext = payload.to_vec();
    let nonce = primitives::aead_seal(&key, b"", &mut ciphertext)?;
    Ok(LinkSealed { ephemeral_public, nonce, ciphertext })
}

/// `link_key = HKDF-SHA256[secret, "sealsync/v1/link" || pairing_id || epk || pk](X25519(e, pk), 32)`
fn link_key(
    shared: &[u8; 32],
    code: &LinkCode,
    ephemeral_public: &LinkPublicKey,
    public_key: &LinkPublicKey,
) -> Zeroizing<[u8; KEY_LEN]> {
    let info = [LABEL_LINK, &code.pairing_id.0, &ephemeral_public.0, &public_key.0].concat();
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    hkdf_fixed(code.secret.expose_secret(), &info, shared, &mut key);
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAYLOAD: &[u8] = b"data key and account id";

    fn existing_device_reads(code: &LinkCode) -> LinkCode {
        LinkCode::from_bytes(&*code.to_bytes()).unwrap()
    }

    #[test]
    fn the_new_device_receives_the_payload() {
        let request = LinkRequest::generate().unwrap();
        let code = existing_device_reads(request.code());
        let sealed = seal_to_new_device(&code, &request.public_key(), PAYLOAD).unwrap();
        let relayed = LinkSealed::from_bytes(&sealed.to_bytes()).unwrap();
        assert_eq!(&*request.open(&relayed).unwrap(), PAYLOAD);
    }

    #[test]
    fn a_server_that_swaps_the_public_key_is_caught() {
        let request = LinkRequest::generate().unwrap();
        let server = LinkRequest::generate().unwrap();
        let code = existing_device_reads(request.code());
        assert_eq!(seal_to_new_device(&code, &server.public_key(), PAYLOAD).unwrap_err(), Error::FingerprintMismatch);
    }

    #[test]
    fn a_server_that_plants_its_own_payload_is_caught() {
        let request = LinkRequest::generate().unwrap();
        // The server knows everything it relays (pairing id, public key) but not
        // the secret, so it must guess one.
        let forged_code = LinkCode {
            pairing_id: request.code().pairing_id,
            fingerprint: request.code().fingerprint,
            secret: LinkSecret::from_bytes(random().unwrap()),
        };
        let forged = seal_to_new_device(&forged_code, &request.public_key(), b"server's key").unwrap();
        assert_eq!(request.open(&forged).unwrap_err(), Error::Decrypt);
    }

    #[test]
    fn a_tampered_or_low_order_sealed_payload_is_refused() {
        let request = LinkRequest::generate().unwrap();
        let sealed = seal_to_new_device(request.code(), &request.public_key(), PAYLOAD).unwrap();
        let bytes = sealed.to_bytes();
        for i in 0..bytes.len() {
            let mut tampered = bytes.clone();
            tampered[i] ^= 0x80;
            let tampered = LinkSealed::from_bytes(&tampered).unwrap();
            assert!(request.open(&tampered).is_err(), "byte {i}");
        }
        let low_order = LinkSealed { ephemeral_public: LinkPublicKey([0; 32]), ..sealed };
        assert_eq!(request.open(&low_order).unwrap_err(), Error::LowOrderPoint);
        assert!(matches!(LinkSealed::from_bytes(&bytes[..71]), Err(Error::Length { .. })));
    }
}
