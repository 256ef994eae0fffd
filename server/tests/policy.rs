//! Server policies that need non-default settings: rate limits on the account
//! endpoints, the per-account quota, and closed registration. Both backends.

mod common;

use common::TestServer;
use reqwest::{Method, StatusCode};
use sealsync_envelope::dto::{PushResult, RejectCode, ServerLimits};
use sealsync_envelope::{Cursor, RecordId};
use std::time::Duration;

use sealsync_server::{Registration, Settings};
use serde_json::json;

on_both_backends!(
    account_endpoints_are_rate_limited_per_address with strict_rate_limit,
    auth_key_guesses_through_account_deletion_are_rate_limited,
    auth_key_checks_are_limited_per_account_whatever_the_address with per_account_limit,
    auth_key_checks_are_limited_per_address_and_ipv6_prefix with per_address_limit,
    the_account_quota_is_enforced with small_quota,
    closed_registration_still_admits_new_devices with closed_registration,
    the_largest_push_the_flag_allows_is_stored with largest_push,
);

fn strict_rate_limit() -> Settings {
    Settings { auth_per_minute: 1, auth_burst: 2, ..Settings::default() }
}

/// Every request may name its own client address, and an account's
/// auth-key checks take from a small budget that refills in seconds.
fn per_account_limit() -> Settings {
    Settings {
        trust_forwarded_for: true,
        account_auth_burst: 3,
        account_auth_interval: Duration::from_secs(4),
        ..Settings::default()
    }
}

/// Every request may name its own client address; the per-address budget is
/// small and the per-account one out of the way.
fn per_address_limit() -> Settings {
    Settings {
        trust_forwarded_for: true,
        auth_per_minute: 1,
        auth_burst: 3,
        account_auth_burst: 1000,
        ..Settings::default()
    }
}

fn small_quota() -> Settings {
    Settings { limits: ServerLimits { max_account_bytes: 1500, ..ServerLimits::default() }, ..Settings::default() }
}

/// The most `--max-envelopes-per-push` accepts.
fn largest_push() -> Settings {
    Settings {
        limits: ServerLimits { max_envelopes_per_push: 10_000, ..ServerLimits::default() },
        ..Settings::default()
    }
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

/// The 429 answer of a rate limit: `Retry-After` in seconds and a problem
/// document with the code `rate_limited`.
async fn assert_rate_limited(response: reqwest::Response, most_seconds: u64) -> u64 {
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=most_seconds).contains(&retry_after), "{retry_after}");
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let problem: serde_json::Value = response.json().await.unwrap();
    assert_eq!(problem["code"], json!("rate_limited"));
    retry_after
}

/// A login from `address` (as `X-Forwarded-For` names it).
async fn login_from(server: &TestServer, address: &str, name: &str, auth_key: [u8; 32]) -> reqwest::Response {
    let body = json!({ "account_name": name, "auth_key": hex::encode(auth_key),
        "device": { "id": uuid::Uuid::new_v4(), "encrypted_name": "" } });
    server.http.post(server.url("/v1/login")).header("x-forwarded-for", address).json(&body).send().await.unwrap()
}

/// An account deletion with `token` from `address`.
async fn delete_from(server: &TestServer, address: &str, token: &str, auth_key: [u8; 32]) -> reqwest::Response {
    let body = json!({ "auth_key": hex::encode(auth_key) });
    let request = server.http.delete(server.url("/v1/account")).bearer_auth(token).json(&body);
    request.header("x-forwarded-for", address).send().await.unwrap()
}

/// Issue 12, item 7: with one device token, wrong auth keys sent to
/// `DELETE /v1/account` were answered 401 forever (40 of 40), so a stolen
/// token was an unlimited passphrase oracle. Now the server's default limits
/// answer 429 long before that, and the account survives.
async fn auth_key_guesses_through_account_deletion_are_rate_limited(server: TestServer) {
    let (account, device) = server.register().await;
    let wrong = json!({ "auth_key": hex::encode([7u8; 32]) });
    let mut answers = vec![];
    for _ in 0..40 {
        let request = server.http.delete(server.url("/v1/account")).bearer_auth(&device.token).json(&wrong);
        let response = request.send().await.unwrap();
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert_rate_limited(response, 3600).await;
        }
        answers.push(status);
    }
    let unauthorized = answers.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    assert!(unauthorized <= 10, "{unauthorized} of 40 wrong auth keys were checked: {answers:?}");
    assert!(answers[unauthorized..].iter().all(|s| *s == StatusCode::TOO_MANY_REQUESTS), "{answers:?}");
    assert!(server.db.rows_of_account(account.id).await > 0, "the account is still there");
    server.stop().await;
}

/// A distributed guesser, every request from another address, is limited by
/// the account's own budget: login and account deletion draw on the same
/// one, a 429 does not tell a right auth key from a wrong one, an unknown
/// name is limited exactly like a real one (no enumeration), other accounts
/// are untouched, and the budget refills, so the owner is never locked out
/// for good.
async fn auth_key_checks_are_limited_per_account_whatever_the_address(server: TestServer) {
    let (account, device) = server.register().await;
    let (other, _) = server.register().await;
    let mut address = 0u32;
    let mut next = || {
        address += 1;
        format!("10.{}.{}.{}", address >> 16, (address >> 8) & 255, address & 255)
    };
    for _ in 0..2 {
        assert_eq!(login_from(&server, &next(), &account.name, [7; 32]).await.status(), StatusCode::UNAUTHORIZED);
    }
    let response = delete_from(&server, &next(), &device.token, [7; 32]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // The budget of 3 is spent: wrong and right keys alike now get 429.
    assert_rate_limited(login_from(&server, &next(), &account.name, [7; 32]).await, 4).await;
    assert_rate_limited(login_from(&server, &next(), &account.name, account.auth_key).await, 4).await;
    let retry_after =
        assert_rate_limited(delete_from(&server, &next(), &device.token, account.auth_key).await, 4).await;
    assert!(server.db.rows_of_account(account.id).await > 0);

    // An unknown name: the same answers in the same order.
    for _ in 0..3 {
        let response = login_from(&server, &next(), "nobody-here@example.org", [7; 32]).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    assert_rate_limited(login_from(&server, &next(), "nobody-here@example.org", [7; 32]).await, 4).await;

    // Another account is untouched.
    assert_eq!(login_from(&server, &next(), &other.name, other.auth_key).await.status(), StatusCode::OK);

    // The budget refills: after Retry-After the owner signs in.
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    assert_eq!(login_from(&server, &next(), &account.name, account.auth_key).await.status(), StatusCode::OK);
    server.stop().await;
}

/// One address (an IPv6 address counts by its /64) is limited across
/// accounts and endpoints that check an auth key; another /64 is not.
async fn auth_key_checks_are_limited_per_address_and_ipv6_prefix(server: TestServer) {
    let (account, device) = server.register().await;
    let (other, _) = server.register().await;
    let response = delete_from(&server, "2001:db8:1:2::1", &device.token, [7; 32]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = delete_from(&server, "2001:db8:1:2::2", &device.token, [7; 32]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = login_from(&server, "2001:db8:1:2:ffff::3", &other.name, [7; 32]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_rate_limited(delete_from(&server, "2001:db8:1:2::4", &device.token, account.auth_key).await, 60).await;
    assert!(server.db.rows_of_account(account.id).await > 0);
    // The limit comes before the token is looked at.
    assert_rate_limited(delete_from(&server, "2001:db8:1:2::5", &"0".repeat(64), [7; 32]).await, 60).await;
    let response = delete_from(&server, "2001:db8:1:3::1", &device.token, account.auth_key).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
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
