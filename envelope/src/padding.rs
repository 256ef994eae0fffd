//! Padding of the record payload before sealing (PROTOCOL.md §4.3), so the
//! ciphertext length shows neither the record's kind nor its exact size.
//!
//! `padded = u32be(len(payload)) || payload || zeros`, its length the bucket
//! `max(512, Padmé(4 + len(payload)))`. Every record up to 508 bytes of payload
//! (every assessment, schedule and activity, and a mood entry with a short note)
//! is exactly 512 bytes; above that, Padmé (Nikitin et al., "Reducing Metadata
//! Leakage from Encrypted Files and Communication with PURBs", PETS 2019) leaks
//! at most O(log log L) bits of the length for at most 12% overhead.

use crate::DecodeError;

/// Smallest padded size: the floor that hides kind and size of small records.
pub const MIN_PADDED_LEN: usize = 512;
/// Largest padded size: the largest record a device can sync.
pub const MAX_PADDED_LEN: usize = 64 * 1024;
/// Largest payload that fits the largest bucket.
pub const MAX_PAYLOAD_LEN: usize = MAX_PADDED_LEN - 4;

/// `Padmé(L)`: L rounded up so that only its top `⌊log2 ⌊log2 L⌋⌋ + 1` bits may be set.
pub const fn padme(len: usize) -> usize {
    if len < 2 {
        return len;
    }
    let e = len.ilog2();
    let s = e.ilog2() + 1;
    let last_bits = e - s;
    let mask = (1usize << last_bits) - 1;
    (len + mask) & !mask
}

/// The padded length for a payload of `payload_len` bytes.
pub const fn padded_len(payload_len: usize) -> usize {
    let len = padme(payload_len + 4);
    if len < MIN_PADDED_LEN { MIN_PADDED_LEN } else { len }
}

/// Whether `len` is a padded length some payload can have: the check the
/// envelope decoder (and so the server) applies to every ciphertext.
pub const fn is_padded_len(len: usize) -> bool {
    len >= MIN_PADDED_LEN && len <= MAX_PADDED_LEN && padme(len) == len
}

/// `u32be(len) || payload || zeros` to the bucket: the padded plaintext.
pub fn pad(payload: &[u8]) -> Result<Vec<u8>, crate::Error> {
    if payload.len() > MAX_PAYLOAD_LEN {
        return Err(crate::Error::PayloadTooLarge { len: payload.len(), max: MAX_PAYLOAD_LEN });
    }
    let mut buffer = start(payload.len(), 0);
    buffer.extend_from_slice(payload);
    finish(&mut buffer);
    Ok(buffer)
}

/// Starts a buffer of `padded_len(payload_len)` bytes with room for the AEAD
/// tag, so sealing in place never reallocates: writes the length prefix.
pub(crate) fn start(payload_len: usize, tag_len: usize) -> Vec<u8> {
    let mut buffer = Vec::with_capacity(padded_len(payload_len) + tag_len);
    buffer.extend_from_slice(&(payload_len as u32).to_be_bytes());
    buffer
}

/// Fills `buffer` (prefix and payload written) with zeros to its bucket.
pub(crate) fn finish(buffer: &mut Vec<u8>) {
    let total = padded_len(buffer.len() - 4);
    buffer.resize(total, 0);
}

/// The payload inside a padded plaintext; refuses any padding but the one
/// canonical form (length, bucket and zero bytes), so it carries no side data.
pub fn unpad(padded: &[u8]) -> Result<&[u8], DecodeError> {
    let invalid = |reason| DecodeError::InvalidField { field: "padding", reason };
    let (prefix, rest) = padded.split_first_chunk::<4>().ok_or(invalid("shorter than its length prefix"))?;
    let len = u32::from_be_bytes(*prefix) as usize;
    if len > rest.len() {
        return Err(invalid("length prefix exceeds the plaintext"));
    }
    if padded_len(len) != padded.len() {
        return Err(invalid("not the bucket for the payload length"));
    }
    let (payload, zeros) = rest.split_at(len);
    if zeros.iter().any(|&b| b != 0) {
        return Err(invalid("non-zero padding bytes"));
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padme_matches_the_paper() {
        // Examples from Nikitin et al. §4: overhead at most 12%.
        assert_eq!(padme(1000), 1024);
        assert_eq!(padme(1074), 1088);
        assert_eq!(padme(9000), 9216);
        assert_eq!(padme(65536), 65536);
        for len in 2..70_000 {
            let p = padme(len);
            assert!(p >= len && (p - len) * 100 <= len * 12, "{len} -> {p}");
            assert_eq!(padme(p), p, "Padmé is idempotent at {len}");
        }
    }

    #[test]
    fn small_records_share_one_size() {
        assert_eq!(padded_len(0), 512);
        assert_eq!(padded_len(508), 512);
        assert_eq!(padded_len(509), 544);
        assert_eq!(padded_len(MAX_PAYLOAD_LEN), MAX_PADDED_LEN);
    }

    #[test]
    fn pad_unpad_round_trip_and_strictness() {
        let mut buffer = start(3, 16);
        buffer.extend_from_slice(b"abc");
        finish(&mut buffer);
        assert_eq!(buffer.len(), 512);
        assert_eq!(unpad(&buffer), Ok(&b"abc"[..]));

        let mut dirty = buffer.clone();
        dirty[300] = 1;
        assert!(unpad(&dirty).is_err());
        let mut long_prefix = buffer.clone();
        long_prefix[..4].copy_from_slice(&600u32.to_be_bytes());
        assert!(unpad(&long_prefix).is_err());
        assert!(unpad(&buffer[..511]).is_err());
        assert!(unpad(&[0, 0]).is_err());
    }
}
