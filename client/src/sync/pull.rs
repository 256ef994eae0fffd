//! Pulling: each page is fetched, decoded and opened on a worker while the
//! page before it is merged, so the network, the AEAD and the local database
//! work at once. A page is merged and the cursor advanced in one
//! transaction, so an interrupted sync resumes where it stopped. An envelope
//! that cannot be applied (malformed, replayed, fails to open, invalid) is
//! quarantined with the reason, and the rest of the page still applies.
//! The first page may come in the last push's answer ([`first_page`]).

use std::collections::HashMap;

use rusqlite::Transaction;
use sealsync_envelope::dto::{LogState, PullResponse};
use sealsync_envelope::hlc::ClockError;
use sealsync_envelope::{Clock, Cursor, DeviceId, Envelope, EnvelopeHeader, KeyId, RecordPayload, UnixMillis};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use uuid::Uuid;
use zeroize::Zeroizing;

use super::{Progress, SyncSummary, With};
use crate::domain::{Activity, Assessment, Mood, RecordType, Schedule};
use crate::error::ClientError;
use crate::keyring::Sealers;
use crate::store::records::{self, Current, Merged};
use crate::store::sync_state;
use crate::store::{Store, load_clock, save_clock};

/// Envelopes per pull page, unless the app asks for fewer.
pub(crate) const PULL_PAGE: std::num::NonZeroU32 = std::num::NonZeroU32::new(1000).unwrap();

/// An envelope as received, after the work that needs no database.
struct Received {
    /// Its position in the account's log.
    seq: Cursor,
    /// Its bytes, kept for the quarantine.
    bytes: Vec<u8>,
    state: Unsealed,
}

enum Unsealed {
    /// Not a valid envelope.
    Malformed(String),
    /// This device's own change, echoed back.
    Own,
    /// Its header, and its payload if it opened.
    Decoded { header: EnvelopeHeader, opened: Result<RecordPayload, String> },
    /// Sealed under a key this device does not hold: perhaps the account's
    /// new key after a rotation elsewhere (see [`pull`]).
    UnknownKey(EnvelopeHeader),
}

/// Decodes and opens one envelope; nothing here touches the store.
fn receive(sealers: &Sealers, me: DeviceId, seq: Cursor, bytes: Vec<u8>) -> Received {
    let state = match Envelope::decode(&bytes) {
        Err(e) => Unsealed::Malformed(format!("malformed envelope: {e}")),
        Ok(envelope) if envelope.header.device_id == me => Unsealed::Own,
        Ok(envelope) => {
            let header = envelope.header;
            match sealers.open(envelope) {
                Err(sealsync_envelope::Error::UnknownKeyId(_)) => Unsealed::UnknownKey(header),
                opened => Unsealed::Decoded { header, opened: opened.map_err(|e| format!("cannot open: {e}")) },
            }
        }
    };
    Received { seq, bytes, state }
}

/// Whether a page holds an envelope under a key that is the account's but
/// not this device's: the key was rotated on another device. Then nothing of
/// the page is merged (it would be quarantined, and lost to this device)
/// until the user unlocks the new key. A key the account does not have is
/// no rotation: such envelopes are quarantined like any that fail to open.
async fn rotated_elsewhere(with: &With, pages: &[Page]) -> Result<bool, ClientError> {
    let unknown: Vec<KeyId> = pages
        .iter()
        .flat_map(|p| &p.items)
        .filter_map(|item| match &item.state {
            Unsealed::UnknownKey(header) => Some(header.key_id),
            _ => None,
        })
        .collect();
    if unknown.is_empty() {
        return Ok(false);
    }
    let account = with.api.keys(&with.keys.token).await?;
    let known = |id: &KeyId| id.0 == account.current_key_id || account.keyring.iter().any(|e| e.key_id == id.0);
    Ok(unknown.iter().any(known))
}

/// A page, received.
struct Page {
    items: Vec<Received>,
    next_cursor: Cursor,
    /// The account's log as the server answered (PROTOCOL.md §8.2, "Restored servers").
    log: Option<LogState>,
}

/// Pages waiting to be merged, at most: enough to keep the merge busy while
/// the network is slow, and to merge several pages in one transaction when
/// the merge is the slower side.
const PAGES_AHEAD: usize = 8;

