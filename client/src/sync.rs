//! The sync engine: turning sync on (new account, or joining one), pushing
//! the outbox, pulling and merging pages, and turning sync off.
//!
//! Pull applies each page and advances the cursor in one transaction, so an
//! interrupted sync resumes where it stopped; push re-sends sealed bytes
//! exactly, so a repeated push is acknowledged as a duplicate. An envelope
//! that cannot be applied (fails to open, replayed, malformed) is quarantined
//! and reported, and the rest of the page still applies.

use rusqlite::Transaction;
use sealsync_crypto::{
    AccountName, DataKey, Passphrase, SaltSeed, WrapContext, WrappedDataKey, accept_version, derive_root_key,
    unwrap_data_key, wrap_data_key,
};
use sealsync_envelope::dto::{DeviceRegistration, LoginRequest, PushResponse, PushResult, RegisterRequest, RejectCode};
use sealsync_envelope::hlc::ClockError;
use sealsync_envelope::{AccountId, Cursor, DeviceId, Envelope, RecordPayload, RecordSealer, UnixMillis};
use serde::Serialize;
use uuid::Uuid;

use crate::api::{Api, ServerUrl};
use crate::domain::{Activity, Assessment, Mood, RecordType, Schedule};
use crate::error::ClientError;
use crate::keyfile::{self, Keys};
use crate::store::records::{self, Merged};
use crate::store::sync_state::{self, SyncState};
use crate::store::{Store, load_clock, save_clock};

/// Envelopes per push (the server's default limit).
const PUSH_BATCH: usize = 500;
/// Envelopes per pull page.
const PULL_PAGE: u32 = 1000;

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
    /// Envelopes received.
    pub pulled: u64,
    /// Received versions that won the merge.
    pub applied: u64,
    /// Received envelopes quarantined (not applied).
    pub quarantined: u64,
    /// Received envelopes deferred (stamped ahead of this clock; retried later).
    pub deferred: u64,
    /// The cursor after the sync.
    pub cursor: u64,
}

/// The sealed form of a record's current version, by kind name.
pub(crate) fn payload_of(tx: &Transaction<'_>, kind: &str, id: Uuid) -> Result<Option<RecordPayload>, ClientError> {
    match kind {
        Mood::KIND => records::payload::<Mood>(tx, id),
        Assessment::KIND => records::payload::<Assessment>(tx, id),
        Activity::KIND => records::payload::<Activity>(tx, id),
        Schedule::KIND => records::payload::<Schedule>(tx, id),
        _ => Ok(None),
    }
}

/// `nonce || XChaCha20-Poly1305[record_key](nonce, "sealsync/v1/device-name" || device_id, name)`.
fn seal_device_name(data_key: &DataKey, device: DeviceId, name: &str) -> Result<Vec<u8>, ClientError> {
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

/// Turns sync on. The version check comes before anything is derived or sent;
/// a wrong passphrase fails at login, before any record is queued or uploaded.
pub(crate) async fn enable(
    store: &mut Store,
    dir: &std::path::Path,
    options: EnableOptions,
) -> Result<SyncState, ClientError> {
    if let Some(state) = store.sync_state()? {
        return Err(ClientError::SyncAlreadyEnabled { server: state.server_url, account: state.account_name });
    }
    let url = ServerUrl::parse(&options.server_url, options.allow_insecure_http)?;
    let name = AccountName::parse(&options.account_name)?;
    let api = Api::new(url.clone())?;
    let pinned = store.pinned_version(url.as_str(), name.as_str())?.map(|v| accept_version(v, None)).transpose()?;
    let device_id = DeviceId::random();

    let (session, data_key) = if options.create {
        let meta = api.meta().await?;
        if !meta.registration_open {
            return Err(ClientError::RegistrationClosed);
        }
        let offered = meta.protocol_versions.iter().copied().filter(|&v| accept_version(v, pinned).is_ok()).max();
        let version = accept_version(offered.unwrap_or(0), pinned)?;
        let salt_seed = SaltSeed(sealsync_crypto::primitives::random()?);
        let root = derive_root_key(version, &options.passphrase, &salt_seed, &name)?;
        let data_key = DataKey::generate()?;
        let account_id = AccountId::random();
        let ctx = WrapContext::new(version, *account_id.as_bytes(), data_key.key_id());
        let wrapped = wrap_data_key(&root.wrap_key(), &data_key, &ctx)?;
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
        };
        let session = api.register(&request).await.map_err(|e| match e {
            ClientError::Server { code, .. } if code == "account_exists" => {
                ClientError::AccountExists(name.to_string())
            }
            other => other,
        })?;
        (session, data_key)
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
        let key = session.keys.first().ok_or(ClientError::WrongPassphrase)?;
        let ctx = WrapContext::new(version, *session.account_id.as_bytes(), sealsync_crypto::KeyId(key.key_id));
        let wrapped = WrappedDataKey::from_bytes(&key.wrapped_data_key)?;
        let data_key = unwrap_data_key(&root.wrap_key(), &wrapped, &ctx)?;
        let name = seal_device_name(&data_key, session.device_id, &options.device_name)?;
        // Best effort: a device without a name still syncs.
        let _ = api.rename_device(&session.token, session.device_id, name).await;
        (session, data_key)
    };

    let keys = Keys {
        account_id: session.account_id,
        device_id: session.device_id,
        token: zeroize::Zeroizing::new(session.token),
        data_key,
    };
    keyfile::save(dir, &keys)?;
    let state = SyncState {
        server_url: url.as_str().to_owned(),
        account_name: name.as_str().to_owned(),
        account_id: keys.account_id,
        device_id: keys.device_id,
        protocol_version: session.protocol_version,
        cursor: Cursor::START,
        last_sync_at: None,
    };
    if let Err(e) = store.enable_sync(&state) {
        let _ = keyfile::remove(dir);
        return Err(e);
    }
    Ok(state)
}

