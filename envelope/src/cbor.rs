//! Canonical CBOR for the fixed-schema structures (envelope, record payload).
//!
//! The reader parses each item head itself and insists on the one canonical
//! form (RFC 8949 §4.2.1: shortest argument, definite lengths); it reads byte
//! and text strings as borrowed slices of the input. Maps are read key by key
//! in a fixed order, so unknown, missing, repeated or reordered keys are all
//! errors. The writer is ciborium-ll's encoder.

use ciborium_ll::{Encoder, Header};

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

    /// Reads one item head (RFC 8949 §3: initial byte and argument) and
    /// applies PROTOCOL.md §4.6's header rules H1–H6 in that order, so that
    /// every input gets one error class: well-formedness (`Truncated`,
    /// `Malformed`) as far as the bytes read so far allow, then the shortest
    /// form (`NotCanonical`). The caller then checks the major type (T).
    /// Parsed here rather than by ciborium-ll's decoder, which builds a reader
    /// per head and was a tenth of the whole open path; the encoder stays
    /// ciborium-ll's, so encoder and decoder check each other in tests.
    fn header(&mut self) -> Result<(usize, Header), DecodeError> {
        let offset = self.pos;
        let truncated = DecodeError::Truncated { offset: self.input.len() };
        let malformed = DecodeError::Malformed { offset };
        let not_canonical = DecodeError::NotCanonical { offset };
        // H1: the initial byte.
        let &initial = self.input.get(offset).ok_or(truncated.clone())?;
        let (major, info) = (initial >> 5, initial & 0x1f);
        let arg_len = match info {
            0..=23 => 0,
            24 => 1,
            25 => 2,
            26 => 4,
            27 => 8,
            // H2: reserved additional information.
            28..=30 => return Err(malformed),
            _ => {
                // H3: additional information 31: the break byte on major type
                // 7, an indefinite length on 2-5, not well-formed on 0, 1, 6.
                return match major {
                    7 => {
                        self.pos += 1;
                        Ok((offset, Header::Break))
                    }
                    2..=5 => Err(not_canonical),
                    _ => Err(malformed),
                };
            }
        };
        // H4: the argument bytes.
        let argument = self.input.get(offset + 1..offset + 1 + arg_len).ok_or(truncated)?;
        let arg = if arg_len == 0 { u64::from(info) } else { argument.iter().fold(0, |a, &b| a << 8 | u64::from(b)) };
        // H5: two-byte simple values below 32 are not well-formed (RFC 8949 §3.3).
        if major == 7 && arg_len == 1 && arg < 32 {
            return Err(malformed);
        }
        // H6: the shortest form; floats (0xf9-0xfb) are not checked, as no
        // float is ever expected and the type rule refuses them.
        let is_float = major == 7 && arg_len >= 2;
        if !is_float && header_len(arg) != 1 + arg_len {
            return Err(not_canonical);
        }
        // A length beyond the address space is simply a length too large for
        // any field (rule S), on every platform.
        let length = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        let header = match major {
            0 => Header::Positive(arg),
            1 => Header::Negative(arg),
            2 => Header::Bytes(Some(length(arg))),
            3 => Header::Text(Some(length(arg))),
            4 => Header::Array(Some(length(arg))),
            5 => Header::Map(Some(length(arg))),
            6 => Header::Tag(arg),
            _ if is_float => Header::Float(0.0),
            _ => Header::Simple(arg as u8),
        };
        self.pos += 1 + arg_len;
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
            (offset, other) => Err(Self::unexpected(offset, "map", &other)),
        }
    }

    /// A definite-length array; returns its number of items.
    pub(crate) fn array_len(&mut self) -> Result<usize, DecodeError> {
        match self.header()? {
            (_, Header::Array(Some(n))) => Ok(n),
            (offset, Header::Array(None)) => Err(DecodeError::NotCanonical { offset }),
            (offset, other) => Err(Self::unexpected(offset, "array", &other)),
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
        self.bytes_where(field, |len| len <= max, "too long")
    }

    /// A byte string of exactly `N` bytes.
    pub(crate) fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let bytes = self.bytes_where(field, |len| len == N, "wrong length")?;
        Ok(bytes.try_into().expect("length checked"))
    }

    /// A definite-length byte string whose length satisfies `valid`, borrowed.
    /// The length is checked before the content is read (rule S of
    /// PROTOCOL.md §4.6): a wrong length is `InvalidField` even if the input
    /// ends before the content would.
    pub(crate) fn bytes_where(
        &mut self,
        field: &'static str,
        valid: impl FnOnce(usize) -> bool,
        reason: &'static str,
    ) -> Result<&'a [u8], DecodeError> {
        match self.header()? {
            (_, Header::Bytes(Some(len))) if valid(len) => self.take(len),
            (_, Header::Bytes(Some(_))) => Err(DecodeError::InvalidField { field, reason }),
            (offset, other) => Err(Self::unexpected(offset, "byte string", &other)),
        }
    }

    /// A definite-length UTF-8 text string of at most `max` bytes, borrowed:
    /// the length, then the content, then UTF-8 (rule S of PROTOCOL.md §4.6).
    pub(crate) fn text(&mut self, field: &'static str, max: usize) -> Result<&'a str, DecodeError> {
        match self.header()? {
            (_, Header::Text(Some(len))) if len <= max => {
                let bytes = self.take(len)?;
                core::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidField { field, reason: "not UTF-8" })
            }
            (_, Header::Text(Some(_))) => Err(DecodeError::InvalidField { field, reason: "too long" }),
            (offset, other) => Err(Self::unexpected(offset, "text string", &other)),
        }
    }

    /// The next `len` bytes of content.
    fn take(&mut self, len: usize) -> Result<&'a [u8], DecodeError> {
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

    pub(crate) fn array(&mut self, len: usize) {
        self.push(Header::Array(Some(len)));
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
    fn header_rules_come_before_the_type_and_a_length_before_its_content() {
        // f8 below 32 is not well-formed, before any shortest-form rule.
        assert_eq!(read_uint(&[0xf8, 0x01]), Err(DecodeError::Malformed { offset: 0 }));
        // A non-shortest or indefinite header of the wrong type is not canonical.
        assert_eq!(read_uint(&[0x58, 0x01, 0x00]), Err(DecodeError::NotCanonical { offset: 0 }));
        assert_eq!(read_uint(&[0x7f]), Err(DecodeError::NotCanonical { offset: 0 }));
        // Additional information 31 on an integer or a tag is not CBOR; on 7 it is a break.
        assert_eq!(read_uint(&[0x1f]), Err(DecodeError::Malformed { offset: 0 }));
        assert_eq!(read_uint(&[0xdf]), Err(DecodeError::Malformed { offset: 0 }));
        assert!(matches!(read_uint(&[0xff]), Err(DecodeError::Unexpected { found: "break", .. })));
        // A wrong length is refused before the missing content; a right one is truncated.
        assert!(matches!(Reader::new(&[0x51, 0x00]).array::<16>("id"), Err(DecodeError::InvalidField { .. })));
        assert_eq!(Reader::new(&[0x50, 0x00]).array::<16>("id"), Err(DecodeError::Truncated { offset: 2 }));
        assert!(matches!(Reader::new(&[0x62, 0xff, 0xff]).text("t", 8), Err(DecodeError::InvalidField { .. })));
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
