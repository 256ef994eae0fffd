//! The key lifecycle on this device (PROTOCOL.md §3.2–§3.5, §8.4): joining
//! with the account's keyring, the recovery key, passphrase change, recovery,
//! data-key rotation and unlocking a rotated key.
//!
//! Every flow derives what it needs from a secret the user types (the
//! passphrase or the recovery key), uses it, and drops it: nothing derived
//! from either ever reaches `keys.json`.

use sealsync_crypto::recovery::{
    anchor, public_key_mac, unwrap_with_recovery, verify_anchor, verify_public_key, wrap_to_recovery,
};
use sealsync_crypto::{
    AccountName, DataKey, KeyId, Passphrase, ProtocolVersion, RecoveryPublicKey, RecoverySecret, RecoveryWrapped,
    RootKey, SaltSeed, WrapContext, WrapKey, WrappedDataKey, accept_version, derive_root_key, unwrap_data_key,
    wrap_data_key,
};
use sealsync_envelope::dto::{
    ChangePassphraseRequest, DeleteAccountRequest, DeviceRegistration, RecoverKeysRequest, RecoverRequest,
    RecoverySetup, RotateRequest, RotatedRecovery, SessionResponse, SetRecoveryRequest, UnlockRequest, WrappedKey,
};
use sealsync_envelope::{AccountId, Cursor, DeviceId, UnixMillis};
use serde::Serialize;
use zeroize::Zeroizing;

use super::{Joining, joining, seal_device_name, session};
use crate::api::{Api, Http};
use crate::error::ClientError;
use crate::keyfile::{self, KeyStatus, Keys};
use crate::keyring::Keyring;
use crate::store::Store;
use crate::store::sync_state::{self, SyncState};

/// A recovery key as shown to the user once: `XXXX-XXXX-…`, 32 characters.
/// Never printed by `Debug`, never stored.
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryKey(pub(crate) Zeroizing<String>);

impl RecoveryKey {
    /// The text to show.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for RecoveryKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryKey([REDACTED])")
    }
}

/// Serialized as its text: only the CLI's `--json` output, which shows it once.
impl Serialize for RecoveryKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// How to join an account with its recovery key.
#[derive(Debug)]
pub struct RecoverOptions {
    /// `https://…` (or `http://` to this machine).
    pub server_url: String,
    /// Account name.
    pub account_name: String,
    /// The recovery key as typed (checked locally before any request).
    pub recovery_key: RecoverySecret,
    /// The new passphrase.
    pub new_passphrase: Passphrase,
    /// Allow `http://` to another machine.
    pub allow_insecure_http: bool,
    /// How this device is listed to the account's other devices.
    pub device_name: String,
}

/// What `sync status` shows of the keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    /// The id of the data key this device seals with (hex).
    pub key_id: String,
    /// Unix ms at which it was made, if known.
    pub key_created_at: Option<u64>,
    /// How many data keys this device holds (the current one and older ones).
    pub keys_held: usize,
    /// Whether the account has a recovery key, if known.
    pub recovery_key: Option<bool>,
    /// Whether another device rotated the key and this one must `sync unlock`.
    pub needs_unlock: bool,
}

impl KeyInfo {
    /// From the key file.
    pub(crate) fn of(keys: &Keys) -> Self {
        Self {
            key_id: keys.keyring.current_id().to_string(),
            key_created_at: keys.status.key_created_at,
            keys_held: keys.keyring.keys().count(),
            recovery_key: keys.status.recovery_key,
            needs_unlock: keys.status.needs_unlock,
        }
    }
}

/// The recovery key's setup for `data_key` (PROTOCOL.md §3.4).
/// The recovery key's setup for `data_key` (PROTOCOL.md §3.4): its public
/// key with a MAC under the passphrase's `root`, the data key wrapped to it,
/// and the anchor naming that data key.
pub(crate) fn recovery_setup(
    secret: &RecoverySecret,
    data_key: &DataKey,
    account_id: AccountId,
    root: &RootKey,
) -> Result<RecoverySetup, ClientError> {
    let public = secret.public_key();
    Ok(RecoverySetup {
        recovery_auth: *secret.auth().expose_secret(),
        public_key: public.0,
        public_key_mac: public_key_mac(root, account_id.as_bytes(), &public),
        wrapped_key: wrap_to_recovery(&public, data_key, account_id.as_bytes())?.as_bytes().to_vec(),
        anchor_key_id: data_key.key_id().0,
        anchor: anchor(secret, account_id.as_bytes(), data_key.key_id()),
    })
}

