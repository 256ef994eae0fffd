//! The key lifecycle (PROTOCOL.md §3.2–§3.5, §8.4): reading the account's
//! keys, unlocking the current one with the passphrase, changing the
//! passphrase, setting a recovery key, rotating the data key, and recovering
//! with the recovery key. Every change needs a proof (the auth key, or the
//! recovery key's auth key) checked in constant time here and again, as a
//! guard, in the store's one transaction.

use std::collections::BTreeSet;

use axum::Json as JsonResponse;
use axum::extract::State;
use axum::http::StatusCode;
use sealsync_envelope::dto::{
    KeyringEntry, KeysResponse, RecoverKeysResponse, RecoveryInfo, SessionResponse, UnlockResponse, WrappedKey,
};
use sealsync_envelope::{AccountId, KeyId};

use super::accounts::{new_device, session};
use crate::app::{App, now_ms};
use crate::auth::{AuthDevice, auth_key_hash, random_bytes, recovery_auth_hash};
use crate::body::Json;
use crate::error::ApiError;
use crate::guard::{AccountKey, SecretCheck};
use crate::store::{KeyChange, KeyState, NewPassphrase, Recovery, RecoveryState, Rotation, Store};
use crate::wire::{ChangePassphraseBody, RecoverBody, RecoverKeysBody, RotateBody, SetRecoveryBody, UnlockBody};

/// The keyring as the wire carries it.
pub(crate) fn keyring(entries: Vec<(KeyId, Vec<u8>)>) -> Vec<KeyringEntry> {
    entries.into_iter().map(|(id, sealed_key)| KeyringEntry { key_id: id.0, sealed_key }).collect()
}

/// The account's keys, or 401 if the account is gone.
async fn keys_of<S: Store>(app: &App<S>, account_id: AccountId) -> Result<KeyState, ApiError> {
    app.store.key_state(account_id).await?.ok_or_else(ApiError::invalid_token)
}

/// The stored auth-key hash, if `auth_key` matches it. The check draws on
/// the account's and the address's budgets of attempts, shared with login
/// (`guard::SecretCheck`), so a stolen device token is no passphrase oracle.
async fn check_auth_key<S: Store>(
    app: &App<S>,
    check: &SecretCheck,
    account_id: AccountId,
    auth_key: &[u8; 32],
) -> Result<[u8; 32], ApiError> {
    let stored = app.store.auth_key_hash(account_id).await?.ok_or_else(ApiError::invalid_token)?;
    let presented = auth_key_hash(account_id.as_bytes(), auth_key);
    check.verify(AccountKey::account(account_id), &presented, &stored).inspect_err(|_| {
        tracing::info!(account = %account_id, "auth key refused on a key change");
    })?;
    Ok(stored)
}

/// What a refused guarded change answers.
fn refused(change: KeyChange) -> Result<(), ApiError> {
    match change {
        KeyChange::Done => Ok(()),
        KeyChange::WrongProof => Err(ApiError::invalid_credentials()),
        KeyChange::NotCurrent => Err(ApiError::new(
            StatusCode::CONFLICT,
            "stale_key_id",
            "the key named is not the account's current key: another device rotated it; unlock and try again",
        )),
    }
}

fn not_current() -> ApiError {
    refused(KeyChange::NotCurrent).expect_err("refused")
}

/// `GET /v1/keys`: the current key's id, the keyring and the recovery key's
/// public part, for any device of the account (none of it opens without the
/// current data key).
pub async fn keys<S: Store>(
    State(app): State<App<S>>,
    AuthDevice(device): AuthDevice,
) -> Result<JsonResponse<KeysResponse>, ApiError> {
    let keys = keys_of(&app, device.account_id).await?;
    Ok(JsonResponse(KeysResponse {
        current_key_id: keys.current_key_id.0,
        created_at: u64::try_from(keys.created_at).unwrap_or(0),
        keyring: keyring(keys.keyring),
        recovery: keys.recovery.map(|r| RecoveryInfo {
            public_key: r.public_key,
            public_key_mac: r.public_key_mac,
            created_at: u64::try_from(r.created_at).unwrap_or(0),
        }),
    }))
}

