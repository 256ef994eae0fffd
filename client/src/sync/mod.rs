//! The sync engine: turning sync on (new account, or joining one), pushing
//! the outbox, pulling and merging pages, and turning sync off.
//!
//! - [`push`]: the outbox, two batches in flight; sealed bytes are re-sent
//!   exactly, so a repeated push is acknowledged as a duplicate;
//! - [`pull`]: pages opened on workers while earlier ones merge; pages and
//!   the cursor commit together, so an interrupted sync resumes where it
//!   stopped, and an envelope that cannot be applied is quarantined while the
//!   rest applies.

use sealsync_crypto::{
    AccountName, DataKey, Passphrase, ProtocolVersion, RecoverySecret, SaltSeed, WrapContext, accept_version,
    derive_root_key, wrap_data_key,
};
use std::sync::Arc;

use sealsync_envelope::dto::{
    DeviceRegistration, LoginRequest, MAX_DEVICE_NAME_BYTES, RegisterRequest, SessionResponse,
};
use sealsync_envelope::{AccountId, Cursor, DeviceId};
use serde::Serialize;

use crate::api::{Api, Http, ServerUrl};
use crate::clock::WallClock;
use crate::domain::ValidationError;
use crate::error::ClientError;
use crate::keyfile::{self, KeyStatus, Keys};
use crate::keyring::{Keyring, Sealers};
use crate::store::Store;
use crate::store::sync_state::{self, SyncState};

pub mod controller;
#[doc(hidden)]
pub mod fault;
pub mod keys;
pub mod link;
pub mod lock;
mod pull;
mod push;
pub mod restore;

pub(crate) use pull::PULL_PAGE;

pub use keys::{KeyInfo, RecoverOptions, RecoveryKey};
pub use link::{LinkOptions, ShownCode};

/// How to turn sync on.
#[derive(Debug)]
pub struct EnableOptions {
    /// `https://…` (or `http://` to this machine).
    pub server_url: String,
    /// Account name.
    pub account_name: String,
    /// The passphrase.
    pub passphrase: Passphrase,
    /// Create the account rather than join it.
    pub create: bool,
    /// Allow `http://` to another machine.
    pub allow_insecure_http: bool,
    /// How this device is listed to the account's other devices.
    pub device_name: String,
    /// With a new account: make a recovery key (PROTOCOL.md §3.4).
    pub recovery_key: bool,
}

/// Sync, turned on: the settings, and a new account's recovery key.
#[derive(Debug, Serialize)]
pub struct Enabled {
    /// The settings.
    #[serde(flatten)]
    pub state: SyncState,
    /// The recovery key of a new account: show it once, never store it.
    pub recovery_key: Option<RecoveryKey>,
}

/// Progress of a sync, for a bar or a UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Progress {
    /// Uploading: `done` of `total` local changes.
    Pushing {
        /// Acknowledged so far.
        done: u64,
        /// Queued at the start.
        total: u64,
    },
    /// Downloading: envelopes received so far.
    Pulling {
        /// Received so far.
        pulled: u64,
    },
}

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncSummary {
    /// Local changes the server acknowledged.
    pub pushed: u64,
    /// Local changes the server refused (kept in the outbox).
    pub rejected: u64,
    /// Why, by reason: what `rejected` counts (`sync now` then exits non-zero).
    pub refused: Vec<crate::store::sync_state::Refusal>,
    /// Envelopes received.
    pub pulled: u64,
    /// Received versions that won the merge.
    pub applied: u64,
    /// Received envelopes quarantined (not applied).
    pub quarantined: u64,
    /// Received envelopes deferred (stamped ahead of this clock; retried later).
    pub deferred: u64,
    /// Concurrent edits of one field group that lost a merge and went to the
    /// conflict log (`Journal::conflicts`).
    pub conflicts: u64,
    /// The cursor after the sync.
    pub cursor: u64,
    /// The server was found restored from an older backup and this sync
    /// healed it (PROTOCOL.md §8.2, "Restored servers").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restored: Option<restore::Restored>,
}

