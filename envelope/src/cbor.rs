//! Canonical CBOR for the fixed-schema structures (envelope, record payload).
//!
//! ciborium-ll parses each item header; this module insists on the one
//! canonical form (RFC 8949 §4.2.1: shortest argument, definite lengths) by
//! checking each header's length against the shortest one for its argument,
//! and it reads byte and text strings as borrowed slices of the input. Maps are read key by key in a fixed
//! order, so unknown, missing, repeated or reordered keys are all errors.

use ciborium_ll::{Decoder, Encoder, Header};

use crate::DecodeError;

/// A strict reader over one complete CBOR item.
pub(crate) struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(input: &'a [u8]) -> Self {
        Self { input, pos: 0 }
    }

    fn header(&mut self) -> Result<(usize, Header), DecodeError> {
        let offset = self.pos;
        let rest = &self.input[offset..];
        let mut decoder = Decoder::from(rest);
        let header = decoder.pull().map_err(|e| match e {
            ciborium_ll::Error::Io(_) => DecodeError::Truncated { offset: self.input.len() },
            ciborium_ll::Error::Syntax(_) => DecodeError::Malformed { offset },
        })?;
        let used = decoder.offset();
        // ciborium-ll read the argument from as many bytes as the header's
        // minor code announced; the encoding is canonical exactly when that is
        // the fewest bytes that argument needs.
        let canonical_len = match header {
            Header::Positive(n) | Header::Negative(n) | Header::Tag(n) => header_len(n),
            Header::Bytes(Some(n)) | Header::Text(Some(n)) | Header::Array(Some(n)) | Header::Map(Some(n)) => {
                header_len(n as u64)
            }
            Header::Simple(n) => header_len(n.into()),
            // Indefinite lengths are never canonical; floats and breaks appear
            // nowhere in the formats and are refused by the caller.
            Header::Bytes(None) | Header::Text(None) | Header::Array(None) | Header::Map(None) => usize::MAX,
            Header::Float(_) | Header::Break => used,
        };
        if used != canonical_len {
            return Err(DecodeError::NotCanonical { offset });
        }
        self.pos += used;
        Ok((offset, header))
    }

    fn unexpected(offset: usize, expected: &'static str, found: &Header) -> DecodeError {
        let found = match found {
            Header::Positive(_) => "unsigned integer",
            Header::Negative(_) => "negative integer",
            Header::Float(_) => "float",
            Header::Simple(_) => "simple value",
            Header::Tag(_) => "tag",
            Header::Break => "break",
            Header::Bytes(_) => "byte string",
            Header::Text(_) => "text string",
            Header::Array(_) => "array",
            Header::Map(_) => "map",
        };
        DecodeError::Unexpected { offset, expected, found }
    }

    /// A definite-length map; returns its number of entries, which the caller
    /// checks once it knows the format version.
    pub(crate) fn map_len(&mut self) -> Result<usize, DecodeError> {
        match self.header()? {
            (_, Header::Map(Some(n))) => Ok(n),
            (offset, Header::Map(None)) => Err(DecodeError::NotCanonical { offset }),
            (offset, other) => Err(Self::unexpected(offset, "map", &other)),
        }
    }

    /// The integer map key `key`, which the schema says comes next.
    pub(crate) fn key(&mut self, key: u64) -> Result<(), DecodeError> {
        match self.header()? {
            (_, Header::Positive(k)) if k == key => Ok(()),
            (offset, Header::Positive(_)) => {
                Err(DecodeError::Unexpected { offset, expected: "the next key in order", found: "another key" })
            }
            (offset, other) => Err(Self::unexpected(offset, "integer map key", &other)),
        }
    }

    pub(crate) fn uint(&mut self) -> Result<u64, DecodeError> {
        match self.header()? {
            (_, Header::Positive(n)) => Ok(n),
            (offset, other) => Err(Self::unexpected(offset, "unsigned integer", &other)),
        }
    }

    /// An unsigned integer or `null` (simple value 22).
    pub(crate) fn uint_or_null(&mut self) -> Result<Option<u64>, DecodeError> {
        match self.header()? {
            (_, Header::Positive(n)) => Ok(Some(n)),
            (_, Header::Simple(ciborium_ll::simple::NULL)) => Ok(None),
            (offset, other) => Err(Self::unexpected(offset, "unsigned integer or null", &other)),
        }
    }

    /// A definite-length byte string of at most `max` bytes, borrowed.
    pub(crate) fn bytes(&mut self, field: &'static str, max: usize) -> Result<&'a [u8], DecodeError> {
        match self.header()? {
            (_, Header::Bytes(Some(len))) => self.take(field, len, max),
            (offset, Header::Bytes(None)) => Err(DecodeError::NotCanonical { offset }),
            (offset, other) => Err(Self::unexpected(offset, "byte string", &other)),
        }
    }

    /// A byte string of exactly `N` bytes.
    pub(crate) fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let bytes = self.bytes(field, N)?;
        bytes.try_into().map_err(|_| DecodeError::InvalidField { field, reason: "wrong length" })
    }

    /// A definite-length UTF-8 text string of at most `max` bytes, borrowed.
    pub(crate) fn text(&mut self, field: &'static str, max: usize) -> Result<&'a str, DecodeError> {
        match self.header()? {
            (_, Header::Text(Some(len))) => {
                let bytes = self.take(field, len, max)?;
                core::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidField { field, reason: "not UTF-8" })
            }
            (offset, Header::Text(None)) => Err(DecodeError::NotCanonical { offset }),
            (offset, other) => Err(Self::unexpected(offset, "text string", &other)),
        }
    }

    fn take(&mut self, field: &'static str, len: usize, max: usize) -> Result<&'a [u8], DecodeError> {
        if len > max {
            return Err(DecodeError::TooLarge { what: field, len, max });
        }
        let end = self.pos.checked_add(len).filter(|&end| end <= self.input.len());
        let end = end.ok_or(DecodeError::Truncated { offset: self.input.len() })?;
        let bytes = &self.input[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    /// The item must end exactly at the end of the input.
    pub(crate) fn finish(self) -> Result<(), DecodeError> {
        match self.input.len() - self.pos {
            0 => Ok(()),
            extra => Err(DecodeError::TrailingBytes(extra)),
        }
    }
}

/// Writes canonical CBOR into a `Vec`.
pub(crate) struct Writer<'v>(Encoder<&'v mut Vec<u8>>);

impl<'v> Writer<'v> {
    pub(crate) fn new(out: &'v mut Vec<u8>) -> Self {
        Self(Encoder::from(out))
    }

    fn push(&mut self, header: Header) {
        self.0.push(header).expect("writing to a Vec cannot fail");
    }

    pub(crate) fn map(&mut self, len: usize) {
        self.push(Header::Map(Some(len)));
    }

    pub(crate) fn uint(&mut self, n: u64) {
        self.push(Header::Positive(n));
    }

    pub(crate) fn null(&mut self) {
        self.push(Header::Simple(ciborium_ll::simple::NULL));
    }

    pub(crate) fn bytes(&mut self, bytes: &[u8]) {
        self.push(Header::Bytes(Some(bytes.len())));
        ciborium_io::Write::write_all(&mut self.0, bytes).expect("writing to a Vec cannot fail");
    }

    pub(crate) fn text(&mut self, text: &str) {
        self.push(Header::Text(Some(text.len())));
        ciborium_io::Write::write_all(&mut self.0, text.as_bytes()).expect("writing to a Vec cannot fail");
    }
}

/// Length of the canonical header of an item whose argument is `n` (RFC 8949 §3).
pub(crate) const fn header_len(n: u64) -> usize {
    match n {
        0..24 => 1,
        24..0x100 => 2,
        0x100..0x1_0000 => 3,
        0x1_0000..0x1_0000_0000 => 5,
        _ => 9,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_uint(bytes: &[u8]) -> Result<u64, DecodeError> {
        let mut r = Reader::new(bytes);
        let n = r.uint()?;
        r.finish()?;
        Ok(n)
    }

    #[test]
    fn shortest_integers_only() {
        assert_eq!(read_uint(&[0x17]), Ok(23));
        assert_eq!(read_uint(&[0x18, 0x18]), Ok(24));
        assert_eq!(read_uint(&[0x18, 0x17]), Err(DecodeError::NotCanonical { offset: 0 }));
        assert_eq!(read_uint(&[0x19, 0x00, 0xff]), Err(DecodeError::NotCanonical { offset: 0 }));
        assert_eq!(read_uint(&[0x1b, 0, 0, 0, 0, 0, 0, 0, 1]), Err(DecodeError::NotCanonical { offset: 0 }));
    }

    #[test]
    fn indefinite_lengths_truncation_and_trailing_bytes_are_refused() {
        let mut r = Reader::new(&[0x5f, 0x41, 0x00, 0xff]);
        assert_eq!(r.bytes("b", 10), Err(DecodeError::NotCanonical { offset: 0 }));
        let mut r = Reader::new(&[0x43, 0x00]);
        assert_eq!(r.bytes("b", 10), Err(DecodeError::Truncated { offset: 2 }));
        assert_eq!(read_uint(&[0x01, 0x02]), Err(DecodeError::TrailingBytes(1)));
        assert_eq!(read_uint(&[]), Err(DecodeError::Truncated { offset: 0 }));
        assert_eq!(read_uint(&[0x1c]), Err(DecodeError::Malformed { offset: 0 }));
    }

    #[test]
    fn header_len_matches_the_encoder() {
        for n in [0, 23, 24, 255, 256, 65535, 65536, u32::MAX as u64, u32::MAX as u64 + 1, u64::MAX] {
            let mut out = Vec::new();
            Writer::new(&mut out).uint(n);
            assert_eq!(out.len(), header_len(n), "{n}");
        }
    }
}