/// `POST /v1/keys/unlock`: the current key wrapped under the passphrase, for
/// a device that has not got it (after a rotation). The wrapped key is an
/// offline target for the passphrase, so it needs the auth key, not just a
/// device token.
pub async fn unlock<S: Store>(
    State(app): State<App<S>>,
    check: SecretCheck,
    AuthDevice(device): AuthDevice,
    Json(body): Json<UnlockBody>,
) -> Result<JsonResponse<UnlockResponse>, ApiError> {
    let request = body.check()?;
    check_auth_key(&app, &check, device.account_id, &request.auth_key).await?;
    let keys = keys_of(&app, device.account_id).await?;
    Ok(JsonResponse(UnlockResponse {
        key: WrappedKey { key_id: keys.current_key_id.0, wrapped_data_key: keys.wrapped_key },
        keyring: keyring(keys.keyring),
    }))
}

/// `POST /v1/account/passphrase`: a new salt seed, auth key and wrapped
/// current key, on proof of the old auth key; optionally every other device
/// signed out in the same transaction.
pub async fn change_passphrase<S: Store>(
    State(app): State<App<S>>,
    check: SecretCheck,
    AuthDevice(device): AuthDevice,
    Json(body): Json<ChangePassphraseBody>,
) -> Result<StatusCode, ApiError> {
    let request = body.check()?;
    let account_id = device.account_id;
    let old = check_auth_key(&app, &check, account_id, &request.auth_key).await?;
    let has_recovery = keys_of(&app, account_id).await?.recovery.is_some();
    if has_recovery != request.recovery_public_key_mac.is_some() {
        return Err(ApiError::bad_request(
            "invalid_recovery",
            "the recovery public key's MAC under the new passphrase is needed exactly when the account has a recovery key",
        ));
    }
    let new = NewPassphrase {
        salt_seed: request.salt_seed,
        auth_key_hash: auth_key_hash(account_id.as_bytes(), &request.new_auth_key),
        key_id: KeyId(request.key.key_id),
        wrapped_key: request.key.wrapped_data_key,
        recovery_public_key_mac: request.recovery_public_key_mac,
    };
    let keep = request.sign_out_others.then_some(device.device_id);
    refused(app.store.change_passphrase(account_id, &old, &new, keep, now_ms()).await?)?;
    tracing::info!(account = %account_id, device = %device.device_id, signed_out_others = request.sign_out_others, "passphrase changed");
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /v1/account/recovery`: sets or replaces the recovery key (the old one
/// stops working at once), on proof of the auth key.
pub async fn set_recovery<S: Store>(
    State(app): State<App<S>>,
    check: SecretCheck,
    AuthDevice(device): AuthDevice,
    Json(body): Json<SetRecoveryBody>,
) -> Result<StatusCode, ApiError> {
    let request = body.check()?;
    let account_id = device.account_id;
    let proof = check_auth_key(&app, &check, account_id, &request.auth_key).await?;
    let r = request.recovery;
    let recovery = RecoveryState {
        auth_hash: recovery_auth_hash(account_id.as_bytes(), &r.recovery_auth),
        public_key: r.public_key,
        public_key_mac: r.public_key_mac,
        wrapped_key: r.wrapped_key,
        anchor: (KeyId(r.anchor_key_id), r.anchor),
        created_at: now_ms(),
    };
    refused(app.store.set_recovery(account_id, &proof, KeyId(request.key_id), &recovery).await?)?;
    tracing::info!(account = %account_id, device = %device.device_id, "recovery key set");
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/account/rotate`: a new current data key, on proof of the auth
/// key. The keyring must hold exactly every key the account has, so no key is
/// lost; if the account has a recovery key, the new key must be wrapped to it.
pub async fn rotate<S: Store>(
    State(app): State<App<S>>,
    check: SecretCheck,
    AuthDevice(device): AuthDevice,
    Json(body): Json<RotateBody>,
) -> Result<StatusCode, ApiError> {
    let request = body.check()?;
    let account_id = device.account_id;
    let proof = check_auth_key(&app, &check, account_id, &request.auth_key).await?;
    let keys = keys_of(&app, account_id).await?;
    if keys.current_key_id.0 != request.previous_key_id {
        return Err(not_current());
    }
    let held: BTreeSet<[u8; 16]> = keys.keyring.iter().map(|(id, _)| id.0).chain([keys.current_key_id.0]).collect();
    let sent: BTreeSet<[u8; 16]> = request.keyring.iter().map(|e| e.key_id).collect();
    if sent != held || sent.len() != request.keyring.len() || held.contains(&request.key.key_id) {
        return Err(ApiError::bad_request(
            "invalid_keyring",
            "the keyring must hold every key of the account once, and the new key must be new",
        ));
    }
    let wraps_to_ours = match (&keys.recovery, &request.recovery) {
        (Some(ours), Some(sent)) => ours.public_key == sent.public_key,
        (None, None) => true,
        _ => false,
    };
    if !wraps_to_ours {
        return Err(ApiError::bad_request(
            "invalid_recovery",
            "the new key must be wrapped to the account's recovery key exactly when it has one",
        ));
    }
    let rotation = Rotation {
        previous: KeyId(request.previous_key_id),
        key_id: KeyId(request.key.key_id),
        wrapped_key: request.key.wrapped_data_key,
        keyring: request.keyring.into_iter().map(|e| (KeyId(e.key_id), e.sealed_key)).collect(),
        recovery: request.recovery.map(|r| (r.public_key, r.wrapped_key)),
    };
    refused(app.store.rotate(account_id, &proof, &rotation, now_ms()).await?)?;
    tracing::info!(account = %account_id, device = %device.device_id, "data key rotated");
    Ok(StatusCode::NO_CONTENT)
}

/// The account and its stored recovery hash, if `recovery_auth` matches it.
/// An unknown name, an account without a recovery key and a wrong key are one
/// answer, reached by the same work.
async fn check_recovery<S: Store>(
    app: &App<S>,
    check: &SecretCheck,
    name: &str,
    recovery_auth: &[u8; 32],
) -> Result<(AccountId, u16, KeyState, [u8; 32]), ApiError> {
    let account = app.store.account_by_name(name).await?;
    let keys = match &account {
        Some(a) => app.store.key_state(a.id).await?,
        None => None,
    };
    let budget = match &account {
        Some(a) => AccountKey::account(a.id),
        None => AccountKey::unknown_name(name),
    };
    let (account_id, expected) = match (&account, keys.as_ref().and_then(|k| k.recovery.as_ref())) {
        (Some(a), Some(r)) => (a.id, r.auth_hash),
        _ => (AccountId::from_bytes([0; 16]), random_bytes()),
    };
    let presented = recovery_auth_hash(account_id.as_bytes(), recovery_auth);
    check.verify(budget, &presented, &expected)?;
    match (account, keys) {
        (Some(a), Some(keys)) if keys.recovery.is_some() => Ok((a.id, a.protocol_version, keys, expected)),
        _ => Err(ApiError::invalid_credentials()),
    }
}

/// `POST /v1/recover/keys`: the current key wrapped to the recovery key, and
/// the keyring, on proof of the recovery key.
pub async fn recover_keys<S: Store>(
    State(app): State<App<S>>,
    check: SecretCheck,
    Json(body): Json<RecoverKeysBody>,
) -> Result<JsonResponse<RecoverKeysResponse>, ApiError> {
    let (request, name) = body.check()?;
    let (account_id, protocol_version, keys, _) =
        check_recovery(&app, &check, name.as_str(), &request.recovery_auth).await?;
    let recovery = keys.recovery.expect("checked");
    Ok(JsonResponse(RecoverKeysResponse {
        account_id,
        protocol_version,
        key_id: keys.current_key_id.0,
        wrapped_key: recovery.wrapped_key,
        keyring: keyring(keys.keyring),
        anchor_key_id: recovery.anchor.0.0,
        anchor: recovery.anchor.1,
    }))
}

/// `POST /v1/recover`: a new passphrase, on proof of the recovery key, and a
/// new device with it, in one transaction. The recovery key stays valid.
pub async fn recover<S: Store>(
    State(app): State<App<S>>,
    check: SecretCheck,
    Json(body): Json<RecoverBody>,
) -> Result<(StatusCode, JsonResponse<SessionResponse>), ApiError> {
    let (request, name) = body.check()?;
    let (account_id, protocol_version, _, proof) =
        check_recovery(&app, &check, name.as_str(), &request.recovery_auth).await?;
    let (device, token) = new_device(request.device);
    let recovery = Recovery {
        auth_hash: proof,
        passphrase: NewPassphrase {
            salt_seed: request.salt_seed,
            auth_key_hash: auth_key_hash(account_id.as_bytes(), &request.auth_key),
            key_id: KeyId(request.key.key_id),
            wrapped_key: request.key.wrapped_data_key,
            recovery_public_key_mac: Some(request.recovery_public_key_mac),
        },
        device,
    };
    refused(app.store.recover(account_id, &recovery, now_ms()).await?)?;
    tracing::info!(account = %account_id, device = %recovery.device.id, "account recovered");
    let keys = keys_of(&app, account_id).await?;
    Ok((StatusCode::CREATED, JsonResponse(session(account_id, recovery.device.id, token, protocol_version, keys))))
}
