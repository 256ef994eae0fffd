//! Device linking on this side (PROTOCOL.md §6): the new device shows a
//! short code and waits; a device already signed in reads the code, and the
//! two agree on keys by SPAKE2 through the server's relay, each checking the
//! other's confirmation before anything derived from them leaves it. The new
//! device never sees the passphrase; it gets the account's keys in a bundle
//! sealed under the link key, and its own token from the relay.

use std::time::Duration;

use sealsync_crypto::link::{ApproverLink, LinkCode, LinkKeys, LinkMessage, NewDeviceLink, PairingNumber};
use sealsync_crypto::{AccountName, DataKey, KeyId, accept_version};
use sealsync_envelope::dto::{
    ApprovePairingRequest, ClaimPairingRequest, ConfirmPairingRequest, CreatePairingRequest, PairingState,
};
use sealsync_envelope::{AccountId, DeviceId, UnixMillis};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::keys::save_and_enable;
use super::{check_device_name, seal_device_name, session};
use crate::api::{Api, Http, ServerUrl, pairing_credential};
use crate::error::ClientError;
use crate::keyfile::{KeyStatus, Keys};
use crate::keyring::Keyring;
use crate::store::Store;
use crate::store::sync_state::SyncState;

/// How often a waiting device asks the relay again: both devices of a
/// linking poll, inside the relay's per-address rate limit.
const POLL: Duration = Duration::from_millis(1500);

/// How to link this device as a new one.
#[derive(Debug)]
pub struct LinkOptions {
    /// `https://…` (or `http://` to this machine).
    pub server_url: String,
    /// Allow `http://` to another machine.
    pub allow_insecure_http: bool,
    /// How this device is listed to the account's other devices.
    pub device_name: String,
}

/// The code to show while the new device waits.
#[derive(Clone, Serialize)]
pub struct ShownCode {
    /// `NNNNNN-XXXX-XXXX`, to type on a device that is signed in.
    pub code: String,
    /// Unix ms after which the code no longer works.
    pub expires_at: u64,
}

impl std::fmt::Debug for ShownCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShownCode").field("expires_at", &self.expires_at).finish_non_exhaustive()
    }
}

/// The account's keys as the approving device seals them for the new one
/// (PROTOCOL.md §6.5).
#[derive(Serialize, Deserialize)]
struct Bundle {
    account_id: AccountId,
    account_name: String,
    protocol_version: u16,
    /// Hex of the current key's id.
    current_key_id: String,
    /// Hex of every data key of the account.
    data_keys: Vec<String>,
    /// Whether the account has a recovery key.
    recovery_key: Option<bool>,
}

impl Drop for Bundle {
    fn drop(&mut self) {
        self.data_keys.iter_mut().for_each(zeroize::Zeroize::zeroize);
    }
}

fn failed(why: impl Into<String>) -> ClientError {
    ClientError::LinkFailed(why.into())
}

/// A code mismatch: the user typed a wrong code, or someone in between tried
/// one guess. Either way the pairing is burned.
fn mismatch() -> ClientError {
    failed("the code did not match (mistyped, or someone tried to intercept); the pairing is ended: start again")
}

/// The relay's 410: the other side burned the pairing, or it expired.
fn ended(e: ClientError) -> ClientError {
    match e {
        ClientError::Server { status: 410, code, .. } if code == "pairing_failed" => {
            failed("the other device ended the pairing (a wrong code, or the approval was declined)")
        }
        ClientError::Server { status: 410 | 404, .. } => failed("the code expired; start again"),
        other => other,
    }
}