/// The keyring a session carries: the current key unwrapped with the
/// passphrase's wrap key, and every older key opened under it.
pub(crate) fn unwrap_session(
    version: ProtocolVersion,
    wrap_key: &WrapKey,
    session: &SessionResponse,
) -> Result<Keyring, ClientError> {
    let current = unwrap(version, wrap_key, session.account_id, &session.key)?;
    Keyring::open(current, &session.keyring, session.account_id)
}

fn unwrap(
    version: ProtocolVersion,
    wrap_key: &WrapKey,
    account_id: AccountId,
    key: &WrappedKey,
) -> Result<DataKey, ClientError> {
    let ctx = WrapContext::new(version, *account_id.as_bytes(), KeyId(key.key_id));
    Ok(unwrap_data_key(wrap_key, &WrappedDataKey::from_bytes(&key.wrapped_data_key)?, &ctx)?)
}

fn wrap(
    version: ProtocolVersion,
    wrap_key: &WrapKey,
    account_id: AccountId,
    key: &DataKey,
) -> Result<WrappedKey, ClientError> {
    let ctx = WrapContext::new(version, *account_id.as_bytes(), key.key_id());
    Ok(WrappedKey { key_id: key.key_id().0, wrapped_data_key: wrap_data_key(wrap_key, key, &ctx)?.as_bytes().to_vec() })
}

/// Saves the keys and turns sync on locally (every local record is queued
/// under the new device); undoes the key file if that fails.
pub(crate) fn finish_join(
    store: &mut Store,
    dir: &std::path::Path,
    server_url: &str,
    name: &AccountName,
    session: SessionResponse,
    keyring: Keyring,
    status: KeyStatus,
) -> Result<SyncState, ClientError> {
    let keys = Keys {
        account_id: session.account_id,
        device_id: session.device_id,
        token: Zeroizing::new(session.token),
        keyring,
        status,
    };
    save_and_enable(store, dir, server_url, name, keys, session.protocol_version)
}

/// Saves `keys` and turns sync on locally under them.
pub(crate) fn save_and_enable(
    store: &mut Store,
    dir: &std::path::Path,
    server_url: &str,
    name: &AccountName,
    keys: Keys,
    protocol_version: u16,
) -> Result<SyncState, ClientError> {
    keyfile::save(dir, &keys)?;
    let state = SyncState {
        server_url: server_url.to_owned(),
        account_name: name.as_str().to_owned(),
        account_id: keys.account_id,
        device_id: keys.device_id,
        protocol_version,
        cursor: Cursor::START,
        last_sync_at: None,
        compromised_at: None,
        signed_out_at: None,
        last_partial_at: None,
    };
    if let Err(e) = store.enable_sync(&state) {
        let _ = keyfile::remove(dir);
        return Err(e);
    }
    Ok(state)
}

/// The protocol version (checked against the pin) and the root key of
/// `passphrase` for the account this device syncs with.
async fn passphrase_root(
    store: &mut Store,
    api: &Api,
    state: &SyncState,
    passphrase: &Passphrase,
) -> Result<(ProtocolVersion, AccountName, RootKey), ClientError> {
    let name = AccountName::parse(&state.account_name)?;
    let pinned =
        store.pinned_version(&state.server_url, name.as_str())?.map(|v| accept_version(v, None)).transpose()?;
    let params = api.login_params(name.as_str()).await?;
    let version = accept_version(params.protocol_version, pinned)?;
    let root = derive_root_key(version, passphrase, &SaltSeed(params.salt_seed), &name)?;
    Ok((version, name, root))
}

/// Proves the passphrase to the server before a key change reads anything
/// keyed by it: so a wrong passphrase is told as such, and a MAC that fails
/// afterwards can only mean the server altered what it relays.
async fn prove_passphrase(api: &Api, keys: &Keys, root: &RootKey) -> Result<(), ClientError> {
    let request = UnlockRequest { auth_key: *root.auth_key().expose_secret() };
    api.unlock(&keys.token, &request).await.map(drop).map_err(|e| key_change_error(e, ClientError::WrongPassphrase))
}

