//! The last-write-wins rule, in one place (PROTOCOL.md §7).
//!
//! Versions of one record are totally ordered by [`LwwKey`]: a tombstone above
//! every live version, then the hybrid logical clock, then the device id. The
//! merged state of a record is the maximum version seen, so merging is a
//! semilattice join: commutative, associative and idempotent, and every device
//! that has seen the same envelopes holds the same state, in whatever order
//! they arrived.
//!
//! Tombstones rank first so that a delete is final: an edit made concurrently
//! on another device (or replayed from an old backup) cannot bring back an entry
//! the user deleted. In a journal of clinical notes, losing a concurrent edit to
//! a delete is the safer failure than resurrecting something the user removed.

use crate::{DeviceId, Hlc};

/// The order of versions of one record. Derived `Ord` compares fields in
/// declaration order, which is the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LwwKey {
    /// Whether this version deletes the record.
    pub tombstone: bool,
    /// When the version was made, causally.
    pub hlc: Hlc,
    /// Which device made it: breaks ties between equal stamps.
    pub device_id: DeviceId,
}

/// Whether `incoming` replaces `current`. Equal keys mean the same change
/// (a device never issues one stamp twice), so the current version stays.
pub fn supersedes(incoming: &LwwKey, current: &LwwKey) -> bool {
    incoming > current
}

/// The winner of two versions of one record.
pub fn merge<'a, T>(a: &'a T, b: &'a T, key: impl Fn(&T) -> LwwKey) -> &'a T {
    if supersedes(&key(b), &key(a)) { b } else { a }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn key(tombstone: bool, wall: u64, device: u128) -> LwwKey {
        LwwKey { tombstone, hlc: Hlc::new(wall, 0).unwrap(), device_id: DeviceId(Uuid::from_u128(device)) }
    }

    #[test]
    fn later_stamp_wins_then_device_id_breaks_ties() {
        assert!(supersedes(&key(false, 2, 1), &key(false, 1, 9)));
        assert!(supersedes(&key(false, 1, 2), &key(false, 1, 1)));
        assert!(!supersedes(&key(false, 1, 1), &key(false, 1, 1)));
    }

    #[test]
    fn a_delete_beats_any_edit() {
        assert!(supersedes(&key(true, 1, 1), &key(false, 9, 9)));
        assert!(!supersedes(&key(false, 9, 9), &key(true, 1, 1)));
        assert!(supersedes(&key(true, 2, 1), &key(true, 1, 1)));
    }
}
