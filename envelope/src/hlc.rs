//! Hybrid logical clock: wall-clock milliseconds plus a counter, so stamps
//! follow real time when clocks agree and still respect causality when they
//! do not (Kulkarni et al., "Logical Physical Clocks", 2014).
//!
//! A stamp is one `u64`: the wall time in the high 48 bits, the counter in the
//! low 16, so integer order is stamp order and the CBOR form is one unsigned
//! integer (PROTOCOL.md §5).

use serde::{Deserialize, Serialize};

/// How far past its own wall clock a device will issue or accept stamps: 24 h,
/// which covers a device whose clock is set to the wrong time zone, but stops
/// one stamp from the far future dragging every device's clock along with it.
pub const MAX_AHEAD_MS: u64 = 24 * 60 * 60 * 1000;

/// Largest wall time a stamp can carry (year 10889).
pub const MAX_WALL_MS: u64 = (1 << 48) - 1;

/// A hybrid logical clock stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Hlc(u64);

impl Hlc {
    /// The stamp before every other.
    pub const ZERO: Self = Self(0);

    /// `wall_ms << 16 | counter`; `None` if `wall_ms` does not fit 48 bits.
    pub fn new(wall_ms: u64, counter: u16) -> Option<Self> {
        (wall_ms <= MAX_WALL_MS).then_some(Self(wall_ms << 16 | u64::from(counter)))
    }

    /// From the wire form; every `u64` is a valid stamp.
    pub fn from_u64(packed: u64) -> Self {
        Self(packed)
    }

    /// The wire form.
    pub fn as_u64(self) -> u64 {
        self.0
    }

    /// Wall-clock milliseconds since the Unix epoch.
    pub fn wall_ms(self) -> u64 {
        self.0 >> 16
    }

    /// Tie-breaking counter within one millisecond.
    pub fn counter(self) -> u16 {
        self.0 as u16
    }

    /// The next stamp after `self`: same millisecond and counter + 1, or the
    /// next millisecond when the counter is full; `None` past the last stamp.
    fn successor(self) -> Option<Self> {
        self.0.checked_add(1).map(Self)
    }
}

impl core::fmt::Display for Hlc {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}.{:05}", self.wall_ms(), self.counter())
    }
}

/// Why the clock will not issue or accept a stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    /// A remote stamp is more than [`MAX_AHEAD_MS`] past this device's clock.
    #[error("a change is stamped {ahead_ms} ms ahead of this device's clock; check the date and time on your devices")]
    RemoteTooFarAhead {
        /// How far ahead.
        ahead_ms: u64,
    },
    /// This device's clock has gone back more than [`MAX_AHEAD_MS`] behind
    /// stamps it already issued or saw.
    #[error("this device's clock is {behind_ms} ms behind changes it has already seen; check its date and time")]
    LocalClockBehind {
        /// How far behind.
        behind_ms: u64,
    },
}

/// One device's clock state: the greatest stamp it has issued or observed.
/// The caller persists [`Clock::last`] in the same transaction as the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    last: Hlc,
}

impl Clock {
    /// Resumes from the last persisted stamp.
    pub fn new(last: Hlc) -> Self {
        Self { last }
    }

    /// The greatest stamp issued or observed so far.
    pub fn last(&self) -> Hlc {
        self.last
    }

    /// Stamps a local edit at wall time `now`: greater than every stamp issued
    /// or observed before, and equal to `now` (counter 0) when the clock is
    /// ahead of everything seen.
    pub fn tick(&mut self, now: crate::UnixMillis) -> Result<Hlc, ClockError> {
        let now_ms = now.0.min(MAX_WALL_MS);
        let wall_now = Hlc::new(now_ms, 0).expect("clamped to 48 bits");
        let next = if wall_now > self.last {
            wall_now
        } else {
            self.last.successor().ok_or(ClockError::LocalClockBehind { behind_ms: u64::MAX })?
        };
        if next.wall_ms() > now_ms.saturating_add(MAX_AHEAD_MS) {
            return Err(ClockError::LocalClockBehind { behind_ms: next.wall_ms() - now_ms });
        }
        self.last = next;
        Ok(next)
    }

    /// Takes in a stamp from another device, so the next [`Clock::tick`] is
    /// greater than it. Refuses (and leaves the clock unchanged) a stamp more
    /// than [`MAX_AHEAD_MS`] ahead of `now`: the caller defers that envelope
    /// and tries it again at a later sync, when the local clock has caught up.
    pub fn observe(&mut self, remote: Hlc, now: crate::UnixMillis) -> Result<(), ClockError> {
        let now_ms = now.0.min(MAX_WALL_MS);
        if remote.wall_ms() > now_ms.saturating_add(MAX_AHEAD_MS) {
            return Err(ClockError::RemoteTooFarAhead { ahead_ms: remote.wall_ms() - now_ms });
        }
        self.last = self.last.max(remote);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::UnixMillis;

    #[test]
    fn packs_wall_and_counter_in_order() {
        let a = Hlc::new(1_700_000_000_000, 65535).unwrap();
        let b = Hlc::new(1_700_000_000_001, 0).unwrap();
        assert!(a < b);
        assert_eq!((a.wall_ms(), a.counter()), (1_700_000_000_000, 65535));
        assert_eq!(a.successor(), Some(b));
        assert_eq!(Hlc::from_u64(u64::MAX).successor(), None);
        assert_eq!(Hlc::new(MAX_WALL_MS + 1, 0), None);
        assert_eq!(a.to_string(), "1700000000000.65535");
    }

    #[test]
    fn tick_follows_the_wall_clock_and_never_repeats() {
        let mut clock = Clock::new(Hlc::ZERO);
        let t1 = clock.tick(UnixMillis(1000)).unwrap();
        assert_eq!(t1, Hlc::new(1000, 0).unwrap());
        assert_eq!(clock.tick(UnixMillis(1000)).unwrap(), Hlc::new(1000, 1).unwrap());
        assert_eq!(clock.tick(UnixMillis(999)).unwrap(), Hlc::new(1000, 2).unwrap());
        assert_eq!(clock.tick(UnixMillis(2000)).unwrap(), Hlc::new(2000, 0).unwrap());
    }

    #[test]
    fn an_edit_after_a_merge_wins_even_with_a_slow_clock() {
        let mut clock = Clock::new(Hlc::ZERO);
        let remote = Hlc::new(5_000_000, 7).unwrap();
        clock.observe(remote, UnixMillis(1_000_000)).unwrap();
        assert!(clock.tick(UnixMillis(1_000_000)).unwrap() > remote);
    }

    #[test]
    fn stamps_from_the_far_future_are_refused() {
        let now = UnixMillis(1_000_000_000);
        let mut clock = Clock::new(Hlc::ZERO);
        let far = Hlc::new(now.0 + MAX_AHEAD_MS + 1, 0).unwrap();
        assert_eq!(clock.observe(far, now), Err(ClockError::RemoteTooFarAhead { ahead_ms: MAX_AHEAD_MS + 1 }));
        assert_eq!(clock.last(), Hlc::ZERO);
        let near = Hlc::new(now.0 + MAX_AHEAD_MS, 0).unwrap();
        clock.observe(near, now).unwrap();
        // The local clock then falls back behind the bound: no stamp is issued.
        let later_wall = UnixMillis(now.0 - 10);
        assert!(matches!(clock.tick(later_wall), Err(ClockError::LocalClockBehind { .. })));
    }
}
