//! Device linking (PROTOCOL.md §6): a new device N receives the account keys
//! from an approving device A that is already signed in. The server only
//! relays, and the user carries a short code from N's screen to A.
//!
//! 1. N: [`NewDeviceLink::start`] draws the 40-bit password and N's SPAKE2
//!    message, which goes to the relay; the relay answers a pairing number,
//!    and N shows [`NewDeviceLink::code`] (`NNNNNN-XXXX-XXXX`).
//! 2. A: [`LinkCode::parse`] what the user typed, fetch N's device id and
//!    message from the relay, [`ApproverLink::start`] and
//!    [`ApproverLink::finish`]; send A's message and `confirm_approver`.
//! 3. N: [`NewDeviceLink::finish`] with A's device id and message,
//!    [`LinkKeys::check_approver`], then send `confirm_new` and its name
//!    sealed with [`LinkKeys::seal_name`].
//! 4. A: [`LinkKeys::check_new`], [`LinkKeys::open_name`], then
//!    [`LinkKeys::seal_bundle`] (the account keys; the client defines them).
//! 5. N: [`LinkKeys::open_bundle`].
//!
//! The relay sees both SPAKE2 messages and may replace either, but it does
//! not know the password: each pairing gives it one guess (2^-40), and a
//! wrong guess fails a confirmation, which burns the pairing. Both device ids
//! and the pairing number are bound into every derived key.
//!
//! Both sides in one process, with the relay's requests (PROTOCOL.md §8.3)
//! in the comments:
//!
//! ```
//! use sealsync_crypto::link::{ApproverLink, LinkCode, NewDeviceLink, PairingNumber};
//! # fn main() -> Result<(), sealsync_crypto::Error> {
//! let (new_id, approver_id) = ([0x11; 16], [0xaa; 16]);
//!
//! // N: POST /v1/pairings {device_id, message} -> {pairing: "004217", secret, expires_at}
//! let new = NewDeviceLink::start(new_id)?;
//! let pairing = PairingNumber::parse("004217")?;
//! let shown = new.code(pairing).to_text(); // "004217-XXXX-XXXX" on N's screen
//!
//! // A: the typed code; GET /v1/pairings/004217 -> {new_device_id, message}
//! let code = LinkCode::parse(&shown)?;
//! let approver = ApproverLink::start(&code, new_id, approver_id);
//! let approver_message = approver.message();
//! let a_keys = approver.finish(&new.message())?;
//! // A: POST .../claim {message: approver_message, confirm: a_keys.confirm_approver}
//!
//! // N: GET -> {approver_device_id, message, confirm}
//! let n_keys = new.finish(pairing, approver_id, &approver_message)?;
//! n_keys.check_approver(a_keys.confirm_approver.expose_secret())?; // else POST .../fail
//! let sealed_name = n_keys.seal_name("Sam's phone".as_bytes())?;
//! // N: POST .../confirm {confirm: n_keys.confirm_new, encrypted_name: sealed_name}
//!
//! // A: GET -> {confirm, encrypted_name}
//! a_keys.check_new(n_keys.confirm_new.expose_secret())?; // else POST .../fail
//! assert_eq!(a_keys.open_name(&sealed_name)?, b"Sam's phone");
//! let sealed_bundle = a_keys.seal_bundle(b"the client's bundle of account keys")?;
//! // A: POST .../approve {encrypted_name: (the name under the record key), bundle: sealed_bundle}
//!
//! // N: GET -> {bundle, token}
//! assert_eq!(&*n_keys.open_bundle(&sealed_bundle)?, b"the client's bundle of account keys");
//! # Ok(())
//! # }
//! ```

use spake2::{Ed25519Group, Identity, Password, Spake2};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::Error;
use crate::primitives::{self, KEY_LEN, NONCE_LEN, TAG_LEN, hkdf_fixed};
use crate::recovery::crockford;
use crate::secret::secret_bytes;