/// A device name must seal into the server's 512 bytes: at most
/// [`MAX_DEVICE_NAME_BYTES`] (472) bytes of UTF-8 (PROTOCOL.md §8.1).
pub(crate) fn check_device_name(name: &str) -> Result<(), ClientError> {
    if name.len() > MAX_DEVICE_NAME_BYTES {
        return Err(ValidationError::new(
            "device name",
            format!("is {} bytes of UTF-8, more than {MAX_DEVICE_NAME_BYTES}", name.len()),
        )
        .into());
    }
    Ok(())
}

/// `nonce || XChaCha20-Poly1305[record_key](nonce, "sealsync/v1/device-name" || device_id, name)`.
pub(crate) fn seal_device_name(data_key: &DataKey, device: DeviceId, name: &str) -> Result<Vec<u8>, ClientError> {
    check_device_name(name)?;
    let aad = [b"sealsync/v1/device-name".as_slice(), device.as_bytes()].concat();
    let mut buffer = name.as_bytes().to_vec();
    let nonce = data_key.record_key().seal(&aad, &mut buffer)?;
    Ok([&nonce[..], &buffer].concat())
}

/// Opens a sealed device name; `None` if it does not open.
pub(crate) fn open_device_name(data_key: &DataKey, device: DeviceId, sealed: &[u8]) -> Option<String> {
    let (nonce, ciphertext) = sealed.split_first_chunk::<{ sealsync_crypto::NONCE_LEN }>()?;
    let aad = [b"sealsync/v1/device-name".as_slice(), device.as_bytes()].concat();
    let mut buffer = ciphertext.to_vec();
    data_key.record_key().open(nonce, &aad, &mut buffer).ok()?;
    String::from_utf8(buffer).ok()
}

/// What every way of joining an account starts from, checked before any request.
pub(crate) struct Joining {
    pub url: ServerUrl,
    pub name: AccountName,
    pub api: Api,
    /// The highest protocol version used with this account on this server.
    pub pinned: Option<sealsync_crypto::ProtocolVersion>,
}

/// Checks that sync is off, the URL, the account name and the device name
/// (it is sealed only after a request), and reads the pinned version.
pub(crate) fn joining(
    store: &Store,
    http: &Http,
    server_url: &str,
    allow_insecure_http: bool,
    account_name: &str,
    device_name: &str,
) -> Result<Joining, ClientError> {
    if let Some(state) = store.sync_state()? {
        return Err(ClientError::SyncAlreadyEnabled { server: state.server_url, account: state.account_name });
    }
    let url = ServerUrl::parse(server_url, allow_insecure_http)?;
    let name = AccountName::parse(account_name)?;
    check_device_name(device_name)?;
    let api = Api::new(url.clone(), http);
    let pinned = store.pinned_version(url.as_str(), name.as_str())?.map(|v| accept_version(v, None)).transpose()?;
    Ok(Joining { url, name, api, pinned })
}

/// Checks a session answer against what this device sent or derived, before
/// anything from it is used or saved (PROTOCOL.md §12): the server must not
/// choose the device's id, move it to another account, or name another
/// protocol version than the one the keys were derived under. `account_id`
/// is `None` at login, where the device does not know it yet: there the
/// wrapped key's AAD binds it, so a wrong one fails to unwrap.
pub(crate) fn check_session(
    session: &SessionResponse,
    account_id: Option<AccountId>,
    device_id: DeviceId,
    version: ProtocolVersion,
) -> Result<(), ClientError> {
    if account_id.is_some_and(|sent| sent != session.account_id) {
        return Err(ClientError::SessionMismatch("account_id"));
    }
    if session.device_id != device_id {
        return Err(ClientError::SessionMismatch("device_id"));
    }
    if session.protocol_version != version.get() {
        return Err(ClientError::SessionMismatch("protocol_version"));
    }
    Ok(())
}

