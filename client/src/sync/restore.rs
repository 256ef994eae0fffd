//! Noticing a server restored from an older backup, and healing from it
//! (PROTOCOL.md §8.2, "Restored servers").
//!
//! A restore takes the account's log back to an earlier head: envelopes
//! acknowledged since are gone, and the positions after the old head are
//! handed out again to other envelopes. A device notices when an answer
//! shows a log behind what it saw (a head below its cursor or below a
//! position given to its own envelope; a position given to its envelope at
//! or below one it already knows), or a log identity other than the one it
//! remembers. It then has the identity renewed (so every other device
//! notices as well), queues every record again and pulls from the start.

use rusqlite::Transaction;
use sealsync_envelope::dto::{LogId, LogState, PushResponse, PushResult};
use sealsync_envelope::{Cursor, DeviceId, UnixMillis};
use serde::Serialize;

use super::With;
use crate::error::ClientError;
use crate::store::Store;
use crate::store::server_log::{self, KnownLog};

/// What showed that the server lost part of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// For people.
    pub why: String,
    /// The identity the server answered with, to be renewed (`None` when it
    /// is already another than this device knew: another device renewed it).
    pub(crate) renew: Option<LogId>,
    /// The identity the answer named, if it named one: what this device
    /// heals on when another device already renewed it. Healing on it (not
    /// on nothing) is what keeps devices from finding the same loss again
    /// and renewing in turn forever.
    pub(crate) answered: Option<LogId>,
}

impl std::fmt::Display for Evidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.why)
    }
}

/// What a sync did about a restored server, for the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Restored {
    /// What showed it.
    pub evidence: String,
    /// Records queued again for upload (every record on this device).
    pub resent: u64,
}

/// What this device knew of the log when the sync started.
#[derive(Debug, Clone)]
pub(super) struct Watch(KnownLog);

impl Watch {
    pub(super) fn load(store: &Store) -> Result<Self, ClientError> {
        let known = server_log::known(store.conn())?.ok_or(ClientError::SyncDisabled)?;
        Ok(Self(known))
    }

    /// Checks a log state from an answer.
    pub(super) fn check(&self, log: Option<&LogState>) -> Result<(), ClientError> {
        let Some(log) = log else { return Ok(()) };
        let known = &self.0;
        if let Some(id) = known.id
            && id != log.id
        {
            return Err(ClientError::ServerRestored(Evidence {
                why: "the account's log has another identity than this device last saw".to_owned(),
                renew: None,
                answered: Some(log.id),
            }));
        }
        if log.head < known.high {
            return Err(restored(
                &format!(
                    "the server's log ends at position {}, but this device saw it reach {}",
                    log.head.0, known.high.0
                ),
                Some(log.id),
            ));
        }
        if known.healed_on == Some(log.id) {
            return Ok(());
        }
        for mark in &log.devices {
            let device = DeviceId(uuid::Uuid::from_bytes(mark.device));
            if let Some(&held) = known.counters.get(&device)
                && held > mark.high
            {
                return Err(restored(
                    &format!(
                        "this device holds change {held} of device {device}, but the server has stored no change of \
                         it above {}",
                        mark.high
                    ),
                    Some(log.id),
                ));
            }
        }
        Ok(())
    }

    /// Checks a push answer: its log, its head, and that no position given
    /// to this device's envelopes is one it already saw.
    pub(super) fn check_push(&self, response: &PushResponse) -> Result<(), ClientError> {
        self.check(response.log.as_ref())?;
        let renew = response.log.as_ref().map(|log| log.id);
        let high = self.0.high;
        if response.cursor < high {
            return Err(restored(
                &format!(
                    "the server's log ends at position {}, but this device saw it reach {}",
                    response.cursor.0, high.0
                ),
                renew,
            ));
        }
        let reused = response.results.iter().find_map(|r| match r {
            PushResult::Stored { seq } if *seq <= high => Some(*seq),
            _ => None,
        });
        match reused {
            Some(seq) => Err(restored(
                &format!("the server gave position {} again, but this device saw the log reach {}", seq.0, high.0),
                renew,
            )),
            None => Ok(()),
        }
    }
}

fn restored(why: &str, renew: Option<LogId>) -> ClientError {
    ClientError::ServerRestored(Evidence { why: why.to_owned(), renew, answered: renew })
}

/// Remembers, with a push's acknowledgement, the log identity it answered,
/// the highest position it gave this device's envelopes and the highest of
/// its counters it acknowledged (`acknowledged`).
pub(super) fn note_push(
    tx: &Transaction<'_>,
    response: &PushResponse,
    acknowledged: &[u64],
) -> Result<(), ClientError> {
    if let Some(log) = &response.log {
        server_log::remember(tx, log.id)?;
    }
    let highest = response.results.iter().filter_map(|r| match r {
        PushResult::Stored { seq } => Some(*seq),
        _ => None,
    });
    let position = highest.max().unwrap_or(Cursor(0));
    server_log::note_acked(tx, position, acknowledged.iter().copied().max().unwrap_or(0))
}

