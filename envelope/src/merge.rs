//! The merge rule, in one place (PROTOCOL.md §7).
//!
//! A record is either deleted or live. A delete is final: it ranks above
//! every live version, and between deletes the greater [`Dot`] wins. A live
//! record merges group by group: each group keeps the value written by its
//! greatest change (last writer wins, by stamp and then device id) and the
//! pointwise maximum of both sides' [`Stamps`], so concurrent edits to
//! different groups both survive. When the losing value of a group was not
//! seen by the winner's author, it was a concurrent edit: merging reports it
//! as [`Lost`] so the device can keep it in its conflict log.
//!
//! Every step is a maximum in a fixed order, so merging is commutative,
//! associative and idempotent, and devices that have seen the same
//! envelopes hold the same state whatever the order of arrival.

use std::collections::btree_map::Entry;

use crate::body::{Dot, Group, GroupId, RecordBody};
use crate::{DecodeError, DeviceId, RecordPayload, UnixMillis};

/// What merging knows of one version of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// When the record was first created (the earliest claim wins).
    pub created_at: UnixMillis,
    /// Its content, or its deletion.
    pub content: Content,
}

/// A record's content, or the delete that erased it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// Live, with every group it has.
    Live(RecordBody),
    /// Deleted at `at` by the change `dot`.
    Deleted {
        /// The delete's stamp and device.
        dot: Dot,
        /// Unix ms of the delete.
        at: UnixMillis,
    },
}

impl Version {
    /// The version an opened payload carries. `sealer` is the envelope's
    /// device, which made a tombstone's delete. A live payload's stamp (key 2)
    /// must be the greatest stamp in its body.
    pub fn from_payload(payload: &RecordPayload, sealer: DeviceId) -> Result<Self, DecodeError> {
        let content = match payload.deleted_at {
            Some(at) => Content::Deleted { dot: Dot { hlc: payload.hlc, device: sealer }, at },
            None => {
                let body = RecordBody::decode(&payload.body)?;
                if body.max_dot().map(|d| d.hlc) != Some(payload.hlc) {
                    return Err(DecodeError::InvalidField {
                        field: "hlc",
                        reason: "not the greatest stamp in the body",
                    });
                }
                Content::Live(body)
            }
        };
        Ok(Self { created_at: payload.created_at, content })
    }

    /// The greatest change this version includes.
    pub fn dot(&self) -> Option<Dot> {
        match &self.content {
            Content::Live(body) => body.max_dot(),
            Content::Deleted { dot, .. } => Some(*dot),
        }
    }
}

/// A group value that lost to a concurrent edit: the conflict log's entry.
#[derive(Clone, PartialEq, Eq)]
pub struct Lost {
    /// Which group.
    pub group: GroupId,
    /// The value that lost.
    pub value: Vec<u8>,
    /// The change that wrote it.
    pub dot: Dot,
    /// The change that won.
    pub winner: Dot,
}

/// Values are clinical data: `Debug` shows their length only.
impl core::fmt::Debug for Lost {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Lost")
            .field("group", &self.group)
            .field("value_len", &self.value.len())
            .field("dot", &self.dot)
            .field("winner", &self.winner)
            .finish()
    }
}

/// The result of merging an incoming version into the local one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    /// The merged state.
    pub version: Version,
    /// Whether it differs from the local version.
    pub changed: bool,
    /// Concurrent edits that lost, on either side.
    pub lost: Vec<Lost>,
}

/// Merges two versions of one record (§7).
pub fn merge(local: &Version, incoming: &Version) -> Merged {
    let created_at = local.created_at.min(incoming.created_at);
    let mut lost = Vec::new();
    let content = match (&local.content, &incoming.content) {
        (Content::Deleted { dot: a, at: at_a }, Content::Deleted { dot: b, at: at_b }) => {
            let (dot, at) = (*a, *at_a).max((*b, *at_b));
            Content::Deleted { dot, at }
        }
        (deleted @ Content::Deleted { .. }, Content::Live(_))
        | (Content::Live(_), deleted @ Content::Deleted { .. }) => deleted.clone(),
        (Content::Live(a), Content::Live(b)) => {
            let mut merged = a.clone();
            for (&id, theirs) in &b.groups {
                match merged.groups.entry(id) {
                    Entry::Vacant(slot) => {
                        slot.insert(theirs.clone());
                    }
                    Entry::Occupied(mut slot) => {
                        let (group, loss) = merge_group(slot.get(), theirs);
                        lost.extend(loss.map(|(value, dot, winner)| Lost { group: id, value, dot, winner }));
                        slot.insert(group);
                    }
                }
            }
            Content::Live(merged)
        }
    };
    let version = Version { created_at, content };
    Merged { changed: version != *local, version, lost }
}

