//! Secret types: zeroized on drop, redacted in `Debug`, compared in constant time,
//! and not `Clone`, so a copy of a key is always a visible, deliberate act.

use zeroize::Zeroizing;

use crate::Error;

/// Declares a fixed-size secret byte string.
macro_rules! secret_bytes {
    ($(#[$meta:meta])* $name:ident, $len:expr) => {
        $(#[$meta])*
        #[derive(zeroize::Zeroize, zeroize::ZeroizeOnDrop)]
        pub struct $name([u8; $len]);

        impl $name {
            /// Length in bytes.
            pub const LEN: usize = $len;

            /// Takes key material the caller already holds (e.g. read from the key file).
            pub fn from_bytes(bytes: [u8; $len]) -> Self {
                Self(bytes)
            }

            /// Copies key material from a slice of exactly [`Self::LEN`] bytes.
            pub fn try_from_slice(bytes: &[u8]) -> Result<Self, $crate::Error> {
                let mut key = Self([0; $len]);
                if bytes.len() != $len {
                    return Err($crate::Error::Length {
                        what: stringify!($name),
                        expected: $len,
                        got: bytes.len(),
                    });
                }
                key.0.copy_from_slice(bytes);
                Ok(key)
            }

            /// Builds the secret in place, so the bytes never exist outside `Self`.
            #[allow(dead_code)]
            pub(crate) fn fill_with(
                f: impl FnOnce(&mut [u8; $len]) -> Result<(), $crate::Error>,
            ) -> Result<Self, $crate::Error> {
                let mut key = Self([0; $len]);
                f(&mut key.0)?;
                Ok(key)
            }

            /// The raw bytes, for the one place that must send or store them.
            pub fn expose_secret(&self) -> &[u8; $len] {
                &self.0
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(concat!(stringify!($name), "([REDACTED])"))
            }
        }

        impl subtle::ConstantTimeEq for $name {
            fn ct_eq(&self, other: &Self) -> subtle::Choice {
                self.0.ct_eq(&other.0)
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                subtle::ConstantTimeEq::ct_eq(self, other).into()
            }
        }

        impl Eq for $name {}
    };
}
pub(crate) use secret_bytes;

/// The user's passphrase in Unicode Normalization Form C (PROTOCOL.md §2.3),
/// so that "ü" typed as one code point on one system and as "u" plus a
/// combining diaeresis on another unlock the same account.
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    /// Normalises to NFC; accepts any non-empty passphrase (strength policy
    /// belongs to the UI).
    pub fn new(passphrase: String) -> Result<Self, Error> {
        use unicode_normalization::UnicodeNormalization;
        let typed = Zeroizing::new(passphrase);
        if typed.is_empty() {
            return Err(Error::EmptyPassphrase);
        }
        // Sized exactly first, so the String never reallocates and leaves an
        // unwiped partial copy behind.
        let len = typed.nfc().map(char::len_utf8).sum();
        let mut normalized = Zeroizing::new(String::with_capacity(len));
        normalized.extend(typed.nfc());
        Ok(Self(normalized))
    }

    /// The bytes Argon2id hashes.
    pub fn expose_secret(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl core::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Passphrase([REDACTED])")
    }
}

#[cfg(test)]
#[allow(dead_code)] // the macro's whole API, of which the tests use a part
mod tests {
    use super::*;

    secret_bytes!(
        /// A test secret.
        TestKey,
        4
    );

    #[test]
    fn debug_never_prints_the_bytes() {
        let key = TestKey::from_bytes(*b"\x41\x42\x43\x44");
        let shown = format!("{key:?} {:?}", Passphrase::new("hunter2".into()).unwrap());
        assert_eq!(shown, "TestKey([REDACTED]) Passphrase([REDACTED])");
    }

    #[test]
    fn equality_compares_contents() {
        assert_eq!(TestKey::from_bytes([1, 2, 3, 4]), TestKey::from_bytes([1, 2, 3, 4]));
        assert_ne!(TestKey::from_bytes([1, 2, 3, 4]), TestKey::from_bytes([1, 2, 3, 5]));
    }

    #[test]
    fn wrong_length_is_a_typed_error() {
        assert_eq!(
            TestKey::try_from_slice(&[1, 2, 3]).unwrap_err(),
            Error::Length { what: "TestKey", expected: 4, got: 3 }
        );
    }

    #[test]
    fn passphrases_are_compared_in_nfc() {
        let composed = Passphrase::new("Z\u{fc}rich".into()).unwrap();
        let decomposed = Passphrase::new("Zu\u{308}rich".into()).unwrap();
        assert_eq!(composed.expose_secret(), decomposed.expose_secret());
        assert_eq!(composed.expose_secret(), "Zürich".as_bytes());
    }

    #[test]
    fn empty_passphrase_is_refused() {
        assert_eq!(Passphrase::new(String::new()).unwrap_err(), Error::EmptyPassphrase);
    }
}