/// On the new device: opens a pairing, shows the code through `show`, waits
/// for a device to approve, and turns sync on with what it sends.
pub(crate) async fn link(
    store: &mut Store,
    dir: &std::path::Path,
    http: &Http,
    options: LinkOptions,
    show: &mut (dyn FnMut(&ShownCode) + Send),
) -> Result<SyncState, ClientError> {
    if let Some(state) = store.sync_state()? {
        return Err(ClientError::SyncAlreadyEnabled { server: state.server_url, account: state.account_name });
    }
    let url = ServerUrl::parse(&options.server_url, options.allow_insecure_http)?;
    check_device_name(&options.device_name)?;
    let api = Api::new(url.clone(), http);
    let device_id = DeviceId::random();
    let link = NewDeviceLink::start(*device_id.as_bytes())?;
    let request = CreatePairingRequest { device_id, message: link.message().as_bytes().to_vec() };
    let opened = api.create_pairing(&request).await?;
    let pairing =
        PairingNumber::parse(&opened.pairing).map_err(|_| failed("the relay answered a bad pairing number"))?;
    let secret = Zeroizing::new(opened.secret);
    show(&ShownCode { code: link.code(pairing).to_text().to_string(), expires_at: opened.expires_at });

    // Wait for a device to claim the pairing, then check its confirmation
    // before anything derived from the shared key leaves this device.
    let claimed = loop {
        let view = api.pairing_for_new_device(&opened.pairing, &secret).await.map_err(ended)?;
        if view.state != PairingState::Open {
            break view;
        }
        wait(opened.expires_at).await?;
    };
    let (Some(approver), Some(message), Some(confirm)) = (claimed.approver_device_id, claimed.message, claimed.confirm)
    else {
        return Err(failed("the relay answered a claimed pairing without the claim"));
    };
    let keys = LinkMessage::from_bytes(&message)
        .and_then(|m| link.finish(pairing, *approver.as_bytes(), &m))
        .and_then(|keys| keys.check_approver(&confirm).map(|()| keys));
    let keys = match keys {
        Ok(keys) => keys,
        Err(_) => {
            let _ = api.fail_pairing(&pairing_credential(&secret), &opened.pairing).await;
            return Err(mismatch());
        }
    };
    let request = ConfirmPairingRequest {
        confirm: *keys.confirm_new.expose_secret(),
        encrypted_name: keys.seal_name(options.device_name.as_bytes())?,
    };
    api.confirm_pairing(&secret, &opened.pairing, &request).await.map_err(ended)?;

    // Wait for the approval: the bundle and this device's token come once.
    let approved = loop {
        let view = api.pairing_for_new_device(&opened.pairing, &secret).await.map_err(ended)?;
        if view.state == PairingState::Approved {
            break view;
        }
        wait(opened.expires_at).await?;
    };
    let (Some(sealed), Some(token)) = (approved.bundle, approved.token) else {
        return Err(failed("the relay answered an approved pairing without the bundle"));
    };
    let token = Zeroizing::new(token);
    let joined = open_bundle(&keys, &sealed).and_then(|bundle| {
        let name = AccountName::parse(&bundle.account_name)?;
        let pinned = store.pinned_version(url.as_str(), name.as_str())?.map(|v| accept_version(v, None)).transpose()?;
        accept_version(bundle.protocol_version, pinned)?;
        Ok((name, keyring_of(&bundle)?, bundle))
    });
    let (name, keyring, bundle) = match joined {
        Ok(joined) => joined,
        Err(e) => {
            // The relay added this device with that token: take it out again.
            let _ = api.revoke_once(&token, device_id).await;
            return Err(e);
        }
    };
    let keys = Keys {
        account_id: bundle.account_id,
        device_id,
        token,
        keyring,
        status: KeyStatus { key_created_at: None, recovery_key: bundle.recovery_key, needs_unlock: false },
    };
    save_and_enable(store, dir, url.as_str(), &name, keys, bundle.protocol_version)
}

/// Sleeps one poll interval, or fails once the pairing has expired.
async fn wait(expires_at: u64) -> Result<(), ClientError> {
    if UnixMillis::now().0 > expires_at {
        return Err(failed("the code expired before the other device answered; start again"));
    }
    tokio::time::sleep(POLL).await;
    Ok(())
}

