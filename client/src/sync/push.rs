//! Pushing the outbox: batches sealed in counter order and sent with two in
//! the pipeline, so the server stores one batch while this device
//! acknowledges the batch before it and seals the batch after it, in one
//! local transaction. Sealed bytes are saved before the first send, so a
//! retry after a lost answer re-sends them exactly and is acknowledged as a
//! duplicate. The last push asks for the page after the cursor, so an
//! incremental sync is one request (PROTOCOL.md §8.2).

use rusqlite::Transaction;
use sealsync_envelope::dto::{PullAfter, PullResponse, PushResponse, PushResult, RejectCode, ServerLimits};
use sealsync_envelope::{Cursor, DeviceId, UnixMillis};
use zeroize::Zeroizing;

use super::{Progress, SyncSummary, With};
use crate::api::Api;
use crate::error::ClientError;
use crate::store::Store;
use crate::store::sync_state::{self, Outgoing};
use crate::store::sync_state::{BatchLimit, Refusal};

/// What every server accepts in one push (PROTOCOL.md §9): sent without asking.
const GUARANTEED: BatchLimit = BatchLimit {
    envelopes: ServerLimits::GUARANTEED_ENVELOPES_PER_PUSH as usize,
    bytes: ServerLimits::GUARANTEED_PUSH_BYTES as usize,
};

/// The largest push this client sends, where the server's limits allow it:
/// each push waits for the server's commit, so a bulk upload of 100,000
/// records runs 25% (Postgres) to 65% (SQLite) faster in batches of 2,000.
const LARGEST: BatchLimit = BatchLimit { envelopes: 2_000, bytes: GUARANTEED.bytes };

/// The batch limit for this push: [`GUARANTEED`] when the outbox fits in one
/// such batch; otherwise the server's advertised limits, capped at [`LARGEST`]
/// (one `GET /v1/meta`, worth it only for an upload of many batches).
async fn batch_limit(api: &Api, queued: u64) -> Result<BatchLimit, ClientError> {
    if queued <= GUARANTEED.envelopes as u64 {
        return Ok(GUARANTEED);
    }
    let limits = api.meta().await?.limits;
    let envelopes = usize::try_from(limits.max_envelopes_per_push).unwrap_or(usize::MAX);
    let bytes = usize::try_from(limits.max_request_bytes / 2).unwrap_or(usize::MAX);
    Ok(BatchLimit {
        envelopes: envelopes.clamp(GUARANTEED.envelopes, LARGEST.envelopes),
        bytes: bytes.clamp(GUARANTEED.bytes, LARGEST.bytes),
    })
}

/// Where a push left the pull cursor.
pub(super) struct Pushed {
    /// The cursor, moved past this device's own envelopes where that is proven.
    pub cursor: Cursor,
    /// The last push proved the account holds nothing after `cursor` but ours:
    /// there is nothing to pull.
    pub caught_up: bool,
    /// The page the last push's answer carried, with the cursor it was asked
    /// after (PROTOCOL.md §8.2): the sync's first pull page, already here.
    pub page: Option<(Cursor, PullResponse)>,
    /// The account's head as the last push's answer named it: no page of
    /// that answer may end past it.
    pub head: Cursor,
}

/// What the last push of an outbox asks for: the page after the cursor, so
/// an incremental sync is one request. Earlier pushes ask for none: the
/// cursor moves while they upload, and a page asked for then would carry
/// this device's own envelopes back.
fn page_after(last: bool, cursor: Cursor, limit: std::num::NonZeroU32) -> Option<PullAfter> {
    last.then_some(PullAfter { after: cursor, limit: Some(u64::from(limit.get())) })
}