/// `"sealsync/v1/link/new"`: N's SPAKE2 identity (side A of SPAKE2).
pub const ID_NEW: &[u8] = b"sealsync/v1/link/new";
/// `"sealsync/v1/link/approver"`: A's SPAKE2 identity (side B of SPAKE2).
pub const ID_APPROVER: &[u8] = b"sealsync/v1/link/approver";
/// `"sealsync/v1/link/confirm-new"`: label of N's key confirmation.
pub const LABEL_CONFIRM_NEW: &[u8] = b"sealsync/v1/link/confirm-new";
/// `"sealsync/v1/link/confirm-approver"`: label of A's key confirmation.
pub const LABEL_CONFIRM_APPROVER: &[u8] = b"sealsync/v1/link/confirm-approver";
/// `"sealsync/v1/link/key"`: label of the link key.
pub const LABEL_KEY: &[u8] = b"sealsync/v1/link/key";
/// `"sealsync/v1/link/name"`: AAD label of N's sealed device name.
pub const LABEL_NAME: &[u8] = b"sealsync/v1/link/name";
/// `"sealsync/v1/link/bundle"`: AAD label of the sealed bundle.
pub const LABEL_BUNDLE: &[u8] = b"sealsync/v1/link/bundle";

secret_bytes!(
    /// The SPAKE2 password: 40 random bits, shown in the link code and never
    /// sent to the server.
    LinkPassword,
    5
);
secret_bytes!(
    /// `K`: the SPAKE2 output both devices share when they used one password.
    SpakeKey,
    32
);
secret_bytes!(
    /// A key confirmation (`confirm_new` or `confirm_approver`).
    LinkConfirm,
    32
);
secret_bytes!(
    /// `link_key`: seals N's name and the bundle.
    LinkKey,
    KEY_LEN
);

/// The relay's number for one linking attempt: 0 to 999 999, written as six
/// decimal digits (`004217`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PairingNumber(u32);

impl PairingNumber {
    /// The largest pairing number.
    pub const MAX: u32 = 999_999;

    /// A number from 0 to [`PairingNumber::MAX`].
    pub fn new(number: u32) -> Result<Self, Error> {
        (number <= Self::MAX).then_some(Self(number)).ok_or(Error::LinkCodeFormat)
    }

    /// The number.
    pub fn get(self) -> u32 {
        self.0
    }

    /// Exactly six ASCII digits, as the relay writes the number.
    pub fn parse(text: &str) -> Result<Self, Error> {
        if text.len() != 6 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::LinkCodeFormat);
        }
        Self::new(text.parse().map_err(|_| Error::LinkCodeFormat)?)
    }
}

impl core::fmt::Display for PairingNumber {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:06}", self.0)
    }
}

/// What N shows and the user types on A: the pairing number and the password.
#[derive(Debug, PartialEq, Eq)]
pub struct LinkCode {
    pairing: PairingNumber,
    password: LinkPassword,
}

impl LinkCode {
    /// A code from its parts.
    pub fn new(pairing: PairingNumber, password: LinkPassword) -> Self {
        Self { pairing, password }
    }

    /// The pairing number.
    pub fn pairing(&self) -> PairingNumber {
        self.pairing
    }

    /// The password.
    pub fn password(&self) -> &LinkPassword {
        &self.password
    }

    /// `dec6(pairing) || "-" || b32[0..4] || "-" || b32[4..8]`, where
    /// `b32` is the Crockford base32 of the password: 16 characters.
    pub fn to_text(&self) -> Zeroizing<String> {
        let b32 = Zeroizing::new(crockford().encode(&self.password.0));
        Zeroizing::new(format!("{}-{}-{}", self.pairing, &b32[..4], &b32[4..]))
    }

    /// Reads a typed code: hyphens and spaces do not matter, nor does case;
    /// O is read as 0 and I, L as 1. Then 6 digits and 8 characters of
    /// Crockford base32 must remain.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let compact: Zeroizing<Vec<u8>> =
            Zeroizing::new(text.bytes().filter(|b| !matches!(b, b'-' | b' ' | b'\t' | b'\r' | b'\n')).collect());
        if compact.len() != 14 {
            return Err(Error::LinkCodeFormat);
        }
        let digits: String = compact[..6]
            .iter()
            .map(|b| match b.to_ascii_uppercase() {
                b'O' => '0',
                b'I' | b'L' => '1',
                other => char::from(other),
            })
            .collect();
        let pairing = PairingNumber::parse(&digits)?;
        let raw = Zeroizing::new(crockford().decode(&compact[6..]).map_err(|_| Error::LinkCodeFormat)?);
        Ok(Self { pairing, password: LinkPassword::try_from_slice(&raw).map_err(|_| Error::LinkCodeFormat)? })
    }
}