/// Merges two states of one group: the value of the greater change (then the
/// greater value bytes, so even a buggy peer that reuses a stamp cannot split
/// devices), and the stamps of both. Returns the losing value, its change and
/// the winner's when the two were concurrent and differ.
pub fn merge_group(a: &Group, b: &Group) -> (Group, Option<(Vec<u8>, Dot, Dot)>) {
    let order = |g: &Group| (g.stamps.dot(), g.value.clone());
    let (winner, loser) = if order(b) > order(a) { (b, a) } else { (a, b) };
    let mut stamps = winner.stamps.clone();
    stamps.join(&loser.stamps);
    let loss = match (winner.stamps.dot(), loser.stamps.dot()) {
        (Some(won), Some(lost)) if winner.value != loser.value && !winner.stamps.covers(lost) => {
            Some((loser.value.clone(), lost, won))
        }
        _ => None,
    };
    (Group { value: winner.value.clone(), stamps }, loss)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use uuid::Uuid;

    use super::*;
    use crate::Hlc;
    use crate::body::Stamps;

    fn dot(wall: u64, device: u128) -> Dot {
        Dot { hlc: Hlc::new(wall, 0).unwrap(), device: DeviceId(Uuid::from_u128(device)) }
    }

    fn live(groups: &[(GroupId, u8, Stamps)]) -> Version {
        let groups = groups.iter().map(|(id, v, s)| (*id, Group { value: vec![*v], stamps: s.clone() }));
        Version {
            created_at: UnixMillis(1),
            content: Content::Live(RecordBody { groups: BTreeMap::from_iter(groups) }),
        }
    }

    fn value(version: &Version, group: GroupId) -> u8 {
        match &version.content {
            Content::Live(body) => body.groups[&group].value[0],
            Content::Deleted { .. } => panic!("deleted"),
        }
    }

    #[test]
    fn concurrent_edits_to_different_groups_both_survive() {
        let base = Stamps::single(dot(1, 1));
        let mut a_score = base.clone();
        a_score.record(dot(5, 1));
        let mut b_note = base.clone();
        b_note.record(dot(6, 2));
        let a = live(&[(1, 2, a_score), (2, 0, base.clone())]);
        let b = live(&[(1, 0, base), (2, 9, b_note)]);
        for merged in [merge(&a, &b), merge(&b, &a)] {
            assert_eq!((value(&merged.version, 1), value(&merged.version, 2)), (2, 9));
            assert!(merged.lost.is_empty(), "the older side of each group was the winner's past");
        }
    }

    #[test]
    fn concurrent_edits_to_one_group_keep_the_later_and_report_the_other() {
        let a = live(&[(1, 2, Stamps::single(dot(5, 1)))]);
        let b = live(&[(1, 7, Stamps::single(dot(6, 2)))]);
        let merged = merge(&a, &b);
        assert_eq!(value(&merged.version, 1), 7);
        assert_eq!(merged.lost, vec![Lost { group: 1, value: vec![2], dot: dot(5, 1), winner: dot(6, 2) }]);
        assert!(merged.changed);
        let other_way = merge(&b, &a);
        assert_eq!((other_way.version.clone(), other_way.changed), (merged.version.clone(), true));
        assert_eq!(other_way.lost, merged.lost);
        // Once merged, the loser is part of the winner's past: no second report.
        assert!(merge(&merged.version, &a).lost.is_empty());
        assert!(!merge(&merged.version, &a).changed);
    }

    #[test]
    fn an_edit_made_after_seeing_a_value_replaces_it_without_a_conflict() {
        let mut seen = Stamps::single(dot(5, 1));
        seen.record(dot(6, 2));
        let old = live(&[(1, 2, Stamps::single(dot(5, 1)))]);
        let new = live(&[(1, 7, seen)]);
        assert!(merge(&old, &new).lost.is_empty());
        assert_eq!(value(&merge(&old, &new).version, 1), 7);
    }

    #[test]
    fn deletes_win_and_the_greater_delete_is_kept() {
        let edit = live(&[(1, 2, Stamps::single(dot(9, 1)))]);
        let delete =
            Version { created_at: UnixMillis(0), content: Content::Deleted { dot: dot(3, 2), at: UnixMillis(3) } };
        for merged in [merge(&edit, &delete), merge(&delete, &edit)] {
            assert_eq!(merged.version, delete);
        }
        let later =
            Version { created_at: UnixMillis(0), content: Content::Deleted { dot: dot(4, 1), at: UnixMillis(4) } };
        assert_eq!(merge(&delete, &later).version, later);
        assert_eq!(merge(&later, &delete).version, later);
    }
}
