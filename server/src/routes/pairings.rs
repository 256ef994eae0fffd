//! The device-linking relay (PROTOCOL.md §6, §8.3). The server carries
//! SPAKE2 messages, key confirmations and sealed bytes between a new device
//! N, which holds only its pairing secret, and an approving device A, which
//! holds a device token, and learns none of their keys.
//!
//! A pairing lives until its expiry (`Settings::pairing_ttl`), is claimed by
//! at most one device, and is gone once N has fetched its bundle. Either side
//! can burn it (`fail`), after which both are answered `410 pairing_failed`
//! until it expires. When N fetches the bundle, the relay adds N to A's
//! account with a fresh token, in the transaction that deletes the pairing,
//! so A's one approval is the whole hand-over and N's token never passes
//! through A.

use std::time::Duration;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::{Extension, Json as JsonResponse, Router};
use sealsync_crypto::link::PairingNumber;
use sealsync_envelope::dto::{ApproverPairingView, CreatePairingResponse, NewDevicePairingView, PairingState};

use crate::app::{App, now_ms};
use crate::auth::{AuthDevice, hashes_match, new_token, random_bytes, token_hash};
use crate::body::Json;
use crate::error::ApiError;
use crate::store::pairings::{Completion, NewPairing, Pairing, Stage};
use crate::store::{Authenticated, Store, to_u64};
use crate::wire::{ApprovePairingBody, ClaimPairingBody, ConfirmPairingBody, CreatePairingBody, pairing_number};

/// How long a pairing lives after it is opened.
#[derive(Debug, Clone, Copy)]
pub struct PairingTtl(pub Duration);

/// The relay's routes, with the pairing lifetime they apply (the caller adds
/// the rate limit).
pub fn routes<S: Store>(ttl: Duration) -> Router<App<S>> {
    Router::new()
        .route("/v1/pairings", post(create::<S>))
        .route("/v1/pairings/{pairing}", get(read::<S>))
        .route("/v1/pairings/{pairing}/claim", post(claim::<S>))
        .route("/v1/pairings/{pairing}/confirm", post(confirm::<S>))
        .route("/v1/pairings/{pairing}/approve", post(approve::<S>))
        .route("/v1/pairings/{pairing}/fail", post(fail::<S>))
        .layer(Extension(PairingTtl(ttl)))
}

/// Who asks about a pairing: A by its device token, or N by its pairing secret.
#[derive(Debug, Clone, Copy)]
pub enum Caller {
    /// `Authorization: Bearer TOKEN`.
    Device(Authenticated),
    /// `Authorization: Pairing SECRET`: the SHA-256 of the secret's hex text.
    NewDevice([u8; 32]),
}

/// Only N, by its pairing secret.
#[derive(Debug, Clone, Copy)]
pub struct NewDevice(pub [u8; 32]);

fn invalid_secret() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_pairing_secret",
        "this needs Authorization: Pairing SECRET with the pairing's secret",
    )
}

/// `Authorization: Pairing SECRET`, hashed as device tokens are (the 64
/// lower-case hex digits' text); `None` for another scheme.
fn pairing_secret(parts: &Parts) -> Result<Option<[u8; 32]>, ApiError> {
    let Some(header) = parts.headers.get(axum::http::header::AUTHORIZATION) else {
        return Err(ApiError::missing_token());
    };
    let Some(secret) = header.to_str().ok().and_then(|h| h.strip_prefix("Pairing ")) else {
        return Ok(None);
    };
    if secret.len() == 64 && secret.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Ok(Some(token_hash(secret)))
    } else {
        Err(invalid_secret())
    }
}

impl<S: Store> FromRequestParts<App<S>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App<S>) -> Result<Self, Self::Rejection> {
        match pairing_secret(parts)? {
            Some(hash) => Ok(Self::NewDevice(hash)),
            None => AuthDevice::from_request_parts(parts, app).await.map(|AuthDevice(device)| Self::Device(device)),
        }
    }
}

impl<S: Store> FromRequestParts<App<S>> for NewDevice {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &App<S>) -> Result<Self, Self::Rejection> {
        pairing_secret(parts)?.map(Self).ok_or_else(invalid_secret)
    }
}

fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "pairing_not_found", "no such pairing: it never existed, or it is done")
}

fn expired() -> ApiError {
    ApiError::new(StatusCode::GONE, "pairing_expired", "the pairing expired; start again with a new code")
}

fn failed() -> ApiError {
    ApiError::new(
        StatusCode::GONE,
        "pairing_failed",
        "the pairing failed: the devices did not agree on the code; start again with a new code",
    )
}

fn claimed() -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "pairing_claimed", "another device has claimed this pairing")
}

fn wrong_state(detail: &'static str) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "pairing_state", detail)
}

fn device_exists() -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "device_exists", "the account already has a device with the new device's id")
}

/// The pairing `number` as `caller` may see it, in the order of PROTOCOL.md
/// §8.3: it exists (404), the secret is its own (401), it has not expired
/// (410; an expired pairing is deleted on sight), it has not failed (410),
/// and no other device claimed it (409).
async fn load<S: Store>(app: &App<S>, number: PairingNumber, caller: &Caller, now: i64) -> Result<Pairing, ApiError> {
    let pairing = app.store.pairing(number).await?.ok_or_else(not_found)?;
    if let Caller::NewDevice(hash) = caller
        && !hashes_match(hash, &pairing.secret_hash)
    {
        return Err(invalid_secret());
    }
    if now >= pairing.expires_at {
        app.store.delete_pairing(number).await?;
        return Err(expired());
    }
    if pairing.stage == Stage::Failed {
        return Err(failed());
    }
    if let Caller::Device(me) = caller
        && pairing.claimant.is_some_and(|claimant| claimant != *me)
    {
        return Err(claimed());
    }
    Ok(pairing)
}

/// After a conditional update changed nothing (another request got there
/// first, or the pairing expired meanwhile): the answer the pairing now gets.
async fn after_race<S: Store>(
    app: &App<S>,
    number: PairingNumber,
    caller: &Caller,
    ready: fn(&Pairing) -> Result<(), ApiError>,
) -> ApiError {
    match load(app, number, caller, now_ms()).await.and_then(|p| ready(&p)) {
        Err(e) => e,
        Ok(()) => wrong_state("the pairing changed while this request was answered"),
    }
}

fn state(stage: Stage) -> Result<PairingState, ApiError> {
    match stage {
        Stage::Open => Ok(PairingState::Open),
        Stage::Claimed => Ok(PairingState::Claimed),
        Stage::Confirmed => Ok(PairingState::Confirmed),
        Stage::Approved => Ok(PairingState::Approved),
        Stage::Failed => Err(failed()),
    }
}

fn approver_view(p: Pairing) -> Result<ApproverPairingView, ApiError> {
    Ok(ApproverPairingView {
        pairing: p.number.to_string(),
        state: state(p.stage)?,
        expires_at: to_u64(p.expires_at),
        new_device_id: p.new_device_id,
        message: p.new_message,
        confirm: p.new_confirm,
        encrypted_name: p.new_encrypted_name,
    })
}

fn new_view(p: Pairing, bundle: Option<Vec<u8>>, token: Option<String>) -> Result<NewDevicePairingView, ApiError> {
    Ok(NewDevicePairingView {
        pairing: p.number.to_string(),
        state: state(p.stage)?,
        expires_at: to_u64(p.expires_at),
        approver_device_id: p.claimant.map(|c| c.device_id),
        message: p.approver_message,
        confirm: p.approver_confirm,
        bundle,
        token,
    })
}

/// A pairing number drawn uniformly from 0 to 999 999 (rejection sampling
/// of 32 random bits). Drawing again while the number is taken makes the
/// choice uniform among the free ones.
fn random_pairing_number() -> PairingNumber {
    const SPAN: u32 = PairingNumber::MAX + 1;
    const LIMIT: u32 = u32::MAX - u32::MAX % SPAN;
    loop {
        let n = u32::from_be_bytes(random_bytes());
        if n < LIMIT {
            return PairingNumber::new(n % SPAN).expect("below 1 000 000");
        }
    }
}