/// A SPAKE2 message: the side (`0x41` "A" from N, `0x42` "B" from A) and an
/// Ed25519 point, 33 bytes. Public: the relay carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkMessage([u8; 33]);

impl LinkMessage {
    /// Length: side byte and compressed point.
    pub const LEN: usize = 33;
    /// The side byte of N's message.
    pub const SIDE_NEW: u8 = 0x41;
    /// The side byte of A's message.
    pub const SIDE_APPROVER: u8 = 0x42;

    /// Takes a relayed message of exactly [`LinkMessage::LEN`] bytes; its
    /// side and point are checked when a device finishes with it.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let bytes =
            bytes.try_into().map_err(|_| Error::Length { what: "link message", expected: 33, got: bytes.len() })?;
        Ok(Self(bytes))
    }

    /// The relayed form.
    pub fn as_bytes(&self) -> &[u8; 33] {
        &self.0
    }

    fn from_spake(bytes: Vec<u8>) -> Self {
        Self(bytes.try_into().expect("SPAKE2 over Ed25519 sends 33 bytes"))
    }
}

/// `t = u32(pairing) || new_device_id || approver_device_id`: bound into every
/// key and AAD derived from `K`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transcript {
    /// The relay's pairing number.
    pub pairing: PairingNumber,
    /// N's device id (16 bytes of its UUID).
    pub new_device_id: [u8; 16],
    /// A's device id.
    pub approver_device_id: [u8; 16],
}

impl Transcript {
    /// Encoded length.
    pub const LEN: usize = 36;

    /// `u32(pairing) || new_device_id || approver_device_id`
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut t = [0u8; Self::LEN];
        t[..4].copy_from_slice(&self.pairing.0.to_be_bytes());
        t[4..20].copy_from_slice(&self.new_device_id);
        t[20..].copy_from_slice(&self.approver_device_id);
        t
    }
}

fn spake_password(password: &LinkPassword) -> Password {
    Password::new(password.expose_secret())
}

fn spake_key(output: Result<Vec<u8>, spake2::Error>) -> Result<SpakeKey, Error> {
    let output = Zeroizing::new(output.map_err(|_| Error::LinkMessage)?);
    SpakeKey::try_from_slice(&output)
}

/// N's side of a link, from the first message to the keys.
pub struct NewDeviceLink {
    spake: Spake2<Ed25519Group>,
    password: LinkPassword,
    device_id: [u8; 16],
    message: LinkMessage,
}

impl NewDeviceLink {
    /// ```text
    /// password       = random(5)
    /// msg_new        = SPAKE2-A(password, "sealsync/v1/link/new", "sealsync/v1/link/approver")
    /// ```
    pub fn start(new_device_id: [u8; 16]) -> Result<Self, Error> {
        let password = LinkPassword::from_bytes(primitives::random()?);
        let (spake, message) = Spake2::<Ed25519Group>::start_a(
            &spake_password(&password),
            &Identity::new(ID_NEW),
            &Identity::new(ID_APPROVER),
        );
        Ok(Self { spake, password, device_id: new_device_id, message: LinkMessage::from_spake(message) })
    }

    /// N's message, for `POST /v1/pairings`.
    pub fn message(&self) -> LinkMessage {
        self.message
    }

    /// N's device id, as given to [`NewDeviceLink::start`].
    pub fn device_id(&self) -> [u8; 16] {
        self.device_id
    }

    /// The code to show, once the relay has assigned `pairing`.
    pub fn code(&self, pairing: PairingNumber) -> LinkCode {
        LinkCode { pairing, password: LinkPassword::from_bytes(*self.password.expose_secret()) }
    }

    /// `K = SPAKE2-A.finish(msg_approver)`, then the keys of `t`. Consumes
    /// the state: a password serves one exchange.
    pub fn finish(
        self,
        pairing: PairingNumber,
        approver_device_id: [u8; 16],
        approver_message: &LinkMessage,
    ) -> Result<LinkKeys, Error> {
        let k = spake_key(self.spake.finish(approver_message.as_bytes()))?;
        let transcript = Transcript { pairing, new_device_id: self.device_id, approver_device_id };
        Ok(LinkKeys::derive(&k, transcript))
    }
}

impl core::fmt::Debug for NewDeviceLink {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("NewDeviceLink").field("message", &self.message).finish_non_exhaustive()
    }
}

