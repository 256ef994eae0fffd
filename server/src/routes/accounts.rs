//! Accounts: registration, login parameters, login (a new device) and deletion.

use axum::Json as JsonResponse;
use axum::extract::State;
use axum::http::StatusCode;
use hmac::{Hmac, KeyInit, Mac};
use sealsync_crypto::ProtocolVersion;
use sealsync_envelope::dto::{
    DeviceRegistration, LoginParamsRequest, LoginParamsResponse, SessionResponse, WrappedKey,
};
use sealsync_envelope::{AccountId, KeyId};
use sha2::Sha256;

use crate::app::{App, Registration, now_ms};
use crate::auth::{AuthDevice, auth_key_hash, new_token, recovery_auth_hash};
use crate::body::Json;
use crate::error::ApiError;
use crate::guard::{AccountKey, SecretCheck};
use crate::store::{KeyState, NewAccount, NewDevice, RecoveryState, Store};
use crate::wire::{DeleteAccountBody, LoginBody, RegisterBody, account_name};

/// `"sealsync/v1/fake-salt-seed"`: label of the fake seeds for unknown names.
const LABEL_FAKE_SEED: &[u8] = b"sealsync/v1/fake-salt-seed";

pub(crate) fn new_device(device: DeviceRegistration) -> (NewDevice, String) {
    let (token, token_hash) = new_token();
    (NewDevice { id: device.id, encrypted_name: device.encrypted_name, token_hash }, token)
}

/// `POST /v1/accounts`: creates the account, its wrapped key and first device.
/// Every field is checked (`wire::RegisterBody::check`) before anything is stored.
pub async fn register<S: Store>(
    State(app): State<App<S>>,
    Json(body): Json<RegisterBody>,
) -> Result<(StatusCode, JsonResponse<SessionResponse>), ApiError> {
    if app.registration_now().await? == Registration::Closed {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "registration_closed",
            "this server does not accept new accounts",
        ));
    }
    let (request, name, version) = body.check()?;

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
        recovery: request.recovery.as_ref().map(|r| RecoveryState {
            auth_hash: recovery_auth_hash(account_id.as_bytes(), &r.recovery_auth),
            public_key: r.public_key,
            public_key_mac: r.public_key_mac,
            wrapped_key: r.wrapped_key.clone(),
            anchor: (KeyId(r.anchor_key_id), r.anchor),
            created_at: 0,
        }),
    };
    app.store.create_account(&account, now_ms()).await?;
    tracing::info!(account = %account_id, device = %account.device.id, "account registered");
    let key = WrappedKey { key_id: request.key_id, wrapped_data_key: request.wrapped_data_key };
    let session = SessionResponse {
        account_id,
        device_id: account.device.id,
        token,
        protocol_version: version.get(),
        key,
        keyring: Vec::new(),
    };
    Ok((StatusCode::CREATED, JsonResponse(session)))
}

/// A session: the new device's token and the account's keys.
pub(crate) fn session(
    account_id: AccountId,
    device_id: sealsync_envelope::DeviceId,
    token: String,
    protocol_version: u16,
    keys: KeyState,
) -> SessionResponse {
    SessionResponse {
        account_id,
        device_id,
        token,
        protocol_version,
        key: WrappedKey { key_id: keys.current_key_id.0, wrapped_data_key: keys.wrapped_key },
        keyring: super::keys::keyring(keys.keyring),
    }
}

/// `POST /v1/login/params`: the protocol version and salt seed to derive keys
/// with. Unknown names get a fake seed that is stable per name and server
/// (HMAC-SHA256 under a server secret), so the answer reveals nothing.
pub async fn login_params<S: Store>(
    State(app): State<App<S>>,
    Json(request): Json<LoginParamsRequest>,
) -> Result<JsonResponse<LoginParamsResponse>, ApiError> {
    let name = account_name(&request.account_name)?;
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
/// one answer, reached by the same work, and draw on a budget of attempts
/// each (`guard::SecretCheck`).
pub async fn login<S: Store>(
    State(app): State<App<S>>,
    check: SecretCheck,
    Json(body): Json<LoginBody>,
) -> Result<JsonResponse<SessionResponse>, ApiError> {
    let (request, name) = body.check()?;
    let account = app.store.account_by_name(name.as_str()).await?;
    let unknown = AccountKey::unknown_name(name.as_str());
    let (account_id, expected, budget) = match &account {
        Some(a) => (a.id, a.auth_key_hash, AccountKey::account(a.id)),
        None => (AccountId::from_bytes([0; 16]), crate::auth::random_bytes(), unknown),
    };
    let presented = auth_key_hash(account_id.as_bytes(), &request.auth_key);
    check.verify(budget, &presented, &expected)?;
    let Some(account) = account else {
        return Err(ApiError::invalid_credentials());
    };
    let (device, token) = new_device(request.device);
    app.store.add_device(account.id, &device, now_ms()).await?;
    tracing::info!(account = %account.id, device = %device.id, "device signed in");
    let keys = app.store.key_state(account.id).await?.ok_or_else(ApiError::invalid_credentials)?;
    Ok(JsonResponse(session(account.id, device.id, token, account.protocol_version, keys)))
}

/// `DELETE /v1/account`: removes the account and everything of it, after
/// checking the auth key again (a device token alone cannot destroy data). The
/// check draws on the same budgets as login (`guard::SecretCheck`), so a
/// stolen token is not a passphrase oracle.
pub async fn delete<S: Store>(
    State(app): State<App<S>>,
    check: SecretCheck,
    AuthDevice(device): AuthDevice,
    Json(body): Json<DeleteAccountBody>,
) -> Result<StatusCode, ApiError> {
    let request = body.check()?;
    let account_id = device.account_id;
    let stored = app.store.auth_key_hash(account_id).await?.ok_or_else(ApiError::invalid_token)?;
    let presented = auth_key_hash(account_id.as_bytes(), &request.auth_key);
    check.verify(AccountKey::account(account_id), &presented, &stored)?;
    app.store.delete_account(account_id).await?;
    tracing::info!(account = %account_id, "account deleted");
    Ok(StatusCode::NO_CONTENT)
}