/// Turns sync on. The version check comes before anything is derived or sent;
/// a wrong passphrase fails at login, before any record is queued or uploaded.
/// A new account gets a recovery key unless the options decline one; it is
/// returned once, to be shown once.
pub(crate) async fn enable(
    store: &mut Store,
    dir: &std::path::Path,
    http: &Http,
    options: EnableOptions,
) -> Result<Enabled, ClientError> {
    if options.create {
        crate::strength::check_new_passphrase(&options.passphrase, &[&options.account_name, &options.server_url])?;
    }
    let Joining { url, name, api, pinned } = joining(
        store,
        http,
        &options.server_url,
        options.allow_insecure_http,
        &options.account_name,
        &options.device_name,
    )?;
    let device_id = DeviceId::random();

    let (session, keyring, recovery_key) = if options.create {
        let meta = api.meta().await?;
        if !meta.registration_open {
            return Err(ClientError::RegistrationClosed);
        }
        // The newest version acceptable here; if none is, the newest offered
        // (so that the refusal names what the server offered).
        let offered = meta.protocol_versions.iter().copied().filter(|&v| accept_version(v, pinned).is_ok()).max();
        let version = accept_version(offered.or(meta.protocol_versions.iter().copied().max()).unwrap_or(0), pinned)?;
        let salt_seed = SaltSeed(sealsync_crypto::primitives::random()?);
        let root = derive_root_key(version, &options.passphrase, &salt_seed, &name)?;
        let data_key = DataKey::generate()?;
        let account_id = AccountId::random();
        let ctx = WrapContext::new(version, *account_id.as_bytes(), data_key.key_id());
        let wrapped = wrap_data_key(&root.wrap_key(), &data_key, &ctx)?;
        let recovery = match options.recovery_key {
            true => Some(RecoverySecret::generate()?),
            false => None,
        };
        let request = RegisterRequest {
            account_id,
            account_name: name.as_str().to_owned(),
            protocol_version: version.get(),
            salt_seed: salt_seed.0,
            auth_key: *root.auth_key().expose_secret(),
            key_id: data_key.key_id().0,
            wrapped_data_key: wrapped.as_bytes().to_vec(),
            device: DeviceRegistration {
                id: device_id,
                encrypted_name: seal_device_name(&data_key, device_id, &options.device_name)?,
            },
            recovery: recovery.as_ref().map(|r| keys::recovery_setup(r, &data_key, account_id, &root)).transpose()?,
        };
        let session = api.register(&request).await.map_err(|e| match e {
            ClientError::Server { code, .. } if code == "account_exists" => {
                ClientError::AccountExists(name.to_string())
            }
            other => other,
        })?;
        check_session(&session, Some(account_id), device_id, version)?;
        (session, Keyring::new(data_key), recovery.map(|r| RecoveryKey(r.to_code())))
    } else {
        let params = api.login_params(name.as_str()).await?;
        let version = accept_version(params.protocol_version, pinned)?;
        let root = derive_root_key(version, &options.passphrase, &SaltSeed(params.salt_seed), &name)?;
        // The device name is sealed under the data key, which only login
        // returns: register with an empty name, and name the device after.
        let request = LoginRequest {
            account_name: name.as_str().to_owned(),
            auth_key: *root.auth_key().expose_secret(),
            device: DeviceRegistration { id: device_id, encrypted_name: Vec::new() },
        };
        let session = api.login(&request).await?;
        let keyring = match check_session(&session, None, device_id, version)
            .and_then(|()| keys::unwrap_session(version, &root.wrap_key(), &session))
        {
            Ok(keyring) => keyring,
            Err(e) => {
                // The server added a device for this answer: take it out again
                // (best effort) rather than leave a live token nobody holds.
                let _ = api.revoke_once(&session.token, session.device_id).await;
                return Err(e);
            }
        };
        let sealed_name = seal_device_name(keyring.current(), session.device_id, &options.device_name)?;
        // Best effort: a device without a name still syncs.
        let _ = api.rename_device(&session.token, session.device_id, sealed_name).await;
        (session, keyring, None)
    };
    let status = KeyStatus {
        key_created_at: None,
        recovery_key: options.create.then_some(recovery_key.is_some()),
        needs_unlock: false,
    };
    let state = keys::finish_join(store, dir, url.as_str(), &name, session, keyring, status)?;
    Ok(Enabled { state, recovery_key })
}