/// The server's answers to a key change, as the user's errors.
fn key_change_error(e: ClientError, wrong: ClientError) -> ClientError {
    match e {
        ClientError::WrongPassphrase => wrong,
        ClientError::Server { ref code, .. } if code == "invalid_credentials" => wrong,
        ClientError::Server { ref code, .. } if code == "stale_key_id" => ClientError::KeysChanged,
        other => other,
    }
}

/// Changes the passphrase: new salt seed, auth key and wrapped current key,
/// swapped by the server on proof of the old one. Other devices keep their
/// keys and tokens and notice nothing, unless `sign_out_others` revokes them
/// in the same step.
pub(crate) async fn change_passphrase(
    store: &mut Store,
    dir: &std::path::Path,
    http: &Http,
    old: &Passphrase,
    new: &Passphrase,
    sign_out_others: bool,
) -> Result<(), ClientError> {
    let (state, keys, api) = session(store, dir, http)?;
    crate::strength::check_new_passphrase(new, &[&state.account_name, &state.server_url])?;
    let (version, name, old_root) = passphrase_root(store, &api, &state, old).await?;
    let salt_seed = SaltSeed(sealsync_crypto::primitives::random()?);
    let new_root = derive_root_key(version, new, &salt_seed, &name)?;
    // The recovery public key's MAC is keyed by the passphrase: check it
    // under the old one (a server cannot slip in a key of its own here),
    // then make it again under the new one.
    let account = keys.account_id;
    prove_passphrase(&api, &keys, &old_root).await?;
    let recovery_public_key_mac = match api.keys(&keys.token).await?.recovery {
        Some(r) => {
            let public = RecoveryPublicKey(r.public_key);
            verify_public_key(&old_root, account.as_bytes(), &public, &r.public_key_mac)?;
            Some(public_key_mac(&new_root, account.as_bytes(), &public))
        }
        None => None,
    };
    let request = ChangePassphraseRequest {
        auth_key: *old_root.auth_key().expose_secret(),
        salt_seed: salt_seed.0,
        new_auth_key: *new_root.auth_key().expose_secret(),
        key: wrap(version, &new_root.wrap_key(), account, keys.keyring.current())?,
        sign_out_others,
        recovery_public_key_mac,
    };
    api.change_passphrase(&keys.token, &request).await.map_err(|e| {
        match key_change_error(e, ClientError::WrongPassphrase) {
            ClientError::KeysChanged => mark_needs_unlock(dir),
            other => other,
        }
    })
}

/// Makes a new recovery key (the old one stops working) and returns it, to
/// be shown once.
pub(crate) async fn new_recovery_key(
    store: &mut Store,
    dir: &std::path::Path,
    http: &Http,
    passphrase: &Passphrase,
) -> Result<RecoveryKey, ClientError> {
    let (state, mut keys, api) = session(store, dir, http)?;
    let (_, _, root) = passphrase_root(store, &api, &state, passphrase).await?;
    let secret = RecoverySecret::generate()?;
    let request = SetRecoveryRequest {
        auth_key: *root.auth_key().expose_secret(),
        key_id: keys.keyring.current_id().0,
        recovery: recovery_setup(&secret, keys.keyring.current(), keys.account_id, &root)?,
    };
    api.set_recovery(&keys.token, &request).await.map_err(|e| {
        match key_change_error(e, ClientError::WrongPassphrase) {
            ClientError::KeysChanged => mark_needs_unlock(dir),
            other => other,
        }
    })?;
    // The server holds the new key now: show it even if the status line of
    // the key file cannot be saved.
    keys.status.recovery_key = Some(true);
    let _ = keyfile::save(dir, &keys);
    Ok(RecoveryKey(secret.to_code()))
}