/// Draws per pairing before giving up: with fewer than half the numbers
/// taken, 32 draws all hit taken ones with probability below 2^-32.
const DRAWS: usize = 32;

/// `POST /v1/pairings`: N opens a pairing with its device id and SPAKE2
/// message, and gets the number to show and the secret that is its access.
pub async fn create<S: Store>(
    State(app): State<App<S>>,
    Extension(PairingTtl(ttl)): Extension<PairingTtl>,
    Json(body): Json<CreatePairingBody>,
) -> Result<(StatusCode, JsonResponse<CreatePairingResponse>), ApiError> {
    let request = body.check()?;
    let (secret, secret_hash) = new_token();
    let now = now_ms();
    let expires_at = now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
    for _ in 0..DRAWS {
        let pairing = NewPairing {
            number: random_pairing_number(),
            secret_hash,
            new_device_id: request.device_id,
            new_message: request.message.clone(),
            expires_at,
        };
        if app.store.create_pairing(&pairing, now).await? {
            tracing::info!(pairing = %pairing.number, device = %request.device_id, "pairing opened");
            let answer =
                CreatePairingResponse { pairing: pairing.number.to_string(), secret, expires_at: to_u64(expires_at) };
            return Ok((StatusCode::CREATED, JsonResponse(answer)));
        }
    }
    Err(ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "pairings_exhausted",
        "no pairing number is free; try again later",
    ))
}

/// `GET /v1/pairings/{pairing}`: A's view (N's id and message, then N's
/// confirmation and sealed name) or N's view (A's id, message and
/// confirmation, then the bundle and N's token, answered once: fetching them
/// adds N to the account and deletes the pairing).
pub async fn read<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(pairing): Path<String>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;

    let number = pairing_number(&pairing)?;
    let now = now_ms();
    let pairing = load(&app, number, &caller, now).await?;
    match caller {
        Caller::Device(_) => Ok(JsonResponse(approver_view(pairing)?).into_response()),
        Caller::NewDevice(_) if pairing.stage == Stage::Approved => {
            let (token, token_hash) = new_token();
            match app.store.complete_pairing(number, &token_hash, now).await? {
                Completion::Done { bundle } => {
                    if let Some(claimant) = pairing.claimant {
                        tracing::info!(pairing = %number, account = %claimant.account_id,
                            device = %pairing.new_device_id, by = %claimant.device_id, "device linked");
                    }
                    Ok(JsonResponse(new_view(pairing, Some(bundle), Some(token))?).into_response())
                }
                Completion::DeviceExists => Err(device_exists()),
                Completion::ApproverRevoked => Err(ApiError::new(
                    axum::http::StatusCode::GONE,
                    "pairing_failed",
                    "the device that approved this pairing has been signed out since; start again",
                )),
                Completion::NotApproved => Err(after_race(&app, number, &caller, |_| Ok(())).await),
            }
        }
        Caller::NewDevice(_) => Ok(JsonResponse(new_view(pairing, None, None)?).into_response()),
    }
}

fn ready_to_claim(pairing: &Pairing) -> Result<(), ApiError> {
    if pairing.stage == Stage::Open { Ok(()) } else { Err(claimed()) }
}

/// `POST /v1/pairings/{pairing}/claim`: A answers with its SPAKE2 message and
/// `confirm_approver`; the pairing is then bound to A's device and account.
pub async fn claim<S: Store>(
    State(app): State<App<S>>,
    AuthDevice(me): AuthDevice,
    Path(pairing): Path<String>,
    Json(body): Json<ClaimPairingBody>,
) -> Result<JsonResponse<ApproverPairingView>, ApiError> {
    let number = pairing_number(&pairing)?;
    let request = body.check()?;
    let (caller, now) = (Caller::Device(me), now_ms());
    let pairing = load(&app, number, &caller, now).await?;
    ready_to_claim(&pairing)?;
    if app.store.account_has_device(me.account_id, pairing.new_device_id).await? {
        return Err(device_exists());
    }
    if !app.store.claim_pairing(number, me, &request.message, &request.confirm, now).await? {
        return Err(after_race(&app, number, &caller, ready_to_claim).await);
    }
    tracing::info!(pairing = %number, account = %me.account_id, by = %me.device_id, "pairing claimed");
    Ok(JsonResponse(approver_view(Pairing { stage: Stage::Claimed, claimant: Some(me), ..pairing })?))
}