/// Turns sync off: revokes this device's token on the server if it can be
/// reached (best effort: sync must be possible to turn off offline), then
/// forgets keys, token, cursor and outbox; keeps every record.
pub(crate) async fn disable(store: &mut Store, dir: &std::path::Path, http: &Http) -> Result<(), ClientError> {
    if let Ok((_, keys, api)) = session(store, dir, http) {
        let revoke = api.revoke_once(&keys.token, keys.device_id);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), revoke).await;
    }
    store.disable_sync()?;
    keyfile::remove(dir)
}

pub(crate) fn session(
    store: &Store,
    dir: &std::path::Path,
    http: &Http,
) -> Result<(SyncState, Keys, Api), ClientError> {
    let state = store.sync_state()?.ok_or(ClientError::SyncDisabled)?;
    let keys = keyfile::load(dir)?.ok_or(ClientError::SyncDisabled)?;
    let api = Api::new(ServerUrl::parse(&state.server_url, true)?, http);
    Ok((state, keys, api))
}

/// What one sync works with: the server's API, this device's keys, and the
/// record sealers derived from them (shared with the push and pull tasks).
struct With {
    api: Api,
    keys: Keys,
    sealers: Arc<Sealers>,
    /// `now` for merging (PROTOCOL.md §5).
    clock: Arc<dyn WallClock>,
    /// Envelopes asked for per pull page.
    pull_page: std::num::NonZeroU32,
}

