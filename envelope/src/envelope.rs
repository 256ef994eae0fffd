//! The envelope: one sealed record version plus the header the server may read
//! (PROTOCOL.md §4.1), its canonical CBOR form, and the AAD that binds the
//! header and the account to the ciphertext (PROTOCOL.md §4.4).

use sealsync_crypto::{KeyId, NONCE_LEN, TAG_LEN};

use crate::cbor::{Reader, Writer};
use crate::padding::{MAX_PADDED_LEN, is_padded_len};
use crate::{AccountId, DecodeError, DeviceId, DeviceSeq, RecordId};

/// Envelope format version written and accepted by this build.
pub const VERSION: u16 = 1;
/// Cipher suite 1: XChaCha20-Poly1305 under HKDF-SHA256 subkeys of the data key.
pub const SUITE: u16 = 1;

/// Largest ciphertext: the largest padded payload plus the tag.
const MAX_CIPHERTEXT_LEN: usize = MAX_PADDED_LEN + TAG_LEN;

/// Largest canonical envelope: the map header, eight 1-byte keys, the fixed
/// fields with their headers (version 1, suite 1, record id 17, device id 17,
/// device_seq up to 9, key id 17, nonce 26 bytes) and the ciphertext with its
/// 5-byte header. Anything longer is refused unread.
pub const MAX_ENVELOPE_LEN: usize = 1 + 8 + (1 + 1 + 17 + 17 + 9 + 17 + 26) + 5 + MAX_CIPHERTEXT_LEN;

/// Length of the AAD: 2 + 2 + 16 + 16 + 16 + 8 + 16 bytes.
pub const AAD_LEN: usize = 76;

// CBOR map keys of the envelope (PROTOCOL.md §4.1).
const KEY_VERSION: u64 = 1;
const KEY_SUITE: u64 = 2;
const KEY_RECORD_ID: u64 = 3;
const KEY_DEVICE_ID: u64 = 4;
const KEY_DEVICE_SEQ: u64 = 5;
const KEY_KEY_ID: u64 = 6;
const KEY_NONCE: u64 = 7;
const KEY_CIPHERTEXT: u64 = 8;

/// What the server sees of an envelope besides its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EnvelopeHeader {
    /// The record this is a version of.
    pub record_id: RecordId,
    /// The device that sealed it.
    pub device_id: DeviceId,
    /// That device's change counter at sealing.
    pub device_seq: DeviceSeq,
    /// The data key that sealed it.
    pub key_id: KeyId,
}

impl EnvelopeHeader {
    /// `aad = u16(version) || u16(suite) || account_id || record_id || device_id || u64(device_seq) || key_id`,
    /// integers big-endian: every header field plus the account, so a server
    /// cannot move a ciphertext to another account, record, device, counter or key.
    pub fn aad(&self, account_id: &AccountId) -> [u8; AAD_LEN] {
        let mut aad = [0u8; AAD_LEN];
        aad[0..2].copy_from_slice(&VERSION.to_be_bytes());
        aad[2..4].copy_from_slice(&SUITE.to_be_bytes());
        aad[4..20].copy_from_slice(account_id.as_bytes());
        aad[20..36].copy_from_slice(self.record_id.as_bytes());
        aad[36..52].copy_from_slice(self.device_id.as_bytes());
        aad[52..60].copy_from_slice(&self.device_seq.0.to_be_bytes());
        aad[60..76].copy_from_slice(self.key_id.as_bytes());
        aad
    }
}

/// A sealed record version.
#[derive(Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The cleartext header.
    pub header: EnvelopeHeader,
    /// XChaCha20-Poly1305 nonce, random per envelope.
    pub nonce: [u8; NONCE_LEN],
    /// The sealed padded payload, tag included.
    pub ciphertext: Vec<u8>,
}

/// Shows the header and the ciphertext's length, never its bytes, so an
/// envelope in a log line or panic message leaks no ciphertext.
impl core::fmt::Debug for Envelope {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Envelope")
            .field("header", &self.header)
            .field("ciphertext_len", &self.ciphertext.len())
            .finish_non_exhaustive()
    }
}

impl Envelope {
    /// The canonical CBOR map `{1: version, 2: suite, 3: record_id, 4: device_id,
    /// 5: device_seq, 6: key_id, 7: nonce, 8: ciphertext}`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.ciphertext.len() + 100);
        let mut w = Writer::new(&mut out);
        w.map(8);
        w.uint(KEY_VERSION);
        w.uint(VERSION.into());
        w.uint(KEY_SUITE);
        w.uint(SUITE.into());
        w.uint(KEY_RECORD_ID);
        w.bytes(self.header.record_id.as_bytes());
        w.uint(KEY_DEVICE_ID);
        w.bytes(self.header.device_id.as_bytes());
        w.uint(KEY_DEVICE_SEQ);
        w.uint(self.header.device_seq.0);
        w.uint(KEY_KEY_ID);
        w.bytes(self.header.key_id.as_bytes());
        w.uint(KEY_NONCE);
        w.bytes(&self.nonce);
        w.uint(KEY_CIPHERTEXT);
        w.bytes(&self.ciphertext);
        out
    }

    /// Parses one canonical envelope and nothing else, in the order of
    /// PROTOCOL.md §4.6 (each item's header rules H1-H6, type T and string
    /// length S as it is read): size cap first; the map header (an empty map
    /// is refused at once); key 1 and the version; the entry count; the suite;
    /// then every field in key order; then no trailing bytes. The ciphertext's
    /// length must be a padding bucket plus the tag, so the server refuses junk
    /// that no client could have sealed; it is checked before the content.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() > MAX_ENVELOPE_LEN {
            return Err(DecodeError::TooLarge { what: "envelope", len: bytes.len(), max: MAX_ENVELOPE_LEN });
        }
        let mut r = Reader::new(bytes);
        let entries = r.map_len()?;
        if entries == 0 {
            return Err(DecodeError::InvalidField { field: "envelope", reason: "must have exactly 8 entries" });
        }
        r.key(KEY_VERSION)?;
        let version = r.uint()?;
        if version != u64::from(VERSION) {
            return Err(DecodeError::UnsupportedVersion(version));
        }
        if entries != 8 {
            return Err(DecodeError::InvalidField { field: "envelope", reason: "must have exactly 8 entries" });
        }
        r.key(KEY_SUITE)?;
        let suite = r.uint()?;
        if suite != u64::from(SUITE) {
            return Err(DecodeError::UnsupportedSuite(suite));
        }
        r.key(KEY_RECORD_ID)?;
        let record_id = RecordId::from_bytes(r.array("record_id")?);
        r.key(KEY_DEVICE_ID)?;
        let device_id = DeviceId::from_bytes(r.array("device_id")?);
        r.key(KEY_DEVICE_SEQ)?;
        let device_seq = DeviceSeq(r.uint()?);
        if device_seq > DeviceSeq::MAX {
            return Err(DecodeError::InvalidField { field: "device_seq", reason: "exceeds 2^63 - 1" });
        }
        r.key(KEY_KEY_ID)?;
        let key_id = KeyId(r.array("key_id")?);
        r.key(KEY_NONCE)?;
        let nonce = r.array("nonce")?;
        r.key(KEY_CIPHERTEXT)?;
        let ciphertext = r.bytes_where(
            "ciphertext",
            |len| len >= TAG_LEN && is_padded_len(len - TAG_LEN),
            "length is not a padded payload size plus the tag",
        )?;
        r.finish()?;
        Ok(Self {
            header: EnvelopeHeader { record_id, device_id, device_seq, key_id },
            nonce,
            ciphertext: ciphertext.to_vec(),
        })
    }
}
