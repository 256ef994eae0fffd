//! The decisions of a push, made once for both backends: given what the
//! account already stores for the pushed (record, device) pairs, which
//! envelopes are stored, at which `server_seq`, and which are duplicates,
//! superseded or rejected.

use std::collections::HashMap;

use sealsync_envelope::dto::{MAX_DEVICE_SEQ_JUMP, PushResult, RejectCode};
use sealsync_envelope::{Cursor, DeviceId, KeyId, RecordId};

use super::Incoming;

/// What the account stores for one (record, device) pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Existing {
    /// Its device counter.
    pub device_seq: u64,
    /// The stored envelope: its length counts against the quota, and a re-push
    /// of the same counter must carry exactly these bytes.
    pub envelope: Vec<u8>,
}

/// A row to insert or overwrite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row<'a> {
    /// Record id.
    pub record_id: RecordId,
    /// Device id.
    pub device_id: DeviceId,
    /// Device counter.
    pub device_seq: u64,
    /// Assigned position in the account's log.
    pub server_seq: u64,
    /// The envelope.
    pub envelope: &'a [u8],
}

/// The outcome of planning a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan<'a> {
    /// One result per incoming envelope, in order.
    pub results: Vec<PushResult>,
    /// At most one row per (record, device) pair.
    pub rows: Vec<Row<'a>>,
    /// The account's counter after the push.
    pub seq: u64,
    /// The account's stored bytes after the push.
    pub stored_bytes: u64,
    /// Devices whose high-water mark (the highest `device_seq` ever stored
    /// for them) this push raises, with the new mark.
    pub marks: Vec<(DeviceId, u64)>,
}

/// A (record, device) pair: the unit the server keeps one envelope of.
type Pair = (RecordId, DeviceId);

/// What a pair holds while planning: counter, bytes, and the batch item that
/// put them there (`None` if already stored).
type Held<'a> = (u64, &'a [u8], Option<usize>);

/// The account's state as the push read it.
#[derive(Debug, Clone, Copy)]
pub struct AccountState {
    /// Its counter.
    pub seq: u64,
    /// Its stored bytes.
    pub stored_bytes: u64,
}

/// Plans a push. An envelope is stored when its device counter is above what
/// is stored for its (record, device) pair, including earlier envelopes of the
/// same batch, which it then supersedes. Positions are given out once the
/// batch is decided: the envelopes answered `stored` take the next
/// `server_seq` values, consecutive and in request order, and nothing else
/// takes one (an envelope superseded later in the same batch neither), so the
/// account's counter grows by exactly the number of `stored` results.
///
/// The same counter with the same bytes is a re-push (`duplicate`); with other
/// bytes it means the device reused counters, e.g. after being restored from a
/// backup, and is refused (`device_seq_reused`) rather than acknowledged, so
/// the device learns it must re-enrol instead of silently losing the edit.
///
/// `key_ids` are the account's keys, the current one first: an envelope under
/// an older key is `stale_key_id` (the device must unlock the new key), under
/// any other `unknown_key_id`.
/// Before that, a counter more than [`MAX_DEVICE_SEQ_JUMP`] above the
/// device's high-water mark in `marks` (the highest `device_seq` ever stored
/// for it, 0 if none; as the push read it) is refused
/// (`device_seq_jump`): no device issues that many counters between two
/// pushes, so it comes from someone holding only the device's token, trying
/// to outrank the device's future edits (PROTOCOL.md §8.2).
pub fn plan<'a>(
    items: &'a [Incoming],
    existing: &'a HashMap<Pair, Existing>,
    key_ids: &[KeyId],
    marks: &HashMap<DeviceId, u64>,
    account: AccountState,
    max_account_bytes: u64,
) -> Plan<'a> {
    let mut results = Vec::with_capacity(items.len());
    // Per pair: what is stored once the batch so far is applied, and which
    // item of the batch (if any) put it there.
    let mut current: HashMap<Pair, Held<'a>> = HashMap::new();
    let mut stored_bytes = account.stored_bytes;

    for (index, item) in items.iter().enumerate() {
        let header = &item.header;
        if key_ids.first() != Some(&header.key_id) {
            let code = if key_ids.contains(&header.key_id) { RejectCode::StaleKeyId } else { RejectCode::UnknownKeyId };
            results.push(PushResult::Rejected { code });
            continue;
        }
        let mark = marks.get(&header.device_id).copied().unwrap_or(0);
        if header.device_seq.0 > mark.saturating_add(MAX_DEVICE_SEQ_JUMP) {
            results.push(PushResult::Rejected { code: RejectCode::DeviceSeqJump });
            continue;
        }
        let pair = (header.record_id, header.device_id);
        let stored = current
            .get(&pair)
            .copied()
            .or_else(|| existing.get(&pair).map(|e| (e.device_seq, e.envelope.as_slice(), None)));
        let incoming_seq = header.device_seq.0;
        match stored {
            Some((seq, _, _)) if incoming_seq < seq => {
                results.push(PushResult::Superseded);
                continue;
            }
            Some((seq, bytes, _)) if incoming_seq == seq => {
                results.push(if bytes == item.bytes.as_slice() {
                    PushResult::Duplicate
                } else {
                    PushResult::Rejected { code: RejectCode::DeviceSeqReused }
                });
                continue;
            }
            _ => {}
        }
        let len = item.bytes.len() as u64;
        let freed = stored.map_or(0, |(_, bytes, _)| bytes.len() as u64);
        let after = stored_bytes.saturating_sub(freed) + len;
        if len > freed && after > max_account_bytes {
            results.push(PushResult::Rejected { code: RejectCode::QuotaExceeded });
            continue;
        }
        stored_bytes = after;
        if let Some((_, _, Some(earlier))) = stored {
            results[earlier] = PushResult::Superseded;
        }
        current.insert(pair, (incoming_seq, item.bytes.as_slice(), Some(index)));
        // A placeholder: positions are given out below, once the batch is decided.
        results.push(PushResult::Stored { seq: Cursor(0) });
    }

    // The envelopes still `stored` take consecutive positions in request order.
    let mut seq = account.seq;
    let mut positions = vec![0; items.len()];
    for (index, result) in results.iter_mut().enumerate() {
        if let PushResult::Stored { seq: position } = result {
            seq += 1;
            *position = Cursor(seq);
            positions[index] = seq;
        }
    }
    let mut rows: Vec<Row<'a>> = current
        .into_iter()
        .filter_map(|((record_id, device_id), (device_seq, envelope, placed_by))| {
            let server_seq = positions[placed_by?];
            Some(Row { record_id, device_id, device_seq, server_seq, envelope })
        })
        .collect();
    rows.sort_unstable_by_key(|row| row.server_seq);
    let mut raised: HashMap<DeviceId, u64> = HashMap::new();
    for row in &rows {
        if row.device_seq > marks.get(&row.device_id).copied().unwrap_or(0) {
            let mark = raised.entry(row.device_id).or_default();
            *mark = (*mark).max(row.device_seq);
        }
    }
    Plan { results, rows, seq, stored_bytes, marks: raised.into_iter().collect() }
}

