//! The page a push answer carries (PROTOCOL.md §8.2, "The page of a push"):
//! what a pull after the device's cursor would have returned just before the
//! push's envelopes took their positions. An incremental sync is then one
//! request: the device sends its edits and receives what it has not seen.
//! The store reads the page with the push ([`crate::store::Pushed::page`]);
//! here it is asked for and answered.

use sealsync_envelope::Cursor;
use sealsync_envelope::dto::{EnvelopeBytes, PullAfter, PullResponse, PulledEnvelope};

use crate::error::ApiError;
use crate::store::{PageAsk, PullPage};

/// Checks the `pull` member of a push before anything is stored: `limit` is
/// at least 1 and is clamped to `max_page_size`, as a pull's.
pub fn checked(pull: PullAfter, max_page_size: u32) -> Result<PageAsk, ApiError> {
    let limit = match pull.limit {
        Some(0) => return Err(ApiError::bad_request("invalid_pull", "pull.limit must be at least 1")),
        Some(n) => u32::try_from(n).unwrap_or(u32::MAX).min(max_page_size),
        None => max_page_size,
    };
    Ok(PageAsk { after: pull.after, limit })
}

/// The answer's page. A complete page's `next_cursor` is the account's
/// cursor after the push (`cursor`): everything after the page is this
/// push's own envelopes, which the device holds.
pub fn answer(ask: PageAsk, page: PullPage, cursor: Cursor) -> PullResponse {
    let PullPage { envelopes, more } = page;
    let next_cursor = match (more, envelopes.last()) {
        (true, Some((seq, _))) => *seq,
        _ => ask.after.max(cursor),
    };
    metrics::counter!("sealsync_envelopes_pulled_total").increment(envelopes.len() as u64);
    PullResponse {
        envelopes: envelopes
            .into_iter()
            .map(|(seq, bytes)| PulledEnvelope { seq, envelope: EnvelopeBytes(bytes) })
            .collect(),
        next_cursor,
        more,
        // The push answer around this page names the log.
        log: None,
    }
}