/// Turns sync off: revokes this device's token on the server if it can be
/// reached (best effort: sync must be possible to turn off offline), then
/// forgets keys, token, cursor and outbox; keeps every record.
pub(crate) async fn disable(store: &mut Store, dir: &std::path::Path) -> Result<(), ClientError> {
    if let Ok((_, keys, api)) = session(store, dir) {
        let revoke = api.revoke_once(&keys.token, keys.device_id);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), revoke).await;
    }
    store.disable_sync()?;
    keyfile::remove(dir)
}

fn session(store: &Store, dir: &std::path::Path) -> Result<(SyncState, Keys, Api), ClientError> {
    let state = store.sync_state()?.ok_or(ClientError::SyncDisabled)?;
    let keys = keyfile::load(dir)?.ok_or(ClientError::SyncDisabled)?;
    let api = Api::new(ServerUrl::parse(&state.server_url, true)?)?;
    Ok((state, keys, api))
}

/// Pushes the outbox, then pulls and merges everything new.
pub(crate) async fn sync_now(
    store: &mut Store,
    dir: &std::path::Path,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<SyncSummary, ClientError> {
    let (state, keys, api) = session(store, dir)?;
    let sealer = RecordSealer::new(keys.account_id, &keys.data_key);
    let mut summary = SyncSummary::default();

    let total = store.outbox_len()?;
    let mut cursor = state.cursor;
    // The account's position after our last push, when everything up to it
    // is known to be ours: then there is nothing to pull.
    let mut caught_up = false;
    let mut batch = store.outgoing(PUSH_BATCH, 0, &sealer, keys.device_id)?;
    while !batch.is_empty() {
        // Send this batch from its own task while the next one is sealed here,
        // so the server's work and ours overlap (on a multi-threaded runtime).
        let envelopes = batch.iter().map(|o| o.envelope.clone()).collect();
        let (push_api, token) = (api.clone(), zeroize::Zeroizing::new(keys.token.to_string()));
        let in_flight = tokio::spawn(async move { push_api.push(&token, envelopes).await });
        let last = batch.last().map_or(0, |o| o.device_seq);
        let next = store.outgoing(PUSH_BATCH, last, &sealer, keys.device_id);
        let response = in_flight.await.map_err(|e| ClientError::Network(format!("push task failed: {e}")))??;
        let next = next?;
        let mut done = Vec::with_capacity(batch.len());
        let mut rejected = 0;
        for (item, result) in batch.iter().zip(&response.results) {
            match result {
                PushResult::Stored { .. } | PushResult::Duplicate | PushResult::Superseded => {
                    done.push((item.record_id, item.device_seq));
                }
                PushResult::Rejected { code } => match code {
                    // The server says this device's identity or key is wrong:
                    // pushing on would lose edits, so stop and say so.
                    RejectCode::DeviceSeqReused | RejectCode::DeviceMismatch | RejectCode::UnknownKeyId => {
                        return Err(ClientError::ReenrolRequired(code.as_str().to_owned()));
                    }
                    _ => rejected += 1,
                },
            }
        }
        let skip = past_own_envelopes(&response, cursor);
        store.acknowledge(&done, skip)?;
        if let Some(next) = skip {
            cursor = next;
        }
        caught_up = cursor == response.cursor;
        summary.pushed += done.len() as u64;
        summary.rejected += rejected;
        progress(Progress::Pushing { done: summary.pushed, total });
        if rejected > 0 || response.results.len() != batch.len() {
            break; // What the server refuses stays queued; do not loop on it.
        }
        batch = next;
    }

    let me = keys.device_id;
    let now = || UnixMillis::now();
    // Envelopes deferred last time (clock ahead) get another chance first.
    store.transaction(|tx| {
        let deferred = sync_state::take_deferred(tx)?;
        let mut clock = load_clock(tx)?;
        for (seq, bytes) in deferred {
            apply(tx, &sealer, me, &mut clock, seq, &bytes, now().0, &mut summary)?;
        }
        save_clock(tx, &clock)
    })?;
    // Pull, unless the push just proved the account holds nothing we lack:
    // whatever lands after it is picked up by the next sync, as it would be
    // had it landed just after a pull.
    while !caught_up {
        let page = api.pull(&keys.token, cursor, PULL_PAGE).await?;
        store.transaction(|tx| {
            let mut clock = load_clock(tx)?;
            for pulled in &page.envelopes {
                summary.pulled += 1;
                apply(tx, &sealer, me, &mut clock, pulled.seq, &pulled.envelope.0, now().0, &mut summary)?;
            }
            save_clock(tx, &clock)?;
            sync_state::advance(tx, page.next_cursor)
        })?;
        cursor = page.next_cursor;
        progress(Progress::Pulling { pulled: summary.pulled });
        caught_up = !page.more;
    }
    store.transaction(|tx| sync_state::finished(tx, now().0))?;
    summary.cursor = cursor.0;
    Ok(summary)
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

/// Opens, checks and merges one envelope, or quarantines it with the reason.
#[allow(clippy::too_many_arguments)]
fn apply(
    tx: &Transaction<'_>,
    sealer: &RecordSealer,
    me: DeviceId,
    clock: &mut sealsync_envelope::Clock,
    seq: Cursor,
    bytes: &[u8],
    now: u64,
    summary: &mut SyncSummary,
) -> Result<(), ClientError> {
    let mut quarantine = |reason: String, deferred: bool| {
        if deferred {
            summary.deferred += 1;
        } else {
            summary.quarantined += 1;
        }
        sync_state::quarantine(tx, seq, bytes, &reason, deferred, now)
    };
    let envelope = match Envelope::decode(bytes) {
        Ok(envelope) => envelope,
        Err(e) => return quarantine(format!("malformed envelope: {e}"), false),
    };
    let header = envelope.header;
    if header.device_id == me {
        return Ok(()); // This device's own change, echoed back.
    }
    let record = header.record_id.0;
    if let Some(seen) = sync_state::seen(tx, record, header.device_id)?
        && header.device_seq.0 <= seen
    {
        return quarantine(
            format!("replayed or rolled back: device counter {} after {seen}", header.device_seq.0),
            false,
        );
    }
    let payload = match sealer.open(envelope) {
        Ok(payload) => payload,
        Err(e) => return quarantine(format!("cannot open: {e}"), false),
    };
    if let Err(e @ ClockError::RemoteTooFarAhead { .. }) = clock.observe(payload.hlc, UnixMillis(now)) {
        return quarantine(e.to_string(), true);
    }
    let kind = payload.kind.as_str();
    let merged = match kind {
        Mood::KIND => records::merge::<Mood>(tx, record, header.device_id, me, &payload),
        Assessment::KIND => records::merge::<Assessment>(tx, record, header.device_id, me, &payload),
        Activity::KIND => records::merge::<Activity>(tx, record, header.device_id, me, &payload),
        Schedule::KIND => records::merge::<Schedule>(tx, record, header.device_id, me, &payload),
        other => return quarantine(format!("unknown record kind {other:?}"), false),
    };
    match merged {
        Ok(Merged::Applied) => summary.applied += 1,
        Ok(Merged::Kept) => {}
        Ok(Merged::KindConflict(existing)) => {
            return quarantine(format!("record {record} is a {existing} here but a {kind} in the envelope"), false);
        }
        Err(ClientError::Invalid(e)) => return quarantine(format!("invalid record: {e}"), false),
        Err(e) => return Err(e),
    }
    sync_state::mark_seen(tx, record, header.device_id, header.device_seq.0)
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

pub(crate) async fn devices(store: &Store, dir: &std::path::Path) -> Result<Vec<DeviceInfo>, ClientError> {
    let (_, keys, api) = session(store, dir)?;
    let list = api.devices(&keys.token).await?;
    Ok(list
        .into_iter()
        .map(|d| DeviceInfo {
            name: open_device_name(&keys.data_key, d.id, &d.encrypted_name),
            id: d.id,
            created_at: d.created_at,
            last_seen_at: d.last_seen_at,
            revoked_at: d.revoked_at,
            current: d.current,
        })
        .collect())
}

pub(crate) async fn revoke(store: &Store, dir: &std::path::Path, device: DeviceId) -> Result<(), ClientError> {
    let (_, keys, api) = session(store, dir)?;
    api.revoke(&keys.token, device).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(results: Vec<PushResult>, cursor: u64) -> PushResponse {
        PushResponse { results, cursor: Cursor(cursor) }
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
