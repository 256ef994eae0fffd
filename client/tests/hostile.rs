//! Hostile peers (issue 12): the `sealsync` CLI against a server, or a
//! machine in the middle, that lies. Each test drives the real CLI through a
//! [`HostileProxy`] in front of the real server binary, or plays the
//! attacker against the real server with nothing but what the attacker
//! would hold.

mod common;

use std::time::Duration;

use common::hostile::{Answer, Exchange, HostileProxy};
use common::{Backend, Device, PASSPHRASE, Server, account_name, block_on, expect_failure, wait_output_within};
use sealsync_envelope::dto::{
    EnvelopeBytes, MAX_DEVICE_SEQ_JUMP, PullResponse, PushRequest, PushResponse, PushResult, RejectCode, from_cbor,
    to_cbor,
};
use sealsync_envelope::{Cursor, DeviceSeq, Envelope, EnvelopeHeader};
use serde_json::Value;

on_both_backends!(a_token_alone_cannot_silently_hide_a_device_s_edits);

fn n(value: &Value) -> u64 {
    value.as_u64().unwrap_or_else(|| panic!("not a count: {value}"))
}

fn sqlite_server() -> Server {
    Server::start(Backend::Sqlite).expect("SQLite is always available")
}

/// A pull page as the hook sees it, if the exchange is a successful pull.
fn pull_page(exchange: &Exchange) -> Option<PullResponse> {
    if exchange.route() != "/v1/sync/pull" || exchange.status != 200 {
        return None;
    }
    from_cbor(&exchange.body, usize::MAX).ok()
}

fn cbor(page: &PullResponse) -> Option<Answer> {
    Some(Answer { status: 200, content_type: "application/cbor".into(), body: to_cbor(page) })
}

// ---------------------------------------------------------------------------
// 1. A pull cursor that never advances
// ---------------------------------------------------------------------------

/// The server answers every pull with the same page, `more = true` and a
/// `next_cursor` that stays where the device asked from. The sync stops at
/// once with `protocol_violation`, applying and quarantining nothing,
/// instead of looping forever; an honest answer afterwards syncs normally.
#[test]
fn a_pull_cursor_that_never_advances_stops_the_sync() {
    let server = sqlite_server();
    let proxy = HostileProxy::new(&server);
    let account = account_name();
    let (a, b) = (Device::new("a"), Device::new("b"));
    a.enable(&server, &account, true);
    b.enable_at(&proxy.url, &account, false);
    for score in 1..=3 {
        a.add_mood(score, &format!("entry {score} from a"));
    }
    a.sync();
    // One envelope that fails to open: each turn of a loop would quarantine it again.
    server.db.tamper_newest_envelope();

    proxy.set(|exchange| {
        let mut page = pull_page(exchange)?;
        page.next_cursor = Cursor(exchange.query_u64("after").unwrap_or(0));
        page.more = true;
        cbor(&page)
    });
    let args = ["sync", "now", "--json"];
    let output = wait_output_within(b.spawn(&args), &args, Duration::from_secs(30));
    let error = expect_failure(b.name, &args, &output);
    assert!(error.contains("protocol"), "{error}");
    let pulls = proxy.seen().iter().filter(|r| r.starts_with("GET /v1/sync/pull")).count();
    assert_eq!(pulls, 1, "the first bad page stops the sync: {:?}", proxy.seen());
    let status = b.status();
    assert_eq!(status["quarantined"], serde_json::json!([]), "nothing from the bad page was kept: {status}");
    assert_eq!(status["cursor"], 0, "{status}");
    assert!(b.list("mood").is_empty(), "nothing from the bad page was applied");

    // Honest again: the sync goes through, quarantining the tampered envelope once.
    proxy.honest();
    let summary = b.sync();
    assert_eq!((n(&summary["applied"]), n(&summary["quarantined"])), (2, 1), "{summary}");
    let summary = b.sync();
    assert_eq!((n(&summary["pulled"]), n(&summary["quarantined"])), (0, 0), "{summary}");
    assert_eq!(b.status()["quarantined"].as_array().unwrap().len(), 1);
}

