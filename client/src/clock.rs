//! The wall clock a journal reads: `now` in PROTOCOL.md §5, for stamping
//! local edits and for the bound on remote stamps when merging. The system
//! clock by default; an app (or a test) may supply its own, e.g. to run a
//! device whose clock is set minutes or hours off and see that sync copes.

use std::fmt::Debug;

use sealsync_envelope::UnixMillis;

/// A source of the current time in Unix ms.
pub trait WallClock: Debug + Send + Sync {
    /// Now, as this device's clock says.
    fn now(&self) -> UnixMillis;
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl WallClock for SystemClock {
    fn now(&self) -> UnixMillis {
        UnixMillis::now()
    }
}