fn ready_to_confirm(pairing: &Pairing) -> Result<(), ApiError> {
    match pairing.stage {
        Stage::Claimed => Ok(()),
        Stage::Open => Err(wrong_state("no device has claimed the pairing yet")),
        _ => Err(wrong_state("the pairing is already confirmed")),
    }
}

/// `POST /v1/pairings/{pairing}/confirm`: N, having checked A's confirmation,
/// answers with `confirm_new` and its name sealed under the link key.
pub async fn confirm<S: Store>(
    State(app): State<App<S>>,
    NewDevice(secret): NewDevice,
    Path(pairing): Path<String>,
    Json(body): Json<ConfirmPairingBody>,
) -> Result<JsonResponse<NewDevicePairingView>, ApiError> {
    let number = pairing_number(&pairing)?;
    let request = body.check()?;
    let (caller, now) = (Caller::NewDevice(secret), now_ms());
    let pairing = load(&app, number, &caller, now).await?;
    ready_to_confirm(&pairing)?;
    if !app.store.confirm_pairing(number, &request.confirm, &request.encrypted_name, now).await? {
        return Err(after_race(&app, number, &caller, ready_to_confirm).await);
    }
    Ok(JsonResponse(new_view(Pairing { stage: Stage::Confirmed, ..pairing }, None, None)?))
}

fn ready_to_approve(pairing: &Pairing) -> Result<(), ApiError> {
    match pairing.stage {
        Stage::Confirmed => Ok(()),
        Stage::Open => Err(wrong_state("this device has not claimed the pairing")),
        Stage::Claimed => Err(wrong_state("the new device has not confirmed yet")),
        _ => Err(wrong_state("the pairing is already approved")),
    }
}

/// `POST /v1/pairings/{pairing}/approve`: A, having checked N's confirmation,
/// hands over the sealed bundle and N's name sealed under the record key.
/// N becomes a device of the account when it fetches the bundle.
pub async fn approve<S: Store>(
    State(app): State<App<S>>,
    AuthDevice(me): AuthDevice,
    Path(pairing): Path<String>,
    Json(body): Json<ApprovePairingBody>,
) -> Result<JsonResponse<ApproverPairingView>, ApiError> {
    let number = pairing_number(&pairing)?;
    let request = body.check()?;
    let (caller, now) = (Caller::Device(me), now_ms());
    let pairing = load(&app, number, &caller, now).await?;
    ready_to_approve(&pairing)?;
    if !app.store.approve_pairing(number, me, &request.encrypted_name, &request.bundle, now).await? {
        return Err(after_race(&app, number, &caller, ready_to_approve).await);
    }
    tracing::info!(pairing = %number, account = %me.account_id, by = %me.device_id, "pairing approved");
    Ok(JsonResponse(approver_view(Pairing { stage: Stage::Approved, ..pairing })?))
}

fn ready_to_fail(_: &Pairing) -> Result<(), ApiError> {
    Ok(())
}

/// `POST /v1/pairings/{pairing}/fail`: either side burns the pairing (a
/// confirmation did not match, or the user gave up). A device may fail only
/// a pairing it claimed.
pub async fn fail<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(pairing): Path<String>,
) -> Result<StatusCode, ApiError> {
    let number = pairing_number(&pairing)?;
    let now = now_ms();
    let pairing = load(&app, number, &caller, now).await?;
    if matches!(caller, Caller::Device(_)) && pairing.claimant.is_none() {
        return Err(wrong_state("a device can fail only a pairing it claimed"));
    }
    if !app.store.fail_pairing(number, now).await? {
        return Err(after_race(&app, number, &caller, ready_to_fail).await);
    }
    tracing::info!(pairing = %number, by = if matches!(caller, Caller::Device(_)) { "approver" } else { "new device" },
        "pairing failed");
    Ok(StatusCode::NO_CONTENT)
}