// ---------------------------------------------------------------------------
// 4. A session answer naming other ids
// ---------------------------------------------------------------------------

/// Rewrites one member of the session a registration or login answers.
fn rewrite_session(route: &'static str, member: &'static str, value: Value) -> impl Fn(&Exchange) -> Option<Answer> {
    move |exchange| {
        if exchange.route() != route || !(200..300).contains(&exchange.status) {
            return None;
        }
        let mut session: Value = serde_json::from_slice(&exchange.body).ok()?;
        session[member] = value.clone();
        Some(Answer {
            status: exchange.status,
            content_type: "application/json".into(),
            body: serde_json::to_vec(&session).unwrap(),
        })
    }
}

/// Asserts `sync enable` through the proxy failed and left nothing behind.
fn refused_and_nothing_saved(device: &Device, proxy: &HostileProxy, account: &str, new: bool) -> String {
    let before = device.snapshot();
    let output = device.try_enable_at(&proxy.url, account, PASSPHRASE, new);
    let error = expect_failure(device.name, &["sync", "enable"], &output);
    assert!(!device.dir().join("keys.json").exists(), "[{}] no key file was written: {error}", device.name);
    let status = device.status();
    assert_eq!(status["enabled"], false, "[{}] {status}", device.name);
    assert_eq!(status["pending"], 0, "[{}] nothing was queued: {status}", device.name);
    assert_eq!(device.snapshot(), before, "[{}] the journal is untouched", device.name);
    error
}

/// The server (or a machine in the middle) answers a registration or a
/// login with a session naming another device, account or protocol version
/// than the ones the device sent or derived. The device refuses with
/// `session_mismatch` before it saves a key, a token or a setting.
#[test]
fn a_session_naming_other_ids_is_refused_before_anything_is_saved() {
    let server = sqlite_server();
    let proxy = HostileProxy::new(&server);
    let device = Device::new("new");
    device.add_mood(5, "written before sync");
    let other = || Value::String(uuid::Uuid::new_v4().to_string());

    for (member, value) in [("device_id", other()), ("account_id", other()), ("protocol_version", Value::from(2))] {
        proxy.set(rewrite_session("/v1/accounts", member, value));
        let error = refused_and_nothing_saved(&device, &proxy, &account_name(), true);
        assert!(error.contains(member), "registration, {member}: {error}");
    }

    // Joining an account: the login answer names another device, account or version.
    let account = account_name();
    let first = Device::new("first");
    first.enable(&server, &account, true);
    for (member, value) in [("device_id", other()), ("account_id", other()), ("protocol_version", Value::from(2))] {
        proxy.set(rewrite_session("/v1/login", member, value));
        let error = refused_and_nothing_saved(&device, &proxy, &account, false);
        assert!(error.contains(member) || member == "account_id", "login, {member}: {error}");
    }

    // An honest answer joins.
    proxy.honest();
    device.enable_at(&proxy.url, &account, false);
    assert_eq!(device.status()["enabled"], true);
}

// ---------------------------------------------------------------------------
// 3. A device's token, without any key
// ---------------------------------------------------------------------------

/// The attacker's pull, with nothing but a device's token: every envelope's header.
fn attacker_pull(server: &Server, token: &str) -> Vec<EnvelopeHeader> {
    let (url, token) = (format!("{}/v1/sync/pull?after=0", server.url), token.to_owned());
    let bytes = block_on(async move {
        let answer = reqwest::Client::new().get(url).bearer_auth(token).send().await.unwrap();
        assert_eq!(answer.status(), 200);
        answer.bytes().await.unwrap().to_vec()
    });
    let page: PullResponse = from_cbor(&bytes, usize::MAX).unwrap();
    page.envelopes.iter().map(|e| Envelope::decode(&e.envelope.0).unwrap().header).collect()
}