/// Fetches pages from `after` on and opens them, on the runtime's workers,
/// until the account has no more or the receiver is gone. `first`, the page
/// a push's answer carried after `after`, is taken as the first page fetched.
fn spawn_fetcher(
    with: &With,
    mut after: Cursor,
    first: Option<PullResponse>,
) -> (mpsc::Receiver<Result<Page, ClientError>>, AbortOnDrop) {
    let (api, token) = (with.api.clone(), Zeroizing::new(with.keys.token.to_string()));
    let (sealers, me, limit) = (with.sealers.clone(), with.keys.device_id, with.pull_page.get());
    let (sender, receiver) = mpsc::channel(PAGES_AHEAD);
    let task = tokio::spawn(async move {
        let mut first = first;
        loop {
            let fetched = match first.take() {
                Some(page) => Ok(page),
                None => api.pull(&token, after, limit).await,
            };
            let page = match fetched.and_then(|page| check_page(after, page)) {
                Ok(page) => page,
                Err(e) => return drop(sender.send(Err(e)).await),
            };
            let (next_cursor, more, log) = (page.next_cursor, page.more, page.log);
            let sealers = sealers.clone();
            let opened = tokio::task::spawn_blocking(move || {
                page.envelopes.into_iter().map(|p| receive(&sealers, me, p.seq, p.envelope.0)).collect()
            })
            .await
            .map(|items| Page { items, next_cursor, log })
            .map_err(|e| ClientError::Network(format!("opening task failed: {e}")));
            if sender.send(opened).await.is_err() || !more {
                return;
            }
            after = next_cursor;
        }
    });
    (receiver, AbortOnDrop(task))
}

/// The largest position a server assigns: positions, like counters, are
/// stored as signed 64-bit integers (PROTOCOL.md §8.2), here as on the server.
const MAX_POSITION: Cursor = Cursor(i64::MAX as u64);

/// Refuses a page that does not make progress or does not hold what it
/// says (PROTOCOL.md §8.2, §12): its envelopes' positions must rise strictly
/// within `(after, next_cursor]`, `next_cursor` must not be below `after`
/// nor above [`MAX_POSITION`] (this device could not record it, and would
/// merge the page without moving its cursor), and a page that says more
/// follow must move the cursor forward. Anything else would have the sync
/// loop forever, merging (and quarantining) the same envelopes again and
/// again.
fn check_page(after: Cursor, page: PullResponse) -> Result<PullResponse, ClientError> {
    let violation = |why: String| Err(ClientError::ProtocolViolation(why));
    let next = page.next_cursor;
    if next > MAX_POSITION {
        return violation(format!("a pull after {} answered next_cursor {}, beyond any position", after.0, next.0));
    }
    if next < after {
        return violation(format!("a pull after {} answered next_cursor {}, behind it", after.0, next.0));
    }
    if page.more && next == after {
        return violation(format!("a pull after {} says more follow but does not move the cursor", after.0));
    }
    let mut previous = after;
    for item in &page.envelopes {
        if item.seq <= previous || item.seq > next {
            return violation(format!(
                "a pull after {} holds position {} outside ({}, {}] or out of order",
                after.0, item.seq.0, previous.0, next.0
            ));
        }
        previous = item.seq;
    }
    Ok(page)
}

/// Checks the page a push's answer carried, asked for after `after`, when
/// the push's own answer moved the cursor to `moved` (PROTOCOL.md §8.2):
/// besides a pull page's rules, a page can hold something only if the push
/// did not prove the positions after `after` to be its own, and a complete
/// page ends at or past `moved` and at or before `head`, the account's head
/// the push's answer named. Returns its `next_cursor` if it holds nothing
/// (the usual incremental sync): then there is nothing to merge.
pub(super) fn first_page(
    after: Cursor,
    moved: Cursor,
    head: Cursor,
    page: &PullResponse,
) -> Result<Option<Cursor>, ClientError> {
    let violation = |why: String| Err(ClientError::ProtocolViolation(why));
    let next = page.next_cursor;
    if next > head.max(after) {
        return violation(format!("a push's page ends at {}, past the account's head {} it named", next.0, head.0));
    }
    if (!page.envelopes.is_empty() || page.more) && moved != after {
        return violation(format!("a push proved positions up to {} its own, but its page holds more", moved.0));
    }
    if !page.more && next < moved {
        return violation(format!(
            "a push's page ends at {}, before the push's own positions up to {}",
            next.0, moved.0
        ));
    }
    if !page.envelopes.is_empty() || page.more {
        return Ok(None);
    }
    let empty = PullResponse { envelopes: Vec::new(), next_cursor: next, more: false, log: None };
    check_page(after, empty).map(|page| Some(page.next_cursor))
}

