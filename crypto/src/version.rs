//! Protocol versions and the Argon2id costs each one fixes.
//!
//! The server names a version; the client alone decides what that version's
//! costs are, and refuses a version lower than one it already used with the
//! account. A malicious server therefore cannot make the passphrase cheaper to
//! brute-force (PROTOCOL.md §2).

use crate::Error;

/// A protocol version: the KDF costs, labels, envelope format and suite it implies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProtocolVersion(u16);

impl ProtocolVersion {
    /// Version 1: Argon2id m = 64 MiB, t = 3, p = 1; suite 1.
    pub const V1: Self = Self(1);
    /// The newest version this build implements.
    pub const LATEST: Self = Self::V1;

    /// Accepts a version number this build implements. Crate-private: callers
    /// go through [`accept_version`], which also enforces the pin.
    pub(crate) fn from_u16(version: u16) -> Result<Self, Error> {
        match version {
            1 => Ok(Self::V1),
            other => Err(Error::UnsupportedVersion(other)),
        }
    }

    /// The version number on the wire.
    pub fn get(self) -> u16 {
        self.0
    }

    /// The Argon2id costs this version fixes.
    pub fn kdf_params(self) -> KdfParams {
        match self.0 {
            1 => KdfParams { m_kib: 64 * 1024, t: 3, p: 1 },
            _ => unreachable!("a ProtocolVersion is only built by from_u16"),
        }
    }
}

/// Argon2id cost parameters (RFC 9106 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KdfParams {
    /// Memory in KiB (`m`).
    pub m_kib: u32,
    /// Passes (`t`).
    pub t: u32,
    /// Lanes (`p`).
    pub p: u32,
}

/// The check a client makes before deriving or sending anything: the offered
/// version must be implemented here and not lower than the account's pinned one.
///
/// The caller pins the returned version (stores the maximum it has seen).
pub fn accept_version(offered: u16, pinned: Option<ProtocolVersion>) -> Result<ProtocolVersion, Error> {
    if let Some(pinned) = pinned
        && offered < pinned.get()
    {
        return Err(Error::VersionDowngrade { offered, pinned: pinned.get() });
    }
    ProtocolVersion::from_u16(offered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_costs_are_pinned_in_the_client() {
        assert_eq!(ProtocolVersion::V1.kdf_params(), KdfParams { m_kib: 65536, t: 3, p: 1 });
    }

    #[test]
    fn unknown_and_downgraded_versions_are_refused() {
        assert_eq!(accept_version(1, None), Ok(ProtocolVersion::V1));
        assert_eq!(accept_version(1, Some(ProtocolVersion::V1)), Ok(ProtocolVersion::V1));
        assert_eq!(accept_version(0, None), Err(Error::UnsupportedVersion(0)));
        assert_eq!(accept_version(2, None), Err(Error::UnsupportedVersion(2)));
        assert_eq!(
            accept_version(0, Some(ProtocolVersion::V1)),
            Err(Error::VersionDowngrade { offered: 0, pinned: 1 })
        );
    }
}