#[cfg(test)]
mod tests {
    use sealsync_envelope::{DeviceSeq, EnvelopeHeader};
    use uuid::Uuid;

    use super::*;

    const KEY: KeyId = KeyId([1; 16]);

    static NO_MARKS: std::sync::LazyLock<HashMap<DeviceId, u64>> = std::sync::LazyLock::new(HashMap::new);

    fn item(record: u128, device: u128, seq: u64, len: usize) -> Incoming {
        item_with(record, device, seq, vec![0; len])
    }

    fn item_with(record: u128, device: u128, seq: u64, bytes: Vec<u8>) -> Incoming {
        Incoming {
            header: EnvelopeHeader {
                record_id: RecordId(Uuid::from_u128(record)),
                device_id: DeviceId(Uuid::from_u128(device)),
                device_seq: DeviceSeq(seq),
                key_id: KEY,
            },
            bytes,
        }
    }

    fn state(seq: u64, stored_bytes: u64) -> AccountState {
        AccountState { seq, stored_bytes }
    }

    #[test]
    fn new_newer_equal_and_older_envelopes() {
        let pair = (RecordId(Uuid::from_u128(1)), DeviceId(Uuid::from_u128(9)));
        let existing = HashMap::from([(pair, Existing { device_seq: 5, envelope: vec![0; 10] })]);
        let items = [item(1, 9, 6, 10), item(2, 9, 1, 10)];
        let plan = plan(&items, &existing, &[KEY], &NO_MARKS, state(40, 10), 1000);
        assert_eq!(plan.results, [PushResult::Stored { seq: Cursor(41) }, PushResult::Stored { seq: Cursor(42) }]);
        assert_eq!((plan.seq, plan.stored_bytes, plan.rows.len()), (42, 20, 2));

        let items = [item(1, 9, 5, 10), item(1, 9, 4, 10)];
        let plan = super::plan(&items, &existing, &[KEY], &NO_MARKS, state(40, 10), 1000);
        assert_eq!(plan.results, [PushResult::Duplicate, PushResult::Superseded]);
        assert_eq!((plan.seq, plan.rows.len()), (40, 0));
    }

    #[test]
    fn a_later_envelope_in_the_batch_supersedes_an_earlier_one() {
        let items = [item(1, 9, 1, 10), item(1, 9, 2, 12), item(1, 9, 2, 12)];
        let none = HashMap::new();
        let plan = plan(&items, &none, &[KEY], &NO_MARKS, state(0, 0), 1000);
        assert_eq!(
            plan.results,
            [PushResult::Superseded, PushResult::Stored { seq: Cursor(1) }, PushResult::Duplicate]
        );
        assert_eq!(plan.rows.len(), 1);
        assert_eq!((plan.rows[0].device_seq, plan.rows[0].server_seq), (2, 1));
        assert_eq!((plan.seq, plan.stored_bytes), (1, 12));
    }

