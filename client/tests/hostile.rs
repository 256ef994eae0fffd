//! Hostile peers (issue 12): the `sealsync` CLI against a server, or a
//! machine in the middle, that lies. Each test drives the real CLI through a
//! [`HostileProxy`] in front of the real server binary, or plays the
//! attacker against the real server with nothing but what the attacker
//! would hold.

mod common;

use std::time::Duration;

use common::hostile::{Answer, Exchange, HostileProxy};
use common::{Backend, Device, Server, account_name, expect_failure, wait_output_within};
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
