//! `POST /v1/sync/push` and `GET /v1/sync/pull`.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use sealsync_envelope::dto::{PullResponse, PulledEnvelope, PushRequest, PushResponse, PushResult, RejectCode};
use sealsync_envelope::{Cursor, DecodeError, Envelope};
use serde::Deserialize;

use crate::app::App;
use crate::auth::AuthDevice;
use crate::body::Cbor;
use crate::error::ApiError;
use crate::routes::sync_page;
use crate::store::{Incoming, Store};

/// Why an envelope that does not decode is refused (the table in
/// PROTOCOL.md §8.2). `envelope_too_large` is for the envelope as a whole;
/// a byte string inside it announcing more than its field can hold is a
/// malformed envelope, however short the envelope itself.
fn reject_code(error: &DecodeError) -> RejectCode {
    match error {
        DecodeError::UnsupportedVersion(_) => RejectCode::UnsupportedVersion,
        DecodeError::UnsupportedSuite(_) => RejectCode::UnsupportedSuite,
        DecodeError::TooLarge { what: "envelope", .. } => RejectCode::EnvelopeTooLarge,
        DecodeError::TooLarge { .. }
        | DecodeError::Truncated { .. }
        | DecodeError::Malformed { .. }
        | DecodeError::NotCanonical { .. }
        | DecodeError::Unexpected { .. }
        | DecodeError::InvalidField { .. }
        | DecodeError::TrailingBytes(_) => RejectCode::MalformedEnvelope,
        _ => RejectCode::MalformedEnvelope,
    }
}

fn outcome_label(result: &PushResult) -> &'static str {
    match result {
        PushResult::Stored { .. } => "stored",
        PushResult::Duplicate => "duplicate",
        PushResult::Superseded => "superseded",
        PushResult::Rejected { .. } => "rejected",
    }
}

/// `POST /v1/sync/push`: validates each envelope, then stores the valid ones
/// in one transaction under the account's lock. Envelope-level problems are
/// per-envelope results; request-level problems (body, batch size) fail the
/// whole request and store nothing. With `pull`, the answer carries the page
/// the device has not seen ([`sync_page`]), read with the push.
pub async fn push<S: Store>(
    State(app): State<App<S>>,
    AuthDevice(me): AuthDevice,
    Cbor(request): Cbor<PushRequest>,
) -> Result<Cbor<PushResponse>, ApiError> {
    let max = app.limits.max_envelopes_per_push as usize;
    if request.envelopes.len() > max {
        return Err(ApiError::too_large(
            "too_many_envelopes",
            format!("a push carries at most {max} envelopes, this one {}", request.envelopes.len()),
        ));
    }
    let page = request.pull.map(|pull| sync_page::checked(pull, app.limits.max_page_size)).transpose()?;
    let mut results: Vec<Option<PushResult>> = vec![None; request.envelopes.len()];
    let mut incoming = Vec::with_capacity(request.envelopes.len());
    let mut positions = Vec::with_capacity(request.envelopes.len());
    for (index, bytes) in request.envelopes.into_iter().enumerate() {
        let rejected = |code| Some(PushResult::Rejected { code });
        if bytes.0.len() as u64 > app.limits.max_envelope_bytes {
            results[index] = rejected(RejectCode::EnvelopeTooLarge);
            continue;
        }
        match Envelope::decode(&bytes.0) {
            Err(e) => results[index] = rejected(reject_code(&e)),
            Ok(envelope) if envelope.header.device_id != me.device_id => {
                results[index] = rejected(RejectCode::DeviceMismatch);
            }
            Ok(envelope) => {
                positions.push(index);
                incoming.push(Incoming { header: envelope.header, bytes: bytes.0 });
            }
        }
    }
    let pushed = app.store.push(me.account_id, incoming, page, app.limits.max_account_bytes).await?;
    let cursor = pushed.cursor;
    for (index, result) in positions.into_iter().zip(pushed.results) {
        results[index] = Some(result);
    }
    let results: Vec<PushResult> = results.into_iter().map(|r| r.expect("every index has a result")).collect();
    for result in &results {
        metrics::counter!("sealsync_envelopes_pushed_total", "outcome" => outcome_label(result)).increment(1);
    }
    log_refusals(me.account_id, &results);
    let pull = page.zip(pushed.page).map(|(ask, page)| sync_page::answer(ask, page, cursor));
    Ok(Cbor(PushResponse { results, cursor, log: Some(pushed.log), pull }))
}

/// One warning per push that refused anything: the account, and how many
/// envelopes for each reason (an operator sees a full quota without asking).
fn log_refusals(account: sealsync_envelope::AccountId, results: &[PushResult]) {
    let mut counts: Vec<(&'static str, u64)> = Vec::new();
    for result in results {
        if let PushResult::Rejected { code } = result {
            match counts.iter_mut().find(|(c, _)| *c == code.as_str()) {
                Some((_, n)) => *n += 1,
                None => counts.push((code.as_str(), 1)),
            }
        }
    }
    if !counts.is_empty() {
        let refused = counts.iter().map(|(c, n)| format!("{c}={n}")).collect::<Vec<_>>().join(",");
        tracing::warn!(account = %account.0, %refused, "push refused envelopes");
    }
}

/// Query of a pull.
#[derive(Debug, Deserialize)]
pub struct PullQuery {
    /// Return envelopes strictly after this cursor (default: from the start).
    #[serde(default)]
    after: u64,
    /// Page size, at least 1 (default: the server's `max_page_size`; a larger
    /// value is clamped to it, not refused).
    limit: Option<u64>,
}

/// `GET /v1/sync/pull?after=CURSOR&limit=N`: one page in cursor order.
pub async fn pull<S: Store>(
    State(app): State<App<S>>,
    AuthDevice(me): AuthDevice,
    query: Result<Query<PullQuery>, QueryRejection>,
) -> Result<Cbor<PullResponse>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let limit = match query.limit {
        Some(0) => {
            return Err(ApiError::bad_request("invalid_query", "limit must be at least 1"));
        }
        Some(n) => u32::try_from(n).unwrap_or(u32::MAX).min(app.limits.max_page_size),
        None => app.limits.max_page_size,
    };
    let after = Cursor(query.after);
    let page = app.store.pull(me.account_id, after, limit).await?;
    let log = app.store.log_state(me.account_id).await?;
    let next_cursor = page.envelopes.last().map_or(after, |(seq, _)| *seq);
    metrics::counter!("sealsync_envelopes_pulled_total").increment(page.envelopes.len() as u64);
    Ok(Cbor(PullResponse {
        envelopes: page
            .envelopes
            .into_iter()
            .map(|(seq, bytes)| PulledEnvelope { seq, envelope: sealsync_envelope::dto::EnvelopeBytes(bytes) })
            .collect(),
        next_cursor,
        more: page.more,
        log: Some(log),
    }))
}