/// The attacker's push of one envelope under the token.
fn attacker_push(server: &Server, token: &str, envelope: Vec<u8>) -> PushResult {
    let (url, token) = (format!("{}/v1/sync/push", server.url), token.to_owned());
    let body = to_cbor(&PushRequest::new(vec![EnvelopeBytes(envelope)]));
    let bytes = block_on(async move {
        let answer = reqwest::Client::new()
            .post(url)
            .bearer_auth(token)
            .header("content-type", "application/cbor")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        answer.bytes().await.unwrap().to_vec()
    });
    let response: PushResponse = from_cbor(&bytes, usize::MAX).unwrap();
    response.results[0]
}

/// Someone who holds only a device's token (from a copy of its key file's
/// token, a log, a proxy) pushes a well-formed envelope with random
/// ciphertext under the device's id for one of its records. The server
/// refuses the counter that would outrank every future edit
/// (`device_seq_jump`); within the bound it stores it, but the device's next
/// edit of the record, answered `superseded`, is not dropped: the device
/// keeps it queued, stops with `device_compromised` and says so in `sync
/// status`; the other device only quarantines the forged envelope. Revoking
/// the device from the other one and re-enrolling it delivers the edit.
fn a_token_alone_cannot_silently_hide_a_device_s_edits(server: Server) {
    let account = account_name();
    let (a, b) = (Device::new("a"), Device::new("b"));
    a.enable(&server, &account, true);
    b.enable(&server, &account, false);
    let record = a.add_mood(4, "the original");
    a.sync();
    b.sync();

    let keys: Value = serde_json::from_slice(&std::fs::read(a.dir().join("keys.json")).unwrap()).unwrap();
    let (token, a_id) = (keys["token"].as_str().unwrap(), keys["device_id"].as_str().unwrap());
    let header = attacker_pull(&server, token)
        .into_iter()
        .find(|h| h.record_id.0.to_string() == record)
        .expect("the attacker sees the record's header");
    let forged = |seq: u64| {
        let nonce = sealsync_crypto::primitives::random::<24>().unwrap();
        let ciphertext = sealsync_crypto::primitives::random::<528>().unwrap().to_vec();
        Envelope { header: EnvelopeHeader { device_seq: DeviceSeq(seq), ..header }, nonce, ciphertext }.encode()
    };
    assert_eq!(
        attacker_push(&server, token, forged(DeviceSeq::MAX.0)),
        PushResult::Rejected { code: RejectCode::DeviceSeqJump },
        "the counter that outranks every future edit is refused"
    );
    assert!(
        matches!(attacker_push(&server, token, forged(MAX_DEVICE_SEQ_JUMP)), PushResult::Stored { .. }),
        "a counter within the bound is stored"
    );

    a.run(&["mood", "edit", &record, "--note", "the real edit"]);
    let error = a.run_fail(&["sync", "now", "--json"]);
    assert!(error.contains("compromised") && error.contains("revoke"), "{error}");
    let status = a.status();
    assert_eq!(status["pending"], 1, "the edit stays queued: {status}");
    assert!(status["compromised_at"].as_u64().is_some(), "{status}");
    let shown = a.run(&["sync", "status"]);
    assert!(shown.contains("compromised"), "{shown}");
    // Again: the same answer, the edit still queued.
    a.run_fail(&["sync", "now"]);
    assert_eq!(a.status()["pending"], 1);

    let summary = b.sync();
    assert_eq!(n(&summary["quarantined"]), 1, "{summary}");
    assert_eq!(b.show("mood", &record)["note"], "the original");

    // Recovery: revoke the device from another one, turn sync off and on.
    b.run(&["devices", "revoke", a_id]);
    a.run(&["sync", "disable"]);
    a.enable(&server, &account, false);
    assert!(a.status()["compromised_at"].is_null());
    a.sync();
    b.sync();
    assert_eq!(b.show("mood", &record)["note"], "the real edit");
    assert_eq!(a.show("mood", &record)["note"], "the real edit");
}
