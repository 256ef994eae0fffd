//! Server policies that need non-default settings: rate limits on the account
//! endpoints, the per-account quota, and closed registration. Both backends.

mod common;

use common::TestServer;
use reqwest::{Method, StatusCode};
use sealsync_envelope::{Cursor, RecordId};
use sealsync_envelope::dto::{PushResult, RejectCode, ServerLimits};
use sealsync_server::{Registration, Settings};
use serde_json::json;

on_both_backends!(
    account_endpoints_are_rate_limited_per_address with strict_rate_limit,
    the_account_quota_is_enforced with small_quota,
    closed_registration_still_admits_new_devices with closed_registration,
    the_largest_push_the_flag_allows_is_stored with largest_push,
);

fn strict_rate_limit() -> Settings {
    Settings { auth_per_minute: 1, auth_burst: 2, ..Settings::default() }
}

fn small_quota() -> Settings {
    Settings { limits: ServerLimits { max_account_bytes: 1500, ..ServerLimits::default() }, ..Settings::default() }
}

/// The most `--max-envelopes-per-push` accepts.
fn largest_push() -> Settings {
    Settings { limits: ServerLimits { max_envelopes_per_push: 10_000, ..ServerLimits::default() }, ..Settings::default() }
}

fn closed_registration() -> Settings {
    Settings { registration: Registration::Closed, ..Settings::default() }
}

async fn account_endpoints_are_rate_limited_per_address(server: TestServer) {
    let ask = || server.json(Method::POST, "/v1/login/params", None, Some(json!({ "account_name": "a@b.c" })));
    assert_eq!(ask().await.0, StatusCode::OK);
    assert_eq!(ask().await.0, StatusCode::OK);
    let response = server
        .http
        .post(server.url("/v1/login"))
        .json(&json!({ "account_name": "a@b.c", "auth_key": "00".repeat(32), "device": { "id": uuid::Uuid::new_v4(), "encrypted_name": "" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let problem: serde_json::Value = response.json().await.unwrap();
    assert_eq!(problem["code"], json!("rate_limited"));
    // Sync endpoints are not behind the account rate limit.
    let (status, _) = server.json(Method::GET, "/v1/meta", None, None).await;
    assert_eq!(status, StatusCode::OK);
    server.stop().await;
}

async fn the_account_quota_is_enforced(server: TestServer) {
    let (account, device) = server.register().await;
    let record = RecordId::random();
    // Each small envelope is 620 bytes: two fit in 1500, a third does not.
    let batch = vec![
        account.envelope(&device, RecordId::random(), 1, "a"),
        account.envelope(&device, record, 2, "b"),
        account.envelope(&device, RecordId::random(), 3, "c"),
    ];
    let response = server.push(&device, batch).await;
    assert!(matches!(response.results[..2], [PushResult::Stored { .. }, PushResult::Stored { .. }]));
    assert_eq!(response.results[2], PushResult::Rejected { code: RejectCode::QuotaExceeded });
    // Replacing a stored envelope with one of the same size is still allowed.
    let replaced = server.push(&device, vec![account.envelope(&device, record, 4, "d")]).await;
    assert!(matches!(replaced.results[..], [PushResult::Stored { .. }]));
    assert_eq!(server.pull(&device, 0, 100).await.envelopes.len(), 2);
    server.stop().await;
}

async fn closed_registration_still_admits_new_devices(server: TestServer) {
    let (_, meta) = server.json(Method::GET, "/v1/meta", None, None).await;
    assert_eq!(meta["registration_open"], json!(false));
    let request = common::Account::new().register_request(sealsync_envelope::DeviceId::random());
    let (status, body) =
        server.json(Method::POST, "/v1/accounts", None, Some(serde_json::to_value(&request).unwrap())).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("registration_closed")));

    // An account created while registration was open can still add devices.
    let open = server.second_instance(Settings::default()).await;
    let (account, _) = open.register().await;
    open.stop().await;
    let device = server.login(&account).await;
    assert_eq!(device.token.len(), 64);
    server.stop().await;
}

/// A push of 10,000 envelopes, the most `--max-envelopes-per-push` accepts,
/// is stored whole on both backends (issue 12, item 10: SQLite answered 500,
/// "too many SQL variables"); so are the same push again (every envelope a
/// duplicate) and newer versions of all of them (every row replaced).
async fn the_largest_push_the_flag_allows_is_stored(server: TestServer) {
    const N: u64 = 10_000;
    let (account, device) = server.register().await;
    let records: Vec<RecordId> = (0..N).map(|_| RecordId::random()).collect();
    let batch = |version: u64| -> Vec<Vec<u8>> {
        records.iter().map(|r| account.envelope(&device, *r, version, "x")).collect()
    };
    let first = batch(1);
    let response = server.push(&device, first.clone()).await;
    let stored: Vec<PushResult> = (1..=N).map(|seq| PushResult::Stored { seq: Cursor(seq) }).collect();
    assert_eq!(response.results, stored);
    assert_eq!(response.cursor, Cursor(N));

    let again = server.push(&device, first).await;
    assert_eq!((again.results, again.cursor), (vec![PushResult::Duplicate; N as usize], Cursor(N)));

    let newer = server.push(&device, batch(2)).await;
    let stored: Vec<PushResult> = (N + 1..=2 * N).map(|seq| PushResult::Stored { seq: Cursor(seq) }).collect();
    assert_eq!(newer.results, stored);

    let (mut cursor, mut pulled) = (0, 0);
    loop {
        let page = server.pull(&device, cursor, 1000).await;
        pulled += page.envelopes.len() as u64;
        assert!(page.envelopes.iter().all(|e| e.seq.0 > N), "only the newer versions are kept");
        cursor = page.next_cursor.0;
        if !page.more {
            break;
        }
    }
    assert_eq!((pulled, cursor), (N, 2 * N));
    server.stop().await;
}