fn open_bundle(keys: &LinkKeys, sealed: &[u8]) -> Result<Bundle, ClientError> {
    let plain = keys.open_bundle(sealed).map_err(|_| failed("the account's keys did not open"))?;
    serde_json::from_slice(&plain).map_err(|_| failed("the account's keys are not in the expected form"))
}

fn keyring_of(bundle: &Bundle) -> Result<Keyring, ClientError> {
    let bad = || failed("the account's keys are not in the expected form");
    let mut keys = Vec::with_capacity(bundle.data_keys.len());
    for text in &bundle.data_keys {
        let raw = Zeroizing::new(hex::decode(text).map_err(|_| bad())?);
        keys.push(DataKey::try_from_slice(&raw).map_err(|_| bad())?);
    }
    let current = KeyId(hex::decode(&bundle.current_key_id).ok().and_then(|b| b.try_into().ok()).ok_or_else(bad)?);
    Keyring::from_keys(current, keys).ok_or_else(bad)
}

/// On a device that is signed in: reads the code, agrees on keys with the
/// new device through the relay, asks `approve` with the new device's name,
/// and seals the account's keys to it. Returns the new device's name.
pub(crate) async fn approve(
    store: &mut Store,
    dir: &std::path::Path,
    http: &Http,
    code: &str,
    approve: &mut (dyn FnMut(&str) -> bool + Send),
) -> Result<String, ClientError> {
    let code = LinkCode::parse(code)?;
    let (state, keys, api) = session(store, dir, http)?;
    if keys.status.needs_unlock {
        return Err(ClientError::NeedsUnlock);
    }
    let pairing = code.pairing().to_string();
    let view = api.pairing_for_approver(&keys.token, &pairing).await.map_err(ended)?;
    let new_message = LinkMessage::from_bytes(&view.message).map_err(|_| failed("the relay answered a bad message"))?;
    let link = ApproverLink::start(&code, *view.new_device_id.as_bytes(), *keys.device_id.as_bytes());
    let message = link.message();
    let shared = link.finish(&new_message).map_err(|_| failed("the relay answered a bad message"))?;
    let request =
        ClaimPairingRequest { message: message.as_bytes().to_vec(), confirm: *shared.confirm_approver.expose_secret() };
    api.claim_pairing(&keys.token, &pairing, &request).await.map_err(ended)?;

    // The new device answers with its confirmation and its name.
    let confirmed = loop {
        let view = api.pairing_for_approver(&keys.token, &pairing).await.map_err(ended)?;
        if view.state == PairingState::Confirmed {
            break view;
        }
        wait(view.expires_at).await?;
    };
    let (Some(confirm), Some(sealed_name)) = (confirmed.confirm, confirmed.encrypted_name) else {
        return Err(failed("the relay answered a confirmed pairing without the confirmation"));
    };
    let name = shared
        .check_new(&confirm)
        .and_then(|()| shared.open_name(&sealed_name))
        .ok()
        .and_then(|name| String::from_utf8(name).ok());
    let Some(name) = name else {
        let _ = api.fail_pairing(&keys.token, &pairing).await;
        return Err(mismatch());
    };
    if !approve(&name) {
        let _ = api.fail_pairing(&keys.token, &pairing).await;
        return Err(failed(format!("declined: {name:?} was not added")));
    }
    let bundle = Bundle {
        account_id: keys.account_id,
        account_name: state.account_name.clone(),
        protocol_version: state.protocol_version,
        current_key_id: hex::encode(keys.keyring.current_id().0),
        data_keys: keys.keyring.keys().map(|k| hex::encode(k.expose_secret())).collect(),
        recovery_key: keys.status.recovery_key,
    };
    let plain = Zeroizing::new(serde_json::to_vec(&bundle).expect("the bundle serializes"));
    let request = ApprovePairingRequest {
        encrypted_name: seal_device_name(
            keys.keyring.current(),
            DeviceId::from_bytes(shared.transcript.new_device_id),
            &name,
        )?,
        bundle: shared.seal_bundle(&plain)?,
    };
    api.approve_pairing(&keys.token, &pairing, &request).await.map_err(ended)?;
    Ok(name)
}