/// Remembers, with a pull's merge, the log identity it answered.
pub(super) fn note_pull(tx: &Transaction<'_>, log: Option<&LogState>) -> Result<(), ClientError> {
    match log {
        Some(log) => server_log::remember(tx, log.id),
        None => Ok(()),
    }
}

/// Heals from a restore: has the log identity renewed (unless another device
/// did), then queues every record again and moves the cursor back to 0, in
/// one transaction. The sync that follows sends them and pulls everything.
pub(super) async fn heal(store: &mut Store, with: &With, evidence: Evidence) -> Result<Restored, ClientError> {
    let id = match evidence.renew {
        Some(seen) => match with.api.renew_log(&with.keys.token, seen).await {
            Ok(log) => Some(log.id),
            // A server without the endpoint: heal locally all the same.
            Err(ClientError::Server { status: 404 | 405, .. }) => Some(seen),
            Err(e) => return Err(e),
        },
        None => evidence.answered,
    };
    let now = UnixMillis::now().0;
    let resent = store.transaction(|tx| server_log::start_over(tx, id, now))?;
    Ok(Restored { evidence: evidence.why, resent })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use sealsync_envelope::dto::DeviceMark;

    use super::*;

    fn watch(id: Option<u8>, healed_on: Option<u8>, high: u64, counters: &[(u128, u64)]) -> Watch {
        Watch(KnownLog {
            id: id.map(|b| LogId([b; 16])),
            healed_on: healed_on.map(|b| LogId([b; 16])),
            counters: counters.iter().map(|&(d, c)| (DeviceId(uuid::Uuid::from_u128(d)), c)).collect::<HashMap<_, _>>(),
            high: Cursor(high),
            restored_at: None,
        })
    }

    fn log(id: u8, head: u64, marks: &[(u128, u64)]) -> LogState {
        LogState {
            id: LogId([id; 16]),
            head: Cursor(head),
            devices: marks
                .iter()
                .map(|&(d, high)| DeviceMark { device: uuid::Uuid::from_u128(d).into_bytes(), high })
                .collect(),
        }
    }

    fn renews(result: Result<(), ClientError>) -> Option<Option<LogId>> {
        match result {
            Err(ClientError::ServerRestored(evidence)) => Some(evidence.renew),
            Ok(()) => None,
            Err(other) => panic!("not a restore: {other:?}"),
        }
    }

    #[test]
    fn the_four_rules_of_a_restored_log() {
        let w = watch(Some(1), None, 10, &[(7, 5)]);
        // A whole log: same identity, head at or past what was seen, marks at or above.
        assert_eq!(renews(w.check(Some(&log(1, 10, &[(7, 5)])))), None);
        assert_eq!(renews(w.check(Some(&log(1, 12, &[(7, 9), (8, 1)])))), None);
        // An answer without a log (an older server) shows nothing.
        assert_eq!(renews(w.check(None)), None);
        // 1. Another identity: heal, no renewal (someone renewed it), and heal
        // on the identity answered, so that its marks are not evidence again.
        assert_eq!(renews(w.check(Some(&log(2, 10, &[(7, 5)])))), Some(None));
        match w.check(Some(&log(2, 10, &[(7, 5)]))) {
            Err(ClientError::ServerRestored(evidence)) => assert_eq!(evidence.answered, Some(LogId([2; 16]))),
            other => panic!("not a restore: {other:?}"),
        }
        // 2. The head behind what this device saw: heal and renew.
        assert_eq!(renews(w.check(Some(&log(1, 9, &[(7, 5)])))), Some(Some(LogId([1; 16]))));
        // 4. A device mark below a counter held: heal and renew.
        assert_eq!(renews(w.check(Some(&log(1, 20, &[(7, 4)])))), Some(Some(LogId([1; 16]))));
        // ... but not on the log this device healed on (the others heal on their own).
        let healed = watch(Some(1), Some(1), 0, &[(7, 5)]);
        assert_eq!(renews(healed.check(Some(&log(1, 20, &[(7, 4)])))), None);
        // A device the server holds no mark for is not compared.
        assert_eq!(renews(w.check(Some(&log(1, 20, &[])))), None);
        // The first identity seen is simply remembered.
        assert_eq!(renews(watch(None, None, 0, &[]).check(Some(&log(3, 0, &[])))), None);
    }

    #[test]
    fn a_push_answer_must_not_give_a_position_already_seen() {
        let w = watch(Some(1), None, 10, &[]);
        let answer = |results: Vec<PushResult>, cursor: u64| PushResponse {
            results,
            cursor: Cursor(cursor),
            log: Some(log(1, cursor, &[])),
            pull: None,
        };
        assert_eq!(renews(w.check_push(&answer(vec![PushResult::Stored { seq: Cursor(11) }], 11))), None);
        // 3. Position 10 again, though the head moved on to 11.
        let reused = answer(vec![PushResult::Stored { seq: Cursor(10) }, PushResult::Duplicate], 11);
        assert_eq!(renews(w.check_push(&reused)), Some(Some(LogId([1; 16]))));
        // 2. The push's cursor behind the device's.
        assert_eq!(renews(w.check_push(&answer(vec![PushResult::Duplicate], 8))), Some(Some(LogId([1; 16]))));
    }
}
