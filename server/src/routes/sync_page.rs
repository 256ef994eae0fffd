//! The page a push answer carries (PROTOCOL.md §8.2, "The page of a push"):
//! what a pull after the device's cursor would have returned just before the
//! push's envelopes took their positions. An incremental sync is then one
//! request: the device sends its edits and receives what it has not seen.

use sealsync_envelope::Cursor;
use sealsync_envelope::dto::{EnvelopeBytes, PullAfter, PullResponse, PulledEnvelope, PushResult};

use crate::error::ApiError;
use crate::store::{PullPage, Store};
use sealsync_envelope::AccountId;

/// A page request, checked before anything is stored.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    after: Cursor,
    limit: u32,
}

/// Checks the `pull` member of a push: `limit` is at least 1 and is clamped
/// to `max_page_size`, as a pull's.
pub fn checked(pull: PullAfter, max_page_size: u32) -> Result<PageRequest, ApiError> {
    let limit = match pull.limit {
        Some(0) => return Err(ApiError::bad_request("invalid_pull", "pull.limit must be at least 1")),
        Some(n) => u32::try_from(n).unwrap_or(u32::MAX).min(max_page_size),
        None => max_page_size,
    };
    Ok(PageRequest { after: pull.after, limit })
}

/// The page after `request.after` up to the account's counter before this
/// push (`cursor` less the envelopes it stored, which take the positions
/// right after it). A complete page's `next_cursor` is the account's cursor
/// after the push: everything between is this push's own envelopes, which
/// the device holds. Read after the push committed, outside its lock.
pub async fn after_push<S: Store>(
    store: &S,
    account_id: AccountId,
    request: PageRequest,
    results: &[PushResult],
    cursor: Cursor,
) -> Result<PullResponse, ApiError> {
    let stored = results.iter().filter(|r| matches!(r, PushResult::Stored { .. })).count() as u64;
    let before = Cursor(cursor.0.saturating_sub(stored));
    let PullPage { envelopes, more } = match request.after < before {
        true => store.pull_until(account_id, request.after, before, request.limit).await?,
        false => PullPage { envelopes: Vec::new(), more: false },
    };
    let next_cursor = match (more, envelopes.last()) {
        (true, Some((seq, _))) => *seq,
        _ => request.after.max(cursor),
    };
    metrics::counter!("sealsync_envelopes_pulled_total").increment(envelopes.len() as u64);
    Ok(PullResponse {
        envelopes: envelopes
            .into_iter()
            .map(|(seq, bytes)| PulledEnvelope { seq, envelope: EnvelopeBytes(bytes) })
            .collect(),
        next_cursor,
        more,
        // The push answer around this page names the log.
        log: None,
    })
}