    #[test]
    fn only_stored_envelopes_take_positions_and_they_are_consecutive() {
        // Record 1 twice (the older first), record 2 once, record 3 twice
        // (the newer first, so the older arrives stale), at counter 10.
        let items = [item(1, 9, 1, 10), item(2, 9, 2, 10), item(1, 9, 3, 10), item(3, 9, 5, 10), item(3, 9, 4, 10)];
        let none = HashMap::new();
        let plan = plan(&items, &none, &[KEY], &NO_MARKS, state(10, 0), 1000);
        assert_eq!(
            plan.results,
            [
                PushResult::Superseded,
                PushResult::Stored { seq: Cursor(11) },
                PushResult::Stored { seq: Cursor(12) },
                PushResult::Stored { seq: Cursor(13) },
                PushResult::Superseded,
            ]
        );
        assert_eq!(plan.seq, 13, "the counter grows by the number of stored results");
        let rows: Vec<(u64, u64)> = plan.rows.iter().map(|r| (r.device_seq, r.server_seq)).collect();
        assert_eq!(rows, [(2, 11), (3, 12), (5, 13)]);
        assert_eq!(plan.stored_bytes, 30);
    }

    #[test]
    fn unknown_key_ids_and_quota_are_rejected_alone() {
        let mut foreign = item(3, 9, 1, 10);
        foreign.header.key_id = KeyId([2; 16]);
        let items = [foreign, item(4, 9, 1, 50), item(5, 9, 1, 60)];
        let none = HashMap::new();
        let plan = plan(&items, &none, &[KEY], &NO_MARKS, state(7, 0), 100);
        assert_eq!(
            plan.results,
            [
                PushResult::Rejected { code: RejectCode::UnknownKeyId },
                PushResult::Stored { seq: Cursor(8) },
                PushResult::Rejected { code: RejectCode::QuotaExceeded },
            ]
        );
        assert_eq!((plan.seq, plan.stored_bytes), (8, 50));
    }

    #[test]
    fn replacing_with_a_smaller_envelope_is_allowed_at_the_quota() {
        let pair = (RecordId(Uuid::from_u128(1)), DeviceId(Uuid::from_u128(9)));
        let existing = HashMap::from([(pair, Existing { device_seq: 1, envelope: vec![0; 100] })]);
        let items = [item(1, 9, 2, 80)];
        let plan = plan(&items, &existing, &[KEY], &NO_MARKS, state(1, 100), 100);
        assert_eq!(plan.results, [PushResult::Stored { seq: Cursor(2) }]);
        assert_eq!(plan.stored_bytes, 80);
    }

    #[test]
    fn a_reused_counter_with_other_bytes_is_refused() {
        let pair = (RecordId(Uuid::from_u128(1)), DeviceId(Uuid::from_u128(9)));
        let existing = HashMap::from([(pair, Existing { device_seq: 5, envelope: vec![1, 2, 3] })]);
        let items = [item_with(1, 9, 5, vec![1, 2, 3]), item_with(1, 9, 5, vec![1, 2, 4])];
        let plan = plan(&items, &existing, &[KEY], &NO_MARKS, state(9, 3), 1000);
        assert_eq!(plan.results, [PushResult::Duplicate, PushResult::Rejected { code: RejectCode::DeviceSeqReused }]);
        assert!(plan.rows.is_empty());
    }

    #[test]
    fn a_counter_too_far_above_the_device_s_mark_is_refused_and_stored_ones_raise_it() {
        let device = DeviceId(Uuid::from_u128(9));
        let marks = HashMap::from([(device, 10)]);
        let none = HashMap::new();
        let jump = PushResult::Rejected { code: RejectCode::DeviceSeqJump };
        let items = [
            item(1, 9, 10 + MAX_DEVICE_SEQ_JUMP + 1, 10),
            item(2, 9, 10 + MAX_DEVICE_SEQ_JUMP, 10),
            // The bound is the mark when the push began, not the one it raises.
            item(3, 9, 10 + MAX_DEVICE_SEQ_JUMP + 5, 10),
            item(4, 9, u64::MAX >> 1, 10),
            item(5, 7, MAX_DEVICE_SEQ_JUMP, 10),
        ];
        let plan = plan(&items, &none, &[KEY], &marks, state(0, 0), 1000);
        assert_eq!(
            plan.results,
            [jump, PushResult::Stored { seq: Cursor(1) }, jump, jump, PushResult::Stored { seq: Cursor(2) }]
        );
        let mut raised = plan.marks.clone();
        raised.sort();
        let mut expected =
            vec![(device, 10 + MAX_DEVICE_SEQ_JUMP), (DeviceId(Uuid::from_u128(7)), MAX_DEVICE_SEQ_JUMP)];
        expected.sort();
        assert_eq!(raised, expected);

        // A stored counter below the mark (another record) leaves it as it is.
        let items = [item(6, 9, 3, 10)];
        let plan = super::plan(&items, &none, &[KEY], &marks, state(2, 20), 1000);
        assert_eq!(plan.results, [PushResult::Stored { seq: Cursor(3) }]);
        assert!(plan.marks.is_empty());
    }
}