/// Stops the fetcher when the pull ends early (an error, a dropped future).
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Pulls and merges everything after `cursor`, starting with `first` if a
/// push's answer carried the first page; returns the new cursor. The pages
/// waiting when a merge starts are merged together, with the cursor, in one
/// transaction.
pub(super) async fn pull(
    store: &mut Store,
    with: &With,
    mut cursor: Cursor,
    first: Option<PullResponse>,
    summary: &mut SyncSummary,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<Cursor, ClientError> {
    let watch = super::restore::Watch::load(store)?;
    let (mut pages, _fetcher) = spawn_fetcher(with, cursor, first);
    while let Some(first) = pages.recv().await {
        let mut ready = vec![first?];
        super::fault::after("pulled");
        // A failure after good pages: merge those first, then report it.
        let mut failed = None;
        while failed.is_none()
            && ready.len() < PAGES_AHEAD
            && let Ok(next) = pages.try_recv()
        {
            match next {
                Ok(page) => ready.push(page),
                Err(e) => failed = Some(e),
            }
        }
        for page in &ready {
            watch.check(page.log.as_ref())?;
        }
        if rotated_elsewhere(with, &ready).await? {
            return Err(ClientError::NeedsUnlock);
        }
        let last = ready.last().map_or(cursor, |page| page.next_cursor);
        store.transaction(|tx| {
            let mut clock = load_clock(tx)?;
            for page in &ready {
                merge_page(tx, &page.items, with.keys.device_id, &mut clock, with.clock.now(), summary)?;
            }
            save_clock(tx, &clock)?;
            super::restore::note_pull(tx, ready.last().and_then(|page| page.log.as_ref()))?;
            sync_state::advance(tx, last)
        })?;
        super::fault::after("merged");
        summary.pulled += ready.iter().map(|page| page.items.len() as u64).sum::<u64>();
        cursor = last;
        progress(Progress::Pulling { pulled: summary.pulled });
        if let Some(e) = failed {
            return Err(e);
        }
    }
    Ok(cursor)
}

/// Gives the envelopes deferred last time (stamped ahead of this clock)
/// another chance.
pub(super) fn retry_deferred(store: &mut Store, with: &With, summary: &mut SyncSummary) -> Result<(), ClientError> {
    let (sealers, me) = (&with.sealers, with.keys.device_id);
    if !store.has_deferred()? {
        return Ok(()); // The usual case: no write transaction for nothing.
    }
    store.transaction(|tx| {
        let deferred = sync_state::take_deferred(tx)?;
        let items: Vec<Received> = deferred.into_iter().map(|(seq, bytes)| receive(sealers, me, seq, bytes)).collect();
        let mut clock = load_clock(tx)?;
        merge_page(tx, &items, me, &mut clock, with.clock.now(), summary)?;
        save_clock(tx, &clock)
    })
}

/// Merges quarantined envelopes again (all, or those at one `server_seq`):
/// those that still fail go back with their reason. Nothing is fetched.
pub(super) fn retry_quarantined(
    store: &mut Store,
    with: &With,
    only: Option<u64>,
    summary: &mut SyncSummary,
) -> Result<(), ClientError> {
    let (sealers, me) = (&with.sealers, with.keys.device_id);
    store.transaction(|tx| {
        let taken = sync_state::take_quarantined(tx, only)?;
        summary.pulled = taken.len() as u64;
        let items: Vec<Received> = taken.into_iter().map(|(seq, bytes)| receive(sealers, me, seq, bytes)).collect();
        let mut clock = load_clock(tx)?;
        merge_page(tx, &items, me, &mut clock, with.clock.now(), summary)?;
        save_clock(tx, &clock)
    })
}

/// What the store holds of a page's records, read in one statement per table.
struct Known {
    /// The highest counter merged per (record, device).
    seen: HashMap<(Uuid, DeviceId), u64>,
    /// Each record's kind and metadata.
    current: HashMap<Uuid, Current>,
    /// A pull from the start after a restore is under way: envelopes at or
    /// below a counter already merged are what this device has, not replays.
    healing: bool,
    /// The highest counter merged per device in this page, written once at
    /// its end (a page of one device's envelopes raises one mark, not one
    /// per envelope).
    high: HashMap<DeviceId, u64>,
}

/// Merges a page in order, in the caller's transaction.
fn merge_page(
    tx: &Transaction<'_>,
    items: &[Received],
    me: DeviceId,
    clock: &mut Clock,
    now: UnixMillis,
    summary: &mut SyncSummary,
) -> Result<(), ClientError> {
    let ids: Vec<Uuid> = items
        .iter()
        .filter_map(|item| match &item.state {
            Unsealed::Decoded { header, .. } => Some(header.record_id.0),
            _ => None,
        })
        .collect();
    let mut known = Known {
        seen: sync_state::seen_many(tx, &ids)?,
        current: records::current_many(tx, &ids)?,
        healing: crate::store::server_log::healing(tx)?,
        high: HashMap::new(),
    };
    let mut set_aside = false;
    for item in items {
        if let Err(reason) = merge_one(tx, item, &mut known, me, clock, now, summary)? {
            let deferred = matches!(reason, Rejected::Deferred(_));
            match deferred {
                true => summary.deferred += 1,
                false => summary.quarantined += 1,
            }
            sync_state::quarantine(tx, item.seq, &item.bytes, reason.as_str(), deferred, now.0)?;
            set_aside = true;
        }
    }
    if set_aside {
        sync_state::trim_quarantine(tx)?;
    }
    sync_state::raise_seen_high(tx, &known.high)
}

/// Why an envelope was not applied.
enum Rejected {
    /// Quarantined for good.
    Quarantined(String),
    /// Stamped too far ahead of this clock: retried at the next sync.
    Deferred(String),
}

impl Rejected {
    fn as_str(&self) -> &str {
        match self {
            Rejected::Quarantined(reason) | Rejected::Deferred(reason) => reason,
        }
    }
}

/// Checks and merges one envelope. The outer error is the store's; the inner
/// one says why the envelope goes to the quarantine.
fn merge_one(
    tx: &Transaction<'_>,
    item: &Received,
    known: &mut Known,
    me: DeviceId,
    clock: &mut Clock,
    now: UnixMillis,
    summary: &mut SyncSummary,
) -> Result<Result<(), Rejected>, ClientError> {
    let quarantine = |reason: String| Ok(Err(Rejected::Quarantined(reason)));
    let (header, opened) = match &item.state {
        Unsealed::Malformed(reason) => return quarantine(reason.clone()),
        Unsealed::UnknownKey(header) => {
            return quarantine(format!("cannot open: sealed under key {}, which is not this account's", header.key_id));
        }
        Unsealed::Own => return Ok(Ok(())),
        Unsealed::Decoded { header, opened } => (header, opened),
    };
    let (record, from, seq) = (header.record_id.0, header.device_id, header.device_seq.0);
    if let Some(&seen) = known.seen.get(&(record, from))
        && seq <= seen
    {
        if known.healing {
            return Ok(Ok(()));
        }
        return quarantine(format!("replayed or rolled back: device counter {seq} after {seen}"));
    }
    let payload = match opened {
        Ok(payload) => payload,
        Err(reason) => return quarantine(reason.clone()),
    };
    if let Err(e @ ClockError::RemoteTooFarAhead { .. }) = clock.observe(payload.hlc, now) {
        return Ok(Err(Rejected::Deferred(e.to_string())));
    }
    let existing = known.current.get(&record);
    let merged = match payload.kind.as_str() {
        Mood::KIND => records::merge::<Mood>(tx, record, from, payload, existing, me, now),
        Assessment::KIND => records::merge::<Assessment>(tx, record, from, payload, existing, me, now),
        Activity::KIND => records::merge::<Activity>(tx, record, from, payload, existing, me, now),
        Schedule::KIND => records::merge::<Schedule>(tx, record, from, payload, existing, me, now),
        // Perhaps a kind from a newer version of the app (PROTOCOL.md §4.8):
        // kept aside and tried again at every sync, never dropped.
        other => return Ok(Err(Rejected::Deferred(format!("unknown record kind {other:?} (from a newer app?)")))),
    };
    match merged {
        Ok(Merged::Applied { current, lost }) => {
            summary.applied += 1;
            summary.conflicts += lost as u64;
            known.current.insert(record, current);
        }
        Ok(Merged::Kept { lost }) => summary.conflicts += lost as u64,
        Ok(Merged::KindConflict(existing)) => {
            let kind = payload.kind.as_str();
            return quarantine(format!("record {record} is a {existing} here but a {kind} in the envelope"));
        }
        Err(ClientError::Invalid(e)) => return quarantine(format!("invalid record: {e}")),
        Err(e) => return Err(e),
    }
    sync_state::mark_seen(tx, record, from, seq)?;
    known.seen.insert((record, from), seq);
    let high = known.high.entry(from).or_default();
    *high = (*high).max(seq);
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use sealsync_envelope::dto::{EnvelopeBytes, PulledEnvelope};

    use super::*;

    fn page(seqs: &[u64], next_cursor: u64, more: bool) -> PullResponse {
        let envelopes =
            seqs.iter().map(|&seq| PulledEnvelope { seq: Cursor(seq), envelope: EnvelopeBytes(vec![0xa8]) }).collect();
        PullResponse { envelopes, next_cursor: Cursor(next_cursor), more, log: None }
    }

    fn refused(after: u64, page: PullResponse) -> bool {
        matches!(check_page(Cursor(after), page), Err(ClientError::ProtocolViolation(_)))
    }

    /// PROTOCOL.md §8.2, "The page of a push": the page a push's answer
    /// carries may hold nothing the push proved to be the device's own, a
    /// complete one must end at or past the cursor the push proved, and none
    /// may end past the head the push named.
    #[test]
    fn a_push_page_must_not_contradict_the_push() {
        let violation = |r: Result<Option<Cursor>, ClientError>| matches!(r, Err(ClientError::ProtocolViolation(_)));
        // Nothing new: the page passes the push's own positions.
        assert_eq!(first_page(Cursor(10), Cursor(12), Cursor(12), &page(&[], 12, false)).unwrap(), Some(Cursor(12)));
        // Others wrote: a page to merge (the push proved nothing).
        assert_eq!(first_page(Cursor(10), Cursor(10), Cursor(14), &page(&[11], 13, false)).unwrap(), None);
        assert_eq!(first_page(Cursor(10), Cursor(10), Cursor(14), &page(&[11], 11, true)).unwrap(), None);
        // The push proved 11..=12 its own, yet the page holds something, or says more.
        assert!(violation(first_page(Cursor(10), Cursor(12), Cursor(12), &page(&[11], 12, false))));
        assert!(violation(first_page(Cursor(10), Cursor(12), Cursor(12), &page(&[], 12, true))));
        // A complete page that ends before the push's own positions.
        assert!(violation(first_page(Cursor(10), Cursor(12), Cursor(12), &page(&[], 11, false))));
        // A page that ends past the head the push named would skip what lies between.
        assert!(violation(first_page(Cursor(10), Cursor(10), Cursor(12), &page(&[], 20, false))));
        assert!(violation(first_page(Cursor(10), Cursor(12), Cursor(12), &page(&[], 13, false))));
        // And a pull page's own rules.
        let huge = i64::MAX as u64 + 1;
        assert!(violation(first_page(Cursor(10), Cursor(10), Cursor(huge), &page(&[], huge, false))));
    }

    #[test]
    fn a_page_must_make_progress_and_hold_what_it_says() {
        // What an honest server answers.
        assert!(check_page(Cursor(10), page(&[11, 12, 15], 15, true)).is_ok());
        assert!(check_page(Cursor(10), page(&[11, 12, 15], 15, false)).is_ok());
        assert!(check_page(Cursor(10), page(&[], 10, false)).is_ok(), "nothing new");
        assert!(check_page(Cursor(10), page(&[12], 20, false)).is_ok(), "a cursor past the last position");

        assert!(refused(10, page(&[11, 12], 10, true)), "more, but the cursor stays");
        assert!(refused(10, page(&[], 10, true)), "more, an empty page, the cursor stays");
        assert!(refused(10, page(&[], 9, false)), "the cursor moves back");
        assert!(refused(10, page(&[10, 11], 11, true)), "a position not after the cursor");
        assert!(refused(10, page(&[3], 11, false)), "an old position again");
        assert!(refused(10, page(&[11, 13], 12, false)), "a position past next_cursor");
        assert!(refused(10, page(&[12, 11], 12, false)), "out of order");
        assert!(refused(10, page(&[11, 11], 11, false)), "the same position twice");
        assert!(check_page(Cursor(10), page(&[11], i64::MAX as u64, false)).is_ok(), "the largest position");
        assert!(refused(10, page(&[11], i64::MAX as u64 + 1, false)), "a cursor this device cannot record");
        assert!(refused(10, page(&[11, u64::MAX], u64::MAX, false)), "a position beyond any");
    }
}
