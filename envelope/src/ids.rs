//! Identifier and counter newtypes, so a device id can never be passed where a
//! record id belongs, nor a device counter where a server cursor belongs.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh random (v4) id.
            pub fn random() -> Self {
                Self(Uuid::new_v4())
            }

            /// The 16 bytes that go into AADs and onto the wire.
            pub fn as_bytes(&self) -> &[u8; 16] {
                self.0.as_bytes()
            }

            /// From the 16 wire bytes.
            pub fn from_bytes(bytes: [u8; 16]) -> Self {
                Self(Uuid::from_bytes(bytes))
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl core::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// An account. Chosen at random by the client that creates it, so that the
    /// wrapped data key can be bound to it before the server has seen it.
    AccountId
);
uuid_id!(
    /// One device of an account.
    DeviceId
);
uuid_id!(
    /// One record (a mood entry, an assessment, ...), stable across edits.
    RecordId
);

/// A device's own change counter: strictly increasing per device, so the newest
/// envelope of a (record, device) pair is the one with the highest value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DeviceSeq(pub u64);

impl DeviceSeq {
    /// The largest counter: 2^63 - 1, so that every SQL database stores it as
    /// a signed 64-bit integer with its order intact.
    pub const MAX: Self = Self(i64::MAX as u64);
}

/// A position in an account's server-side change log (`server_seq`): pulls
/// return envelopes strictly after a cursor, in cursor order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(pub u64);

impl Cursor {
    /// Before everything: a fresh device pulls from here.
    pub const START: Self = Self(0);
}

/// Milliseconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnixMillis(pub u64);

impl UnixMillis {
    /// The system clock now (0 if it reads before 1970).
    ///
    /// Test-only, in debug builds: `SEALSYNC_FAULT_CLOCK_SKEW_MS` (signed
    /// milliseconds) moves this clock, so the fault tests can make a
    /// device's clock jump (client/tests/faults.rs). Release builds ignore it.
    pub fn now() -> Self {
        let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        let now = since.map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        #[cfg(debug_assertions)]
        let now = now.saturating_add_signed(test_clock_skew());
        Self(now)
    }
}

/// `SEALSYNC_FAULT_CLOCK_SKEW_MS`, read once (debug builds only; see [`UnixMillis::now`]).
#[cfg(debug_assertions)]
fn test_clock_skew() -> i64 {
    static SKEW: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    *SKEW.get_or_init(|| std::env::var("SEALSYNC_FAULT_CLOCK_SKEW_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(0))
}