/// Joins an account with its recovery key and sets a new passphrase: the
/// server hands out the current key wrapped to the recovery key and the
/// keyring; this device opens them, wraps the current key under the new
/// passphrase, and registers itself in the same request.
pub(crate) async fn recover(
    store: &mut Store,
    dir: &std::path::Path,
    http: &Http,
    options: RecoverOptions,
) -> Result<SyncState, ClientError> {
    crate::strength::check_new_passphrase(&options.new_passphrase, &[&options.account_name, &options.server_url])?;
    let Joining { url, name, api, pinned } = joining(
        store,
        http,
        &options.server_url,
        options.allow_insecure_http,
        &options.account_name,
        &options.device_name,
    )?;
    let secret = &options.recovery_key;
    let recovery_auth = *secret.auth().expose_secret();

    let request = RecoverKeysRequest { account_name: name.as_str().to_owned(), recovery_auth };
    let found = api.recover_keys(&request).await.map_err(|e| key_change_error(e, ClientError::WrongRecoveryKey))?;
    let version = accept_version(found.protocol_version, pinned)?;
    let wrapped = RecoveryWrapped::from_bytes(&found.wrapped_key)?;
    let current = unwrap_with_recovery(secret, &wrapped, found.account_id.as_bytes(), KeyId(found.key_id))
        .map_err(|_| ClientError::WrongRecoveryKey)?;
    let keyring = Keyring::open(current, &found.keyring, found.account_id)?;
    // Anyone can wrap a key to the recovery public key: accept the one handed
    // out only if the key anchored with the recovery secret is reachable
    // from it (PROTOCOL.md §3.4), so a server cannot plant a key of its own.
    let anchored = KeyId(found.anchor_key_id);
    verify_anchor(secret, found.account_id.as_bytes(), anchored, &found.anchor)?;
    if !keyring.holds(anchored) {
        return Err(sealsync_crypto::Error::RecoveryKeyNotAuthentic.into());
    }

    let salt_seed = SaltSeed(sealsync_crypto::primitives::random()?);
    let root = derive_root_key(version, &options.new_passphrase, &salt_seed, &name)?;
    let device_id = DeviceId::random();
    let request = RecoverRequest {
        account_name: name.as_str().to_owned(),
        recovery_auth,
        salt_seed: salt_seed.0,
        auth_key: *root.auth_key().expose_secret(),
        key: wrap(version, &root.wrap_key(), found.account_id, keyring.current())?,
        recovery_public_key_mac: public_key_mac(&root, found.account_id.as_bytes(), &secret.public_key()),
        device: DeviceRegistration {
            id: device_id,
            encrypted_name: seal_device_name(keyring.current(), device_id, &options.device_name)?,
        },
    };
    let session = api.recover(&request).await.map_err(|e| key_change_error(e, ClientError::WrongRecoveryKey))?;
    if let Err(e) = super::check_session(&session, Some(found.account_id), device_id, version) {
        // The server added a device for this answer: take it out again.
        let _ = api.revoke_once(&session.token, session.device_id).await;
        return Err(e);
    }
    let status = KeyStatus { key_created_at: None, recovery_key: Some(true), needs_unlock: false };
    finish_join(store, dir, url.as_str(), &name, session, keyring, status)
}

