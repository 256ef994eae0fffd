//! Accounts: registration, login parameters, login (a new device) and deletion.

use axum::Json as JsonResponse;
use axum::extract::State;
use axum::http::StatusCode;
use hmac::{Hmac, KeyInit, Mac};
use sealsync_crypto::{AccountName, ProtocolVersion, WrappedDataKey, accept_version};
use sealsync_envelope::dto::{
    DeleteAccountRequest, DeviceRegistration, LoginParamsRequest, LoginParamsResponse, LoginRequest, RegisterRequest,
    SessionResponse, WrappedKey,
};
use sealsync_envelope::{AccountId, KeyId};
use sha2::Sha256;

use crate::app::{App, Registration, now_ms};
use crate::auth::{AuthDevice, auth_key_hash, hashes_match, new_token};
use crate::body::Json;
use crate::error::ApiError;
use crate::store::{NewAccount, NewDevice, Store};

/// Largest sealed device name.
pub const MAX_DEVICE_NAME_BYTES: usize = 512;

/// `"sealsync/v1/fake-salt-seed"`: label of the fake seeds for unknown names.
const LABEL_FAKE_SEED: &[u8] = b"sealsync/v1/fake-salt-seed";

fn canonical_name(name: &str) -> Result<AccountName, ApiError> {
    AccountName::parse(name).map_err(|e| ApiError::bad_request("invalid_account_name", e.to_string()))
}

fn check_device(device: &DeviceRegistration) -> Result<(), ApiError> {
    check_name(&device.encrypted_name)
}

/// A sealed device name must fit [`MAX_DEVICE_NAME_BYTES`].
pub(crate) fn check_name(encrypted_name: &[u8]) -> Result<(), ApiError> {
    if encrypted_name.len() > MAX_DEVICE_NAME_BYTES {
        return Err(ApiError::bad_request(
            "invalid_device_name",
            format!("the sealed device name exceeds {MAX_DEVICE_NAME_BYTES} bytes"),
        ));
    }
    Ok(())
}

fn new_device(device: DeviceRegistration) -> (NewDevice, String) {
    let (token, token_hash) = new_token();
    (NewDevice { id: device.id, encrypted_name: device.encrypted_name, token_hash }, token)
}

/// `POST /v1/accounts`: creates the account, its wrapped key and first device.
pub async fn register<S: Store>(
    State(app): State<App<S>>,
    Json(request): Json<RegisterRequest>,
) -> Result<(StatusCode, JsonResponse<SessionResponse>), ApiError> {
    if app.registration == Registration::Closed {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "registration_closed",
            "this server does not accept new accounts",
        ));
    }
    let version = accept_version(request.protocol_version, None).map_err(|_| {
        ApiError::bad_request(
            "unsupported_protocol_version",
            format!("protocol version {} is not supported by this server", request.protocol_version),
        )
    })?;
    let name = canonical_name(&request.account_name)?;
    WrappedDataKey::from_bytes(&request.wrapped_data_key)
        .map_err(|e| ApiError::bad_request("invalid_wrapped_key", e.to_string()))?;
    check_device(&request.device)?;

    let account_id = request.account_id;
    let (device, token) = new_device(request.device);
    let account = NewAccount {
        id: account_id,
        name: name.as_str().to_owned(),
        protocol_version: version.get(),
        salt_seed: request.salt_seed,
        auth_key_hash: auth_key_hash(account_id.as_bytes(), &request.auth_key),
        key_id: KeyId(request.key_id),
        wrapped_key: request.wrapped_data_key.clone(),
        device,
    };
    app.store.create_account(&account, now_ms()).await?;
    tracing::info!(account = %account_id, device = %account.device.id, "account registered");
    let keys = vec![WrappedKey { key_id: request.key_id, wrapped_data_key: request.wrapped_data_key }];
    let session =
        SessionResponse { account_id, device_id: account.device.id, token, protocol_version: version.get(), keys };
    Ok((StatusCode::CREATED, JsonResponse(session)))
}

/// `POST /v1/login/params`: the protocol version and salt seed to derive keys
/// with. Unknown names get a fake seed that is stable per name and server
/// (HMAC-SHA256 under a server secret), so the answer reveals nothing.
pub async fn login_params<S: Store>(
    State(app): State<App<S>>,
    Json(request): Json<LoginParamsRequest>,
) -> Result<JsonResponse<LoginParamsResponse>, ApiError> {
    let name = canonical_name(&request.account_name)?;
    let answer = match app.store.account_by_name(name.as_str()).await? {
        Some(account) => {
            LoginParamsResponse { protocol_version: account.protocol_version, salt_seed: account.salt_seed }
        }
        None => {
            let mut mac = Hmac::<Sha256>::new_from_slice(&app.fake_seed_key[..]).expect("HMAC takes any key length");
            mac.update(LABEL_FAKE_SEED);
            mac.update(name.as_str().as_bytes());
            let salt_seed = mac.finalize().into_bytes().into();
            LoginParamsResponse { protocol_version: ProtocolVersion::LATEST.get(), salt_seed }
        }
    };
    Ok(JsonResponse(answer))
}

/// `POST /v1/login`: checks the auth key and registers a new device, returning
/// its token and the account's wrapped keys. Unknown name and wrong key are
/// one answer, reached by the same work.
pub async fn login<S: Store>(
    State(app): State<App<S>>,
    Json(request): Json<LoginRequest>,
) -> Result<JsonResponse<SessionResponse>, ApiError> {
    let name = canonical_name(&request.account_name)?;
    check_device(&request.device)?;
    let account = app.store.account_by_name(name.as_str()).await?;
    let (account_id, expected) = match &account {
        Some(a) => (a.id, a.auth_key_hash),
        None => (AccountId::from_bytes([0; 16]), crate::auth::random_bytes()),
    };
    let presented = auth_key_hash(account_id.as_bytes(), &request.auth_key);
    let Some(account) = account.filter(|_| hashes_match(&presented, &expected)) else {
        return Err(ApiError::invalid_credentials());
    };
    let (device, token) = new_device(request.device);
    app.store.add_device(account.id, &device, now_ms()).await?;
    tracing::info!(account = %account.id, device = %device.id, "device signed in");
    let keys = app.store.account_keys(account.id).await?;
    Ok(JsonResponse(SessionResponse {
        account_id: account.id,
        device_id: device.id,
        token,
        protocol_version: account.protocol_version,
        keys: keys.into_iter().map(|k| WrappedKey { key_id: k.key_id.0, wrapped_data_key: k.wrapped_key }).collect(),
    }))
}

/// `DELETE /v1/account`: removes the account and everything of it, after
/// checking the auth key again (a device token alone cannot destroy data).
pub async fn delete<S: Store>(
    State(app): State<App<S>>,
    AuthDevice(device): AuthDevice,
    Json(request): Json<DeleteAccountRequest>,
) -> Result<StatusCode, ApiError> {
    let account_id = device.account_id;
    let stored = app.store.auth_key_hash(account_id).await?.ok_or_else(ApiError::invalid_token)?;
    if !hashes_match(&auth_key_hash(account_id.as_bytes(), &request.auth_key), &stored) {
        return Err(ApiError::invalid_credentials());
    }
    app.store.delete_account(account_id).await?;
    tracing::info!(account = %account_id, "account deleted");
    Ok(StatusCode::NO_CONTENT)
}
