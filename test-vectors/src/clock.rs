//! `hlc.json`: sequences of tick and observe on one device's clock
//! (PROTOCOL.md §5). The expected results come from the rules of §5 as
//! written, computed here by [`Model`]; the tests run the same steps through
//! `sealsync_envelope::Clock`.

use serde::{Deserialize, Serialize};

/// `86 400 000`: how far past `now` a stamp's wall time may be (24 h).
const MAX_AHEAD_MS: u64 = 86_400_000;
/// `2^48 - 1`: `now` is clamped to this.
const MAX_WALL_MS: u64 = (1 << 48) - 1;

/// One sequence, from a starting `last`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HlcVector {
    /// What the case shows.
    pub comment: String,
    /// `last` before the first step.
    pub last: u64,
    /// The steps, in order.
    pub steps: Vec<HlcStep>,
}

/// One call, and the state after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HlcStep {
    /// `tick` or `observe`.
    pub op: String,
    /// The device's clock, Unix ms (before clamping).
    pub now: u64,
    /// `observe` only: the remote stamp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<u64>,
    /// `tick` only, when it succeeds: the stamp issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stamp: Option<u64>,
    /// When the call is refused: `local_clock_behind` (tick) or
    /// `remote_too_far_ahead` (observe).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// `last` after the call.
    pub last: u64,
}

/// §5 as written.
struct Model {
    last: u64,
}

impl Model {
    fn tick(&mut self, now: u64) -> HlcStep {
        let now_ms = now.min(MAX_WALL_MS);
        let next = self.last.checked_add(1).map(|successor| successor.max(now_ms << 16));
        let (stamp, refused) = match next {
            Some(next) if next >> 16 <= now_ms + MAX_AHEAD_MS => {
                self.last = next;
                (Some(next), None)
            }
            _ => (None, Some("local_clock_behind".to_owned())),
        };
        HlcStep { op: "tick".into(), now, remote: None, stamp, refused, last: self.last }
    }

    fn observe(&mut self, remote: u64, now: u64) -> HlcStep {
        let now_ms = now.min(MAX_WALL_MS);
        let refused = if remote >> 16 > now_ms + MAX_AHEAD_MS {
            Some("remote_too_far_ahead".to_owned())
        } else {
            self.last = self.last.max(remote);
            None
        };
        HlcStep { op: "observe".into(), now, remote: Some(remote), stamp: None, refused, last: self.last }
    }
}

/// A call in a case: `Tick(now)` or `Observe(remote, now)`.
enum Call {
    Tick(u64),
    Observe(u64, u64),
}

/// `wall_ms << 16 | counter`.
const fn stamp(wall_ms: u64, counter: u16) -> u64 {
    wall_ms << 16 | counter as u64
}

/// Each rule of §5 at least once.
pub fn hlc_vectors() -> Vec<HlcVector> {
    use Call::{Observe, Tick};
    const T: u64 = 1_764_028_800_000;
    let cases: Vec<(&str, u64, Vec<Call>)> = vec![
        (
            "first tick takes the wall clock with counter 0; ticks within one millisecond increment the counter",
            0,
            vec![Tick(T), Tick(T), Tick(T), Tick(T + 1)],
        ),
        (
            "the clock goes back 1 s (less than 24 h): stamps keep increasing from last; once the clock passes \
             last, counter 0 again",
            stamp(T, 0),
            vec![Tick(T - 1000), Tick(T - 1), Tick(T + 1)],
        ),
        (
            "counter full (65535): last + 1 moves to the next millisecond, counter 0",
            stamp(T, 0xffff),
            vec![Tick(T), Tick(T)],
        ),
        (
            "observe a stamp exactly 24 h ahead (accepted); the next tick follows it; observing an older stamp \
             leaves last unchanged",
            stamp(T, 3),
            vec![Observe(stamp(T + MAX_AHEAD_MS, 5), T), Tick(T), Observe(stamp(T - 1, 9), T)],
        ),
        (
            "observe a stamp 24 h + 1 ms ahead: refused, clock unchanged (the envelope is deferred); accepted once \
             the clock has advanced 1 ms",
            stamp(T, 3),
            vec![Observe(stamp(T + MAX_AHEAD_MS + 1, 0), T), Tick(T), Observe(stamp(T + MAX_AHEAD_MS + 1, 0), T + 1)],
        ),
        (
            "the clock falls more than 24 h behind last: tick refused, last unchanged; exactly 24 h behind: \
             accepted",
            stamp(T + MAX_AHEAD_MS, 3),
            vec![Tick(T - 1), Tick(T), Tick(T + 1)],
        ),
        (
            "last is 2^64 - 1: tick refused whatever the clock; observe changes nothing",
            u64::MAX,
            vec![Tick(u64::MAX), Tick(T), Observe(stamp(T, 0), T)],
        ),
        ("now above 2^48 - 1 is clamped to it", 0, vec![Tick(u64::MAX), Tick(1 << 48)]),
    ];
    cases
        .into_iter()
        .map(|(comment, last, calls)| {
            let mut model = Model { last };
            let steps = calls
                .into_iter()
                .map(|call| match call {
                    Tick(now) => model.tick(now),
                    Observe(remote, now) => model.observe(remote, now),
                })
                .collect();
            HlcVector { comment: comment.into(), last, steps }
        })
        .collect()
}