/// Rotates the data key: a new key, current from now on; every older key
/// sealed under it; the new key wrapped under the passphrase and, if the
/// account has one, to the recovery key (whose public key is checked against
/// its MAC first). A device holding only older keys opens nothing sealed
/// after this.
pub(crate) async fn rotate_key(
    store: &mut Store,
    dir: &std::path::Path,
    http: &Http,
    passphrase: &Passphrase,
) -> Result<KeyInfo, ClientError> {
    let (state, mut keys, api) = session(store, dir, http)?;
    let (version, _, root) = passphrase_root(store, &api, &state, passphrase).await?;
    prove_passphrase(&api, &keys, &root).await?;
    let server = api.keys(&keys.token).await?;
    let current = KeyId(server.current_key_id);
    if current != keys.keyring.current_id() || server.keyring.iter().any(|e| !keys.keyring.holds(KeyId(e.key_id))) {
        return Err(mark_needs_unlock(dir));
    }
    let new = DataKey::generate()?;
    let account_id = keys.account_id;
    let recovery = match &server.recovery {
        Some(r) => {
            let public = RecoveryPublicKey(r.public_key);
            verify_public_key(&root, account_id.as_bytes(), &public, &r.public_key_mac)?;
            Some(RotatedRecovery {
                wrapped_key: wrap_to_recovery(&public, &new, account_id.as_bytes())?.as_bytes().to_vec(),
                public_key: public.0,
            })
        }
        None => None,
    };
    let request = RotateRequest {
        auth_key: *root.auth_key().expose_secret(),
        previous_key_id: current.0,
        key: wrap(version, &root.wrap_key(), account_id, &new)?,
        keyring: keys.keyring.sealed_under(&new, account_id)?,
        recovery,
    };
    api.rotate(&keys.token, &request).await.map_err(|e| key_change_error(e, ClientError::WrongPassphrase))?;
    keys.keyring.rotate_to(new);
    keys.status = KeyStatus {
        key_created_at: Some(UnixMillis::now().0),
        recovery_key: Some(server.recovery.is_some()),
        needs_unlock: false,
    };
    // Queued changes were sealed under the old key: seal them again, before
    // the new key is saved (if the save fails, `sync unlock` fetches it and
    // requeues again; the other order could leave them stuck).
    store.transaction(sync_state::requeue_all)?;
    keyfile::save(dir, &keys)?;
    Ok(KeyInfo::of(&keys))
}

/// Fetches the current key with the passphrase after another device rotated
/// it, and the keyring with it.
pub(crate) async fn unlock(
    store: &mut Store,
    dir: &std::path::Path,
    http: &Http,
    passphrase: &Passphrase,
) -> Result<KeyInfo, ClientError> {
    let (state, mut keys, api) = session(store, dir, http)?;
    let (version, _, root) = passphrase_root(store, &api, &state, passphrase).await?;
    let request = UnlockRequest { auth_key: *root.auth_key().expose_secret() };
    let answer =
        api.unlock(&keys.token, &request).await.map_err(|e| key_change_error(e, ClientError::WrongPassphrase))?;
    let current = unwrap(version, &root.wrap_key(), keys.account_id, &answer.key)?;
    // A server must not roll the device back to a key it already holds as
    // an older one (whoever stole that key would read what it seals next).
    if keys.keyring.holds(current.key_id()) && current.key_id() != keys.keyring.current_id() {
        return Err(sealsync_crypto::Error::RecoveryKeyNotAuthentic.into());
    }
    let opened = Keyring::open(current, &answer.keyring, keys.account_id)?;
    keys.keyring.merge_newer(opened);
    let server = api.keys(&keys.token).await?;
    keys.status = KeyStatus {
        key_created_at: Some(server.created_at),
        recovery_key: Some(server.recovery.is_some()),
        needs_unlock: false,
    };
    // Whatever was queued is sealed again under the current key: after an
    // interrupted rotation or unlock, this is what frees it.
    store.transaction(sync_state::requeue_all)?;
    keyfile::save(dir, &keys)?;
    Ok(KeyInfo::of(&keys))
}

/// Deletes the account on the server, on proof of the passphrase (the
/// server checks its auth key, as for every key change), then turns sync
/// off here. Every record stays on this device. An account already gone
/// (deleted from another device) is turned off here just the same.
pub(crate) async fn delete_account(
    store: &mut Store,
    dir: &std::path::Path,
    http: &Http,
    passphrase: &Passphrase,
) -> Result<(), ClientError> {
    let (state, keys, api) = session(store, dir, http)?;
    let (_, _, root) = passphrase_root(store, &api, &state, passphrase).await?;
    let request = DeleteAccountRequest { auth_key: *root.auth_key().expose_secret() };
    match api.delete_account(&keys.token, &request).await {
        Ok(()) | Err(ClientError::AccountDeleted) => {}
        Err(e) => return Err(key_change_error(e, ClientError::WrongPassphrase)),
    }
    store.disable_sync()?;
    keyfile::remove(dir)
}

/// Records that another device rotated the key and this one must unlock,
/// and returns the error that says so.
pub(crate) fn mark_needs_unlock(dir: &std::path::Path) -> ClientError {
    if let Ok(Some(mut keys)) = keyfile::load(dir) {
        keys.status.needs_unlock = true;
        let _ = keyfile::save(dir, &keys);
    }
    ClientError::NeedsUnlock
}