/// Pushes everything in the outbox (stopping at the first batch the server
/// refuses part of: refused entries stay queued).
pub(super) async fn push_outbox(
    store: &mut Store,
    with: &With,
    mut cursor: Cursor,
    summary: &mut SyncSummary,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<Pushed, ClientError> {
    let (api, keys, sealer) = (&with.api, &with.keys, with.sealers.current());
    let total = store.outbox_len()?;
    let limit = batch_limit(api, total).await?;
    let mut caught_up = false;
    let watch = super::restore::Watch::load(store)?;
    let mut page = None;
    let mut head = cursor;
    let seal = |tx: &Transaction<'_>, after: u64| sync_state::outgoing(tx, limit, after, sealer, keys.device_id);
    let (mut batch, more) = store.transaction(|tx| seal(tx, 0))?;
    let mut asked = page_after(!more, cursor, with.pull_page);
    let mut in_flight = (!batch.is_empty()).then(|| send_push(api, &keys.token, &batch, asked, more));
    let (mut next, mut more) = match batch.last() {
        Some(last) if more => store.transaction(|tx| seal(tx, last.device_seq))?,
        _ => (Vec::new(), false),
    };
    while let Some(pushing) = in_flight.take() {
        let mut response = pushing.await?;
        super::fault::after("pushed");
        watch.check_push(&response)?;
        let answer = read_answer(&batch, &response, cursor)?;
        if !answer.superseded.is_empty() {
            refuse_foreign_counters(store, &answer, keys.device_id)?;
        }
        // A page nobody asked for is ignored.
        page = asked.take().zip(response.pull.take()).map(|(asked, p)| (asked.after, p));
        let moved = answer.skip.unwrap_or(cursor);
        // What the server refuses stays queued; do not loop on it.
        let stop = answer.rejected > 0 || response.results.len() != batch.len();
        if !stop && !next.is_empty() {
            asked = page_after(!more, moved, with.pull_page);
            in_flight = Some(send_push(api, &keys.token, &next, asked, true));
        }
        let after = next.last().map(|o| o.device_seq).filter(|_| more && in_flight.is_some());
        let (following, more_after) = store.transaction(|tx| {
            sync_state::acknowledge(tx, &answer.acknowledged, answer.skip)?;
            super::restore::note_push(tx, &response, &answer.acknowledged)?;
            after.map_or(Ok((Vec::new(), false)), |after| seal(tx, after))
        })?;
        super::fault::after("acknowledged");
        cursor = moved;
        caught_up = cursor == response.cursor;
        head = response.cursor;
        summary.pushed += answer.acknowledged.len() as u64;
        summary.rejected += answer.rejected;
        for &(code, bytes) in &answer.refused {
            count_refusal(&mut summary.refused, code, bytes);
        }
        progress(Progress::Pushing { done: summary.pushed, total });
        batch = std::mem::replace(&mut next, following);
        more = more_after;
    }
    explain_refusals(api, &mut summary.refused).await;
    Ok(Pushed { cursor, caught_up, page, head })
}

/// Adds one refused change to the tally of its reason.
fn count_refusal(refused: &mut Vec<Refusal>, code: RejectCode, bytes: u64) {
    match refused.iter_mut().find(|r| r.code == code.as_str()) {
        Some(r) => {
            r.count += 1;
            r.bytes += bytes;
        }
        None => refused.push(Refusal { code: code.as_str().to_owned(), count: 1, bytes, reason: String::new() }),
    }
}

/// Says what each refusal means and what to do; a full quota names the
/// account's quota (one `GET /v1/meta`, only then) and how much more room
/// the refused changes need.
async fn explain_refusals(api: &Api, refused: &mut [Refusal]) {
    let quota = match refused.iter().any(|r| r.code == RejectCode::QuotaExceeded.as_str()) {
        true => api.meta().await.ok().map(|m| m.limits.max_account_bytes),
        false => None,
    };
    for r in refused {
        let (count, bytes) = (r.count, r.bytes);
        r.reason = match r.code.as_str() {
            "quota_exceeded" => format!(
                "the account's storage quota{} is full: {count} change(s) of {bytes} bytes do not fit (at least \
                 {bytes} bytes over); delete records, or ask the server's operator for a larger quota \
                 (--max-account-bytes)",
                quota.map_or_else(String::new, |q| format!(" ({q} bytes)"))
            ),
            "envelope_too_large" => {
                format!("{count} change(s) are larger than this server accepts for one record; shorten their notes")
            }
            other => format!("{count} change(s) refused as {other}; this client and the server disagree on the format"),
        };
    }
}

/// A push on its way.
type Sending = std::pin::Pin<Box<dyn Future<Output = Result<PushResponse, ClientError>> + Send>>;

/// Sends a batch. With `overlap`, from its own task, so the caller seals or
/// acknowledges another batch while it travels; without (an incremental
/// sync's only push), where it is awaited, saving a hand-off between tasks.
fn send_push(api: &Api, token: &str, batch: &[Outgoing], pull: Option<PullAfter>, overlap: bool) -> Sending {
    let envelopes = batch.iter().map(|o| o.envelope.clone()).collect();
    let (api, token) = (api.clone(), Zeroizing::new(token.to_owned()));
    let request = async move { api.push(&token, envelopes, pull).await };
    if !overlap {
        return Box::pin(request);
    }
    let task = tokio::spawn(request);
    Box::pin(async move { task.await.map_err(|e| ClientError::Network(format!("push task failed: {e}")))? })
}

/// A `superseded` answer says the server holds a newer counter for the
/// entry's (record, device). If the entry is still queued, it is this
/// device's newest change of its record (PROTOCOL.md §12): the device never
/// issued a higher counter for it, so someone else pushed under its id (its
/// token is compromised, or a copy of the device is syncing). Dropping the
/// edit would lose it silently: it stays queued, the device records what
/// happened (`sync status`), and the sync stops with
/// [`ClientError::DeviceCompromised`]. An entry no longer queued was replaced
/// by a newer change meanwhile (e.g. edited while the sync ran): nothing to do.
fn refuse_foreign_counters(store: &mut Store, answer: &Answer, device: DeviceId) -> Result<(), ClientError> {
    let queued = store.transaction(|tx| {
        let queued = sync_state::still_queued(tx, &answer.superseded)?;
        if queued > 0 {
            sync_state::acknowledge(tx, &answer.acknowledged, answer.skip)?;
            sync_state::mark_compromised(tx, UnixMillis::now().0)?;
        }
        Ok(queued)
    })?;
    match queued {
        0 => Ok(()),
        queued => Err(ClientError::DeviceCompromised { device, queued }),
    }
}

/// What a push's answer means for the outbox and the cursor.
struct Answer {
    /// Counters of the entries the server holds (stored, duplicate).
    acknowledged: Vec<u64>,
    /// Counters the server answered `superseded` (see [`refuse_foreign_counters`]).
    superseded: Vec<u64>,
    /// Entries refused in this batch (they stay queued).
    rejected: u64,
    /// Their codes and sealed sizes.
    refused: Vec<(RejectCode, u64)>,
    /// Where the cursor may jump (see [`past_own_envelopes`]).
    skip: Option<Cursor>,
}

fn read_answer(batch: &[Outgoing], response: &PushResponse, cursor: Cursor) -> Result<Answer, ClientError> {
    let mut answer = Answer {
        acknowledged: Vec::with_capacity(batch.len()),
        superseded: Vec::new(),
        rejected: 0,
        refused: Vec::new(),
        skip: None,
    };
    for (item, result) in batch.iter().zip(&response.results) {
        match result {
            PushResult::Stored { .. } | PushResult::Duplicate => answer.acknowledged.push(item.device_seq),
            PushResult::Superseded => answer.superseded.push(item.device_seq),
            // The server says this device's identity, counters or key are
            // wrong: pushing on would lose edits, so stop and say so.
            PushResult::Rejected {
                code:
                    code @ (RejectCode::DeviceSeqReused
                    | RejectCode::DeviceMismatch
                    | RejectCode::UnknownKeyId
                    | RejectCode::DeviceSeqJump),
            } => return Err(ClientError::ReenrolRequired(code.as_str().to_owned())),
            // Another device rotated the data key: this one must unlock it
            // before its edits (kept queued) can go up.
            PushResult::Rejected { code: RejectCode::StaleKeyId } => return Err(ClientError::NeedsUnlock),
            PushResult::Rejected { code } => {
                answer.rejected += 1;
                answer.refused.push((*code, item.envelope.len() as u64));
            }
        }
    }
    answer.skip = past_own_envelopes(response, cursor);
    Ok(answer)
}

/// Where the pull cursor may jump after a push: to the account's cursor, if
/// the envelopes this push stored are exactly the positions right after
/// `cursor` (PROTOCOL.md §8.2), so nobody else wrote in between and there is
/// nothing there but our own envelopes.
fn past_own_envelopes(response: &PushResponse, cursor: Cursor) -> Option<Cursor> {
    let mut stored: Vec<u64> = response
        .results
        .iter()
        .filter_map(|r| match r {
            PushResult::Stored { seq } => Some(seq.0),
            _ => None,
        })
        .collect();
    stored.sort_unstable();
    let contiguous = stored.iter().enumerate().all(|(i, &seq)| seq == cursor.0 + 1 + i as u64);
    (contiguous && !stored.is_empty() && response.cursor.0 == cursor.0 + stored.len() as u64).then_some(response.cursor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(results: Vec<PushResult>, cursor: u64) -> PushResponse {
        PushResponse { results, cursor: Cursor(cursor), log: None, pull: None }
    }

    fn stored(seq: u64) -> PushResult {
        PushResult::Stored { seq: Cursor(seq) }
    }

    #[test]
    fn the_cursor_skips_only_a_run_of_our_own_positions() {
        // Ours were 11..=13 right after cursor 10: skip to 13.
        assert_eq!(
            past_own_envelopes(&response(vec![stored(11), stored(12), stored(13)], 13), Cursor(10)),
            Some(Cursor(13))
        );
        // Someone wrote 11 before us: pull.
        assert_eq!(past_own_envelopes(&response(vec![stored(12), stored(13)], 13), Cursor(10)), None);
        // A gap from an envelope superseded within the batch: pull (safe, not needed).
        assert_eq!(past_own_envelopes(&response(vec![stored(11), stored(13)], 13), Cursor(10)), None);
        // Someone wrote after us but before the answer: the account is ahead: pull.
        assert_eq!(past_own_envelopes(&response(vec![stored(11)], 12), Cursor(10)), None);
        // Nothing stored: nothing proven.
        assert_eq!(past_own_envelopes(&response(vec![PushResult::Duplicate], 10), Cursor(10)), None);
    }
}
