//! Account names in their canonical form, because the Argon2id salt is derived
//! from the name's bytes: two spellings of one name must give one salt.

use crate::Error;

/// Longest account name, in bytes.
pub const MAX_ACCOUNT_NAME_LEN: usize = 128;

/// A canonical account name: ASCII, lower case, 1 to 128 bytes of
/// `a-z 0-9 . _ - + @` (so an e-mail address fits), trimmed of surrounding ASCII
/// white space.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccountName(String);

impl AccountName {
    /// Canonicalises and validates a name as the user typed it.
    pub fn parse(name: &str) -> Result<Self, Error> {
        let name = name.trim_matches(|c: char| c.is_ascii_whitespace()).to_ascii_lowercase();
        if name.is_empty() {
            return Err(Error::InvalidAccountName("it is empty"));
        }
        if name.len() > MAX_ACCOUNT_NAME_LEN {
            return Err(Error::InvalidAccountName("it is longer than 128 bytes"));
        }
        if !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-+@".contains(&b)) {
            return Err(Error::InvalidAccountName("only letters a-z, digits and . _ - + @ are allowed"));
        }
        Ok(Self(name))
    }

    /// The canonical name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl core::fmt::Display for AccountName {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_name_canonicalise_alike() {
        assert_eq!(AccountName::parse("  Alice@Example.org ").unwrap().as_str(), "alice@example.org");
    }

    #[test]
    fn bad_names_are_typed_errors() {
        for bad in ["", "   ", "a b", "ålice", "a\u{0}b", &"a".repeat(129)] {
            assert!(matches!(AccountName::parse(bad), Err(Error::InvalidAccountName(_))), "{bad:?}");
        }
        assert!(AccountName::parse(&"a".repeat(128)).is_ok());
    }
}