/// A's side of a link.
pub struct ApproverLink {
    spake: Spake2<Ed25519Group>,
    transcript: Transcript,
    message: LinkMessage,
}

impl ApproverLink {
    /// `msg_approver = SPAKE2-B(password, "sealsync/v1/link/new", "sealsync/v1/link/approver")`,
    /// with the password and pairing number of the typed code and N's
    /// device id as the relay names it.
    pub fn start(code: &LinkCode, new_device_id: [u8; 16], approver_device_id: [u8; 16]) -> Self {
        let (spake, message) = Spake2::<Ed25519Group>::start_b(
            &spake_password(&code.password),
            &Identity::new(ID_NEW),
            &Identity::new(ID_APPROVER),
        );
        let transcript = Transcript { pairing: code.pairing, new_device_id, approver_device_id };
        Self { spake, transcript, message: LinkMessage::from_spake(message) }
    }

    /// A's message, for the claim.
    pub fn message(&self) -> LinkMessage {
        self.message
    }

    /// `K = SPAKE2-B.finish(msg_new)`, then the keys of `t`.
    pub fn finish(self, new_message: &LinkMessage) -> Result<LinkKeys, Error> {
        let k = spake_key(self.spake.finish(new_message.as_bytes()))?;
        Ok(LinkKeys::derive(&k, self.transcript))
    }
}

impl core::fmt::Debug for ApproverLink {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ApproverLink")
            .field("transcript", &self.transcript)
            .field("message", &self.message)
            .finish_non_exhaustive()
    }
}

/// What both devices derive from `K` and `t`.
#[derive(Debug, PartialEq, Eq)]
pub struct LinkKeys {
    /// N's confirmation, which A checks before it seals anything.
    pub confirm_new: LinkConfirm,
    /// A's confirmation, which N checks before it answers.
    pub confirm_approver: LinkConfirm,
    /// Seals N's name and the bundle.
    pub link_key: LinkKey,
    /// The transcript every key and AAD binds.
    pub transcript: Transcript,
}

/// `HKDF-SHA256["", label || t](K, 32)`
fn derive_from_k(k: &SpakeKey, label: &[u8], t: &[u8; Transcript::LEN], out: &mut [u8; 32]) {
    hkdf_fixed(b"", &[label, t].concat(), k.expose_secret(), out);
}

/// Constant-time check of a relayed confirmation against the expected one.
fn check(expected: &LinkConfirm, relayed: &[u8]) -> Result<(), Error> {
    let ok = relayed.len() == LinkConfirm::LEN && bool::from(expected.expose_secret().ct_eq(relayed));
    ok.then_some(()).ok_or(Error::LinkConfirmation)
}

impl LinkKeys {
    /// ```text
    /// confirm_new      = HKDF-SHA256["", "sealsync/v1/link/confirm-new" || t](K, 32)
    /// confirm_approver = HKDF-SHA256["", "sealsync/v1/link/confirm-approver" || t](K, 32)
    /// link_key         = HKDF-SHA256["", "sealsync/v1/link/key" || t](K, 32)
    /// ```
    pub fn derive(k: &SpakeKey, transcript: Transcript) -> Self {
        let t = transcript.to_bytes();
        let derive = |label| {
            move |out: &mut [u8; 32]| {
                derive_from_k(k, label, &t, out);
                Ok(())
            }
        };
        Self {
            confirm_new: LinkConfirm::fill_with(derive(LABEL_CONFIRM_NEW)).expect("infallible"),
            confirm_approver: LinkConfirm::fill_with(derive(LABEL_CONFIRM_APPROVER)).expect("infallible"),
            link_key: LinkKey::fill_with(derive(LABEL_KEY)).expect("infallible"),
            transcript,
        }
    }

    /// N checks A's relayed `confirm_approver`; a mismatch means a mistyped
    /// code or someone in between, and the pairing must be failed.
    pub fn check_approver(&self, relayed: &[u8]) -> Result<(), Error> {
        check(&self.confirm_approver, relayed)
    }

    /// A checks N's relayed `confirm_new` before it opens or seals anything.
    pub fn check_new(&self, relayed: &[u8]) -> Result<(), Error> {
        check(&self.confirm_new, relayed)
    }

    fn aad(&self, label: &[u8]) -> Vec<u8> {
        [label, &self.transcript.to_bytes()].concat()
    }