/// Pushes the outbox, then pulls and merges everything new.
pub(crate) async fn sync_now(
    store: &mut Store,
    dir: &std::path::Path,
    http: &Http,
    clock: Arc<dyn WallClock>,
    pull_page: std::num::NonZeroU32,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<SyncSummary, ClientError> {
    let (state, keys, api) = session(store, dir, http)?;
    if keys.status.needs_unlock {
        return Err(ClientError::NeedsUnlock);
    }
    let with = With { sealers: Arc::new(keys.keyring.sealers(keys.account_id)), api, keys, clock, pull_page };
    match sync_with(store, &with, state.cursor, progress).await {
        // Another device rotated the key: remember it (`sync status` shows
        // it, and the next sync stops at once).
        Err(ClientError::NeedsUnlock) => Err(keys::mark_needs_unlock(dir)),
        other => other,
    }
}

/// Syncs; if an answer shows the server restored from an older backup,
/// heals (every record queued again, cursor back to 0) and syncs again.
async fn sync_with(
    store: &mut Store,
    with: &With,
    cursor: Cursor,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<SyncSummary, ClientError> {
    match sync_once(store, with, cursor, progress).await {
        Err(ClientError::ServerRestored(evidence)) => {
            let restored = restore::heal(store, with, evidence).await?;
            fault::after("healing");
            let mut summary = sync_once(store, with, Cursor(0), progress).await?;
            summary.restored = Some(restored);
            Ok(summary)
        }
        other => other,
    }
}

async fn sync_once(
    store: &mut Store,
    with: &With,
    cursor: Cursor,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<SyncSummary, ClientError> {
    let state_cursor = cursor;
    let mut summary = SyncSummary::default();
    let pushed = push::push_outbox(store, with, state_cursor, &mut summary, progress).await?;
    pull::retry_deferred(store, with, &mut summary)?;
    // The last push's answer carried the first page (PROTOCOL.md §8.2);
    // otherwise pull, unless the push just proved the account holds nothing
    // we lack: whatever lands after it is picked up by the next sync, as it
    // would be had it landed just after a pull.
    let cursor = match pushed.page {
        Some((after, page)) => match pull::first_page(after, pushed.cursor, pushed.head, &page)? {
            // Nothing new, and the cursor already past our own envelopes.
            Some(next) if next == pushed.cursor => next,
            _ => pull::pull(store, with, after, Some(page), &mut summary, progress).await?,
        },
        None if pushed.caught_up => pushed.cursor,
        None => pull::pull(store, with, pushed.cursor, None, &mut summary, progress).await?,
    };
    store.transaction(|tx| {
        sync_state::finished(tx, with.clock.now().0, &summary.refused)?;
        // Pulled to the head: a healing pull (after a restore) is done.
        crate::store::server_log::healed(tx)
    })?;
    fault::after("finished");
    summary.cursor = cursor.0;
    Ok(summary)
}

/// Merges quarantined envelopes again, with this device's current keys
/// (all, or those at one `server_seq`); no network. `pulled` counts the
/// envelopes tried, `quarantined` those that failed again.
pub(crate) fn retry_quarantine(
    store: &mut Store,
    dir: &std::path::Path,
    http: &Http,
    clock: Arc<dyn WallClock>,
    only: Option<u64>,
) -> Result<SyncSummary, ClientError> {
    let (_, keys, api) = session(store, dir, http)?;
    let with =
        With { sealers: Arc::new(keys.keyring.sealers(keys.account_id)), api, keys, clock, pull_page: PULL_PAGE };
    let mut summary = SyncSummary::default();
    pull::retry_quarantined(store, &with, only, &mut summary)?;
    Ok(summary)
}

/// A device of the account, with its name opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceInfo {
    /// The device.
    pub id: DeviceId,
    /// Its name, if it has one this device can open.
    pub name: Option<String>,
    /// Unix ms.
    pub created_at: u64,
    /// Unix ms, to the minute.
    pub last_seen_at: u64,
    /// Unix ms of revocation.
    pub revoked_at: Option<u64>,
    /// Whether it is this device.
    pub current: bool,
}

pub(crate) async fn devices(
    store: &mut Store,
    dir: &std::path::Path,
    http: &Http,
) -> Result<Vec<DeviceInfo>, ClientError> {
    let (_, keys, api) = session(store, dir, http)?;
    let list = api.devices(&keys.token).await?;
    Ok(list
        .into_iter()
        .map(|d| DeviceInfo {
            name: open_device_name(keys.keyring.current(), d.id, &d.encrypted_name),
            id: d.id,
            created_at: d.created_at,
            last_seen_at: d.last_seen_at,
            revoked_at: d.revoked_at,
            current: d.current,
        })
        .collect())
}

pub(crate) async fn revoke(
    store: &mut Store,
    dir: &std::path::Path,
    http: &Http,
    device: DeviceId,
) -> Result<(), ClientError> {
    let (_, keys, api) = session(store, dir, http)?;
    api.revoke(&keys.token, device).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_device_name_seals_into_512_bytes() {
        let key = DataKey::generate().unwrap();
        let device = DeviceId::random();
        // 472 bytes of UTF-8, in two-byte characters: the longest name that fits.
        let longest = "é".repeat(MAX_DEVICE_NAME_BYTES / 2);
        assert_eq!(longest.len(), 472);
        let sealed = seal_device_name(&key, device, &longest).unwrap();
        assert_eq!(sealed.len(), sealsync_envelope::dto::MAX_SEALED_DEVICE_NAME_BYTES);
        assert_eq!(open_device_name(&key, device, &sealed).as_deref(), Some(longest.as_str()));

        let too_long = format!("{longest}x");
        match seal_device_name(&key, device, &too_long) {
            Err(ClientError::Invalid(e)) => assert_eq!(e.field, "device name"),
            other => panic!("expected a validation error, got {other:?}"),
        }
        assert!(matches!(check_device_name(&too_long), Err(ClientError::Invalid(_))));
        assert!(check_device_name("").is_ok());
    }

    /// A name too long is refused before any network call: the server at
    /// this address does not exist, so reaching it would be a network error.
    #[tokio::test]
    async fn enable_refuses_a_long_device_name_before_the_network() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("journal.db")).unwrap();
        let http = Http::new().unwrap();
        let options = EnableOptions {
            server_url: "http://127.0.0.1:9".into(),
            account_name: "someone@example.org".into(),
            passphrase: Passphrase::new("a passphrase long enough to pass the strength rule".into()).unwrap(),
            create: true,
            allow_insecure_http: true,
            device_name: "n".repeat(MAX_DEVICE_NAME_BYTES + 1),
            recovery_key: true,
        };
        match enable(&mut store, dir.path(), &http, options).await {
            Err(ClientError::Invalid(e)) => assert_eq!(e.field, "device name"),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }
}
