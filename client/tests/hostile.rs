//! Hostile peers (issue 12): the `sealsync` CLI against a server, or a
//! machine in the middle, that lies. Each test drives the real CLI through a
//! [`HostileProxy`] in front of the real server binary, or plays the
//! attacker against the real server with nothing but what the attacker
//! would hold.

mod common;

use std::time::Duration;

use common::hostile::{Answer, Exchange, HostileProxy};
use common::{Backend, Device, PASSPHRASE, Server, account_name, expect_failure, wait_output_within};
use sealsync_envelope::Cursor;
use sealsync_envelope::dto::{PullResponse, from_cbor, to_cbor};
use serde_json::Value;

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