    /// `nonce || XChaCha20-Poly1305[link_key](nonce, label || t, plaintext)`
    fn seal(&self, label: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Error> {
        let mut buffer = plaintext.to_vec();
        let nonce = primitives::aead_seal(self.link_key.expose_secret(), &self.aad(label), &mut buffer)?;
        Ok([&nonce[..], &buffer].concat())
    }

    fn open(&self, label: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
        let Some((nonce, ciphertext)) = sealed.split_first_chunk::<NONCE_LEN>().filter(|(_, c)| c.len() >= TAG_LEN)
        else {
            return Err(Error::Length {
                what: "sealed link message",
                expected: NONCE_LEN + TAG_LEN,
                got: sealed.len(),
            });
        };
        let mut buffer = Zeroizing::new(ciphertext.to_vec());
        primitives::aead_open(self.link_key.expose_secret(), nonce, &self.aad(label), &mut buffer)?;
        Ok(buffer)
    }

    /// N's device name (UTF-8) sealed for A: AAD `"sealsync/v1/link/name" || t`.
    pub fn seal_name(&self, name: &[u8]) -> Result<Vec<u8>, Error> {
        self.seal(LABEL_NAME, name)
    }

    /// Opens [`LinkKeys::seal_name`].
    pub fn open_name(&self, sealed: &[u8]) -> Result<Vec<u8>, Error> {
        Ok(self.open(LABEL_NAME, sealed)?.to_vec())
    }

    /// The bundle (opaque here) sealed for N: AAD `"sealsync/v1/link/bundle" || t`.
    pub fn seal_bundle(&self, bundle: &[u8]) -> Result<Vec<u8>, Error> {
        self.seal(LABEL_BUNDLE, bundle)
    }

    /// Opens [`LinkKeys::seal_bundle`].
    pub fn open_bundle(&self, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
        self.open(LABEL_BUNDLE, sealed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const N_ID: [u8; 16] = [0x11; 16];
    const A_ID: [u8; 16] = [0xaa; 16];
    const BUNDLE: &[u8] = b"account id, key ids and data keys";

    fn pairing() -> PairingNumber {
        PairingNumber::new(4217).unwrap()
    }

    /// Both sides from start to finish; `typed` is what the user types on A.
    fn exchange(typed: impl FnOnce(&str) -> String) -> (LinkKeys, Result<LinkKeys, Error>) {
        let new = NewDeviceLink::start(N_ID).unwrap();
        let shown = new.code(pairing()).to_text();
        let code = LinkCode::parse(&typed(&shown)).unwrap();
        let approver = ApproverLink::start(&code, N_ID, A_ID);
        let approver_message = approver.message();
        let approver_keys = approver.finish(&new.message()).unwrap();
        let new_keys = new.finish(pairing(), A_ID, &approver_message);
        (approver_keys, new_keys)
    }

    #[test]
    fn both_devices_derive_the_same_keys_and_the_bundle_arrives() {
        let (a, n) = exchange(|shown| shown.to_owned());
        let n = n.unwrap();
        assert_eq!(a, n);
        n.check_approver(a.confirm_approver.expose_secret()).unwrap();
        a.check_new(n.confirm_new.expose_secret()).unwrap();
        assert_ne!(n.confirm_new, n.confirm_approver);
        let name = a.open_name(&n.seal_name("Sam's phone".as_bytes()).unwrap()).unwrap();
        assert_eq!(name, b"Sam's phone");
        assert_eq!(&*n.open_bundle(&a.seal_bundle(BUNDLE).unwrap()).unwrap(), BUNDLE);
    }

    #[test]
    fn a_mistyped_code_fails_both_confirmations() {
        let (a, n) = exchange(|shown| {
            let last = if shown.ends_with('0') { '1' } else { '0' };
            format!("{}{last}", &shown[..shown.len() - 1])
        });
        let n = n.unwrap();
        assert_eq!(n.check_approver(a.confirm_approver.expose_secret()), Err(Error::LinkConfirmation));
        assert_eq!(a.check_new(n.confirm_new.expose_secret()), Err(Error::LinkConfirmation));
        assert_eq!(n.open_bundle(&a.seal_bundle(BUNDLE).unwrap()).unwrap_err(), Error::Decrypt);
        assert_eq!(n.check_approver(&[0; 31]), Err(Error::LinkConfirmation));
    }

    #[test]
    fn the_transcript_binds_the_pairing_and_both_ids() {
        let (a, n) = exchange(|shown| shown.to_owned());
        let n = n.unwrap();
        let k = SpakeKey::from_bytes([7; 32]);
        let t = n.transcript;
        let base = LinkKeys::derive(&k, t);
        for other in [
            Transcript { pairing: PairingNumber::new(4218).unwrap(), ..t },
            Transcript { new_device_id: [0x12; 16], ..t },
            Transcript { approver_device_id: [0xab; 16], ..t },
        ] {
            let keys = LinkKeys::derive(&k, other);
            assert_ne!(keys.link_key, base.link_key);
            assert_ne!(keys.confirm_new, base.confirm_new);
        }
        assert_eq!(t.to_bytes()[..4], 4217u32.to_be_bytes());
        // A sealed name does not open as a bundle, nor the reverse.
        assert_eq!(a.open_bundle(&n.seal_name(b"x").unwrap()).unwrap_err(), Error::Decrypt);
        assert_eq!(a.open_name(&a.seal_bundle(b"x").unwrap()).unwrap_err(), Error::Decrypt);
        assert!(matches!(a.open_name(&[0; 39]), Err(Error::Length { .. })));
    }

    #[test]
    fn the_relay_gets_one_guess_and_a_wrong_one_is_caught() {
        // The relay replaces A's message with its own under a guessed password.
        let new = NewDeviceLink::start(N_ID).unwrap();
        let guess = LinkCode::new(pairing(), LinkPassword::from_bytes([0; 5]));
        let relay = ApproverLink::start(&guess, N_ID, A_ID);
        let relay_message = relay.message();
        let relay_keys = relay.finish(&new.message()).unwrap();
        let n = new.finish(pairing(), A_ID, &relay_message).unwrap();
        assert_eq!(n.check_approver(relay_keys.confirm_approver.expose_secret()), Err(Error::LinkConfirmation));
        // A message from the wrong side, or not a point, is refused.
        let new = NewDeviceLink::start(N_ID).unwrap();
        let own = new.message();
        assert_eq!(new.finish(pairing(), A_ID, &own).unwrap_err(), Error::LinkMessage);
        // About half of all y coordinates are not on the curve.
        let not_points = (2..40u8)
            .filter(|&y| {
                let mut bad = [0u8; 33];
                (bad[0], bad[1]) = (LinkMessage::SIDE_APPROVER, y);
                let new = NewDeviceLink::start(N_ID).unwrap();
                new.finish(pairing(), A_ID, &LinkMessage::from_bytes(&bad).unwrap()).err() == Some(Error::LinkMessage)
            })
            .count();
        assert!(not_points > 0);
        assert!(matches!(LinkMessage::from_bytes(&[0x42; 32]), Err(Error::Length { .. })));
        assert_eq!(NewDeviceLink::start(N_ID).unwrap().message().as_bytes()[0], LinkMessage::SIDE_NEW);
    }

    #[test]
    fn codes_are_short_and_forgive_case_hyphens_and_look_alikes() {
        let code =
            LinkCode::new(PairingNumber::new(42).unwrap(), LinkPassword::from_bytes([0xde, 0xad, 0xbe, 0xef, 0x01]));
        let text = code.to_text();
        assert_eq!(text.as_str(), "000042-VTPV-XVR1");
        assert!(text.len() < 20);
        for typed in ["000042-VTPV-XVR1", "000042vtpvxvr1", " 0O0042 VTPV XVRl ", "ooo042-vtpv-xvri"] {
            assert_eq!(LinkCode::parse(typed).unwrap(), code, "{typed}");
        }
        for bad in ["000042-VTPV-XVR", "000042-VTPV-XVR1X", "00004A-VTPV-XVR1", "000042-VTPV-XVRU", ""] {
            assert_eq!(LinkCode::parse(bad), Err(Error::LinkCodeFormat), "{bad}");
        }
        assert_eq!(PairingNumber::parse("004217").unwrap().to_string(), "004217");
        for bad in ["4217", "0042170", "00421a", "+04217", "00 421"] {
            assert_eq!(PairingNumber::parse(bad), Err(Error::LinkCodeFormat), "{bad}");
        }
        assert!(PairingNumber::new(1_000_000).is_err());
        let shown = format!("{:?}", NewDeviceLink::start(N_ID).unwrap().code(pairing()));
        assert!(shown.contains("LinkPassword([REDACTED])"), "{shown}");
    }
}
