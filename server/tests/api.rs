//! The HTTP API end to end: a real server on a loopback port, over SQLite and
//! over Postgres, driven by real HTTP requests. Each test runs on both backends.

mod common;

use std::collections::HashSet;

use common::{Account, TestServer};
use reqwest::{Method, StatusCode};
use sealsync_envelope::dto::{EnvelopeBytes, PushRequest, PushResult, RejectCode, ServerLimits, to_cbor};
use sealsync_envelope::{Cursor, RecordId};
use sealsync_server::Settings;
use serde_json::json;

on_both_backends!(
    health_meta_and_metrics,
    registration_and_login,
    registration_refuses_bad_input,
    login_params_do_not_reveal_accounts,
    devices_are_listed_and_revoked,
    devices_are_renamed_within_their_account,
    a_device_renames_only_itself,
    push_then_pull_in_pages,
    repush_after_a_lost_response_changes_nothing,
    the_newest_envelope_per_record_and_device_survives,
    bad_envelopes_are_rejected_alone,
    bad_push_requests_store_nothing,
    tokens_are_required_and_scoped_to_their_account,
    pull_query_is_validated,
    account_deletion_removes_every_row,
    pushes_racing_account_deletion_leave_no_rows,
    concurrent_pushes_through_two_instances_are_never_skipped,
);

async fn health_meta_and_metrics(server: TestServer) {
    let (status, body) = server.json(Method::GET, "/health", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({ "status": "ok", "database": server.backend }));

    let (status, meta) = server.json(Method::GET, "/v1/meta", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(meta["protocol_versions"], json!([1]));
    assert_eq!(meta["suites"], json!([1]));
    assert_eq!(meta["registration_open"], json!(true));
    assert_eq!(meta["limits"]["max_envelopes_per_push"], json!(2000));
    assert_eq!(meta["limits"]["max_envelope_bytes"], json!(sealsync_envelope::MAX_ENVELOPE_LEN));

    // Metrics are served apart (crate::metrics, `--metrics-bind`), never by the API.
    let (status, _) = server.json(Method::GET, "/metrics", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let metrics_router = sealsync_server::metrics::router(None);
    let metrics_server = tokio::spawn(sealsync_server::serve(listener, metrics_router, std::future::pending()));
    let metrics = server.http.get(format!("http://{address}/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("sealsync_http_requests_total"), "{metrics}");
    metrics_server.abort();

    let (status, body) = server.json(Method::GET, "/v1/nothing-here", None, None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    server.stop().await;
}

async fn registration_and_login(server: TestServer) {
    let (account, first) = server.register().await;
    let second = server.login(&account).await;
    assert_ne!(first.token, second.token);
    assert_ne!(first.id, second.id);

    // Login returns the wrapped key exactly as registered.
    let request = json!({
        "account_name": account.name.to_uppercase(),
        "auth_key": hex::encode(account.auth_key),
        "device": { "id": uuid::Uuid::new_v4(), "encrypted_name": "00" },
    });
    let (status, session) = server.json(Method::POST, "/v1/login", None, Some(request)).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["key"]["wrapped_data_key"], json!(hex::encode(&account.wrapped_key)));
    assert_eq!(session["key"]["key_id"], json!(hex::encode(account.data_key.key_id().0)));
    assert_eq!(session["keyring"], json!([]), "one key, no older ones");
    assert_eq!(session["protocol_version"], json!(1));

    // A wrong auth key and an unknown name are the same answer.
    for (name, key) in [(account.name.clone(), [9u8; 32]), ("nobody@example.org".to_owned(), account.auth_key)] {
        let request = json!({
            "account_name": name, "auth_key": hex::encode(key),
            "device": { "id": uuid::Uuid::new_v4(), "encrypted_name": "" },
        });
        let (status, body) = server.json(Method::POST, "/v1/login", None, Some(request)).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_credentials")));
    }

    // The same name twice, and the same device id twice, are conflicts.
    let mut again = Account::new();
    again.name = account.name.clone();
    let body = serde_json::to_value(again.register_request(uuid::Uuid::new_v4().into_device())).unwrap();
    let (status, body) = server.json(Method::POST, "/v1/accounts", None, Some(body)).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("account_exists")));
    let request = json!({
        "account_name": account.name, "auth_key": hex::encode(account.auth_key),
        "device": { "id": second.id, "encrypted_name": "" },
    });
    let (status, body) = server.json(Method::POST, "/v1/login", None, Some(request)).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("device_exists")));
    server.stop().await;
}

trait IntoDevice {
    fn into_device(self) -> sealsync_envelope::DeviceId;
}

impl IntoDevice for uuid::Uuid {
    fn into_device(self) -> sealsync_envelope::DeviceId {
        sealsync_envelope::DeviceId(self)
    }
}

async fn registration_refuses_bad_input(server: TestServer) {
    let valid = || serde_json::to_value(Account::new().register_request(uuid::Uuid::new_v4().into_device())).unwrap();
    let cases: Vec<(serde_json::Value, StatusCode, &str)> = vec![
        (
            {
                let mut v = valid();
                v["protocol_version"] = json!(2);
                v
            },
            StatusCode::BAD_REQUEST,
            "unsupported_protocol_version",
        ),
        (
            {
                let mut v = valid();
                v["account_name"] = json!("not a name");
                v
            },
            StatusCode::BAD_REQUEST,
            "invalid_account_name",
        ),
        (
            {
                let mut v = valid();
                v["wrapped_data_key"] = json!("00");
                v
            },
            StatusCode::BAD_REQUEST,
            "invalid_wrapped_key",
        ),
        (
            {
                let mut v = valid();
                v["salt_seed"] = json!("zz");
                v
            },
            StatusCode::BAD_REQUEST,
            "invalid_salt_seed",
        ),
        (
            {
                let mut v = valid();
                v["salt_seed"] = json!(7);
                v
            },
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            {
                let mut v = valid();
                v["device"]["encrypted_name"] = json!("ab".repeat(513));
                v
            },
            StatusCode::BAD_REQUEST,
            "invalid_device_name",
        ),
    ];
    for (body, status, code) in cases {
        let (got, problem) = server.json(Method::POST, "/v1/accounts", None, Some(body)).await;
        assert_eq!((got, problem["code"].as_str()), (status, Some(code)), "{problem}");
    }
    let (status, headers, _) =
        server.raw(Method::POST, "/v1/accounts", None, "text/plain", valid().to_string().into_bytes()).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(headers["content-type"], "application/problem+json");
    let (status, _, _) = server.raw(Method::POST, "/v1/accounts", None, "application/json", b"{".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = server.raw(Method::POST, "/v1/accounts", None, "application/json", vec![b' '; 70_000]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    server.stop().await;
}

async fn login_params_do_not_reveal_accounts(server: TestServer) {
    let (account, _) = server.register().await;
    let params = |name: String| {
        let server = &server;
        async move {
            let (status, body) =
                server.json(Method::POST, "/v1/login/params", None, Some(json!({ "account_name": name }))).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            body
        }
    };
    let real = params(account.name.clone()).await;
    assert_eq!(real, json!({ "protocol_version": 1, "salt_seed": hex::encode(account.salt_seed) }));
    // Unknown names get an answer of the same shape, stable per name, distinct across names.
    let fake = params("ghost@example.org".into()).await;
    assert_eq!(fake, params("  Ghost@Example.org".into()).await);
    assert_ne!(fake, params("other-ghost@example.org".into()).await);
    assert_eq!(fake["protocol_version"], json!(1));
    assert_eq!(fake["salt_seed"].as_str().unwrap().len(), 64);
    // ...and the same answer from another instance on the same database.
    let other = server.second_instance(Default::default()).await;
    let (_, from_other) =
        other.json(Method::POST, "/v1/login/params", None, Some(json!({ "account_name": "ghost@example.org" }))).await;
    assert_eq!(from_other, fake);
    other.stop().await;
    server.stop().await;
}

async fn devices_are_listed_and_revoked(server: TestServer) {
    let (account, first) = server.register().await;
    let second = server.login(&account).await;
    let (status, list) = server.json(Method::GET, "/v1/devices", Some(&first.token), None).await;
    assert_eq!(status, StatusCode::OK);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    let me = list.iter().find(|d| d["id"] == json!(first.id)).unwrap();
    assert_eq!((me["current"].as_bool(), me["revoked_at"].is_null()), (Some(true), true));
    assert_eq!(me["encrypted_name"], json!("cd".repeat(40)));

    // Revocation takes effect at once.
    let path = format!("/v1/devices/{}", second.id);
    let (status, _) = server.json(Method::DELETE, &path, Some(&first.token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = server.json(Method::GET, "/v1/devices", Some(&second.token), None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("device_revoked")));
    let (status, body) = server.json(Method::DELETE, &path, Some(&first.token), None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("device_not_found")));
    let (_, list) = server.json(Method::GET, "/v1/devices", Some(&first.token), None).await;
    let revoked = list.as_array().unwrap().iter().find(|d| d["id"] == json!(second.id)).unwrap();
    assert!(revoked["revoked_at"].is_u64());

    // Another account cannot revoke this account's device.
    let (_, stranger) = server.register().await;
    let path = format!("/v1/devices/{}", first.id);
    let (status, _) = server.json(Method::DELETE, &path, Some(&stranger.token), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = server.json(Method::GET, "/v1/devices", Some(&first.token), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = server.json(Method::DELETE, "/v1/devices/not-a-uuid", Some(&first.token), None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_device_id")));
    server.stop().await;
}

async fn devices_are_renamed_within_their_account(server: TestServer) {
    let (account, first) = server.register().await;
    let joined = server.login(&account).await;
    let path = format!("/v1/devices/{}/name", joined.id);
    let rename = |name: String| json!({ "encrypted_name": name });
    let (status, _) = server.json(Method::PUT, &path, Some(&joined.token), Some(rename("ab".repeat(30)))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, list) = server.json(Method::GET, "/v1/devices", Some(&first.token), None).await;
    let renamed = list.as_array().unwrap().iter().find(|d| d["id"] == json!(joined.id)).unwrap();
    assert_eq!(renamed["encrypted_name"], json!("ab".repeat(30)));

    let (status, body) = server.json(Method::PUT, &path, Some(&joined.token), Some(rename("ab".repeat(513)))).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_device_name")));
    let (status, body) =
        server.json(Method::PUT, "/v1/devices/nope/name", Some(&first.token), Some(rename("00".into()))).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_device_id")));
    server.stop().await;
}

/// A device renames only itself (issue 12, item 11): another device of the
/// same account, another account's device, a revoked one or one that does not
/// exist are all `403 not_this_device`, and nothing changes. Revoking another
/// device of the account stays allowed.
async fn a_device_renames_only_itself(server: TestServer) {
    let (account, first) = server.register().await;
    let joined = server.login(&account).await;
    let (_, stranger) = server.register().await;
    let rename = |name: &str| json!({ "encrypted_name": name });
    let names = |token: String| {
        let server = &server;
        async move {
            let (_, list) = server.json(Method::GET, "/v1/devices", Some(&token), None).await;
            list.as_array().unwrap().iter().map(|d| (d["id"].clone(), d["encrypted_name"].clone())).collect::<Vec<_>>()
        }
    };
    let before = names(first.token.clone()).await;
    let targets = [joined.id.0, stranger.id.0, uuid::Uuid::new_v4()];
    for (target, token) in [
        (targets[0], &first.token),
        (targets[0], &stranger.token),
        (targets[1], &first.token),
        (targets[2], &first.token),
    ] {
        let path = format!("/v1/devices/{target}/name");
        let (status, body) = server.json(Method::PUT, &path, Some(token), Some(rename("ee"))).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_this_device")), "{target}");
    }
    assert_eq!(names(first.token.clone()).await, before, "nothing was renamed");
    let (_, list) = server.json(Method::GET, "/v1/devices", Some(&stranger.token), None).await;
    assert_eq!(list[0]["encrypted_name"], json!("cd".repeat(40)));

    // Revoking another device of the account is still allowed, and a revoked
    // device is not renamed by anyone.
    let (status, _) =
        server.json(Method::DELETE, &format!("/v1/devices/{}", joined.id), Some(&first.token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let path = format!("/v1/devices/{}/name", joined.id);
    let (status, body) = server.json(Method::PUT, &path, Some(&first.token), Some(rename("ee"))).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_this_device")));
    let (status, body) = server.json(Method::PUT, &path, Some(&joined.token), Some(rename("ee"))).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("device_revoked")));
    server.stop().await;
}

async fn push_then_pull_in_pages(server: TestServer) {
    let (account, device) = server.register().await;
    let envelopes: Vec<Vec<u8>> = (1..=5).map(|i| account.envelope(&device, RecordId::random(), i, "note")).collect();
    let response = server.push(&device, envelopes.clone()).await;
    let stored: Vec<_> = (1..=5).map(|seq| PushResult::Stored { seq: Cursor(seq) }).collect();
    assert_eq!(response.results, stored);
    assert_eq!(response.cursor, Cursor(5));

    let page = server.pull(&device, 0, 2).await;
    assert_eq!((page.envelopes.len(), page.next_cursor, page.more), (2, Cursor(2), true));
    let rest = server.pull(&device, page.next_cursor.0, 10).await;
    assert_eq!((rest.envelopes.len(), rest.next_cursor, rest.more), (3, Cursor(5), false));
    let pulled: Vec<Vec<u8>> = page.envelopes.iter().chain(&rest.envelopes).map(|e| e.envelope.0.clone()).collect();
    assert_eq!(pulled, envelopes, "bytes come back exactly as pushed, in push order");
    let empty = server.pull(&device, 5, 10).await;
    assert_eq!((empty.envelopes.len(), empty.next_cursor, empty.more), (0, Cursor(5), false));
    server.stop().await;
}

async fn repush_after_a_lost_response_changes_nothing(server: TestServer) {
    let (account, device) = server.register().await;
    let batch: Vec<Vec<u8>> = (1..=3).map(|i| account.envelope(&device, RecordId::random(), i, "x")).collect();
    let first = server.push(&device, batch.clone()).await;
    // The response is "lost": the device pushes the same batch again.
    let again = server.push(&device, batch).await;
    assert_eq!(again.results, vec![PushResult::Duplicate; 3]);
    assert_eq!(again.cursor, first.cursor);
    assert_eq!(server.pull(&device, 0, 100).await.envelopes.len(), 3);
    server.stop().await;
}

async fn the_newest_envelope_per_record_and_device_survives(server: TestServer) {
    let (account, device) = server.register().await;
    let other = server.login(&account).await;
    let record = RecordId::random();
    let v2 = account.envelope(&device, record, 2, "second");
    server.push(&device, vec![v2.clone()]).await;
    // A stale counter does not overwrite the newer one.
    let stale = server.push(&device, vec![account.envelope(&device, record, 1, "first")]).await;
    assert_eq!(stale.results, vec![PushResult::Superseded]);
    // The same counter with other bytes is refused, not acknowledged.
    let reused = server.push(&device, vec![account.envelope(&device, record, 2, "restored from backup")]).await;
    assert_eq!(reused.results, vec![PushResult::Rejected { code: RejectCode::DeviceSeqReused }]);
    // Another device's version of the record is kept beside it.
    let theirs = account.envelope(&other, record, 1, "theirs");
    server.push(&other, vec![theirs.clone()]).await;
    // A newer version replaces the old one and moves past the cursor.
    let v3 = account.envelope(&device, record, 3, "third");
    let pushed = server.push(&device, vec![v3.clone()]).await;
    assert_eq!(pushed.results, vec![PushResult::Stored { seq: Cursor(3) }]);

    let all = server.pull(&device, 0, 100).await;
    let bytes: Vec<&Vec<u8>> = all.envelopes.iter().map(|e| &e.envelope.0).collect();
    assert_eq!(bytes, vec![&theirs, &v3]);
    // A device that had pulled up to v2 sees v3 after its cursor.
    assert_eq!(server.pull(&device, 1, 100).await.envelopes.len(), 2);
    server.stop().await;
}

async fn bad_envelopes_are_rejected_alone(server: TestServer) {
    let (account, device) = server.register().await;
    let (stranger, _) = server.register().await;
    let good = account.envelope(&device, RecordId::random(), 1, "ok");
    let foreign_key = stranger.envelope(&device, RecordId::random(), 2, "other account's key");
    let other_device = server.login(&account).await;
    let not_mine = account.envelope(&other_device, RecordId::random(), 1, "sealed by another device");
    let mut future_version = account.envelope(&device, RecordId::random(), 3, "v2");
    future_version[2] = 0x02;
    let batch = vec![vec![0xa8, 0x01], foreign_key, not_mine, future_version, good.clone()];
    let response = server.push(&device, batch).await;
    assert_eq!(
        response.results,
        vec![
            PushResult::Rejected { code: RejectCode::MalformedEnvelope },
            PushResult::Rejected { code: RejectCode::UnknownKeyId },
            PushResult::Rejected { code: RejectCode::DeviceMismatch },
            PushResult::Rejected { code: RejectCode::UnsupportedVersion },
            PushResult::Stored { seq: Cursor(1) },
        ]
    );
    let pulled = server.pull(&device, 0, 100).await;
    assert_eq!(pulled.envelopes.iter().map(|e| &e.envelope.0).collect::<Vec<_>>(), vec![&good]);
    server.stop().await;
}

async fn bad_push_requests_store_nothing(server: TestServer) {
    let (account, device) = server.register().await;
    let token = Some(device.token.as_str());
    let one = || to_cbor(&sealsync_envelope::dto::PushRequest::new(vec![]));
    let cases: Vec<(&str, Vec<u8>, StatusCode, &str)> = vec![
        ("application/json", one(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
        ("application/cbor", vec![0xff, 0x00, 0x01], StatusCode::BAD_REQUEST, "malformed_cbor"),
        ("application/cbor", [one(), vec![0]].concat(), StatusCode::BAD_REQUEST, "malformed_cbor"),
        ("application/cbor", vec![0; 40 * 1024], StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
    ];
    // A second instance with a small request cap, so the oversize body fits in
    // the socket buffers and the early 413 cannot race the client's upload.
    let limits = ServerLimits { max_request_bytes: 32 * 1024, ..ServerLimits::default() };
    let small = server.second_instance(Settings { limits, ..Settings::default() }).await;
    for (content_type, body, status, code) in cases {
        let (got, headers, bytes) = small.raw(Method::POST, "/v1/sync/push", token, content_type, body).await;
        let problem: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!((got, problem["code"].as_str()), (status, Some(code)), "{problem}");
        assert_eq!(headers["content-type"], "application/problem+json");
    }
    let too_many: Vec<Vec<u8>> = (1..=2001).map(|i| account.envelope(&device, RecordId::random(), i, "x")).collect();
    let body = to_cbor(&sealsync_envelope::dto::PushRequest::new(
        too_many.into_iter().map(sealsync_envelope::dto::EnvelopeBytes).collect(),
    ));
    let (status, _, bytes) = server.raw(Method::POST, "/v1/sync/push", token, "application/cbor", body).await;
    let problem: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!((status, problem["code"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("too_many_envelopes")));
    assert!(server.pull(&device, 0, 100).await.envelopes.is_empty());
    small.stop().await;
    server.stop().await;
}

async fn tokens_are_required_and_scoped_to_their_account(server: TestServer) {
    let (account, device) = server.register().await;
    server.push(&device, vec![account.envelope(&device, RecordId::random(), 1, "mine")]).await;
    let (status, body) = server.json(Method::GET, "/v1/sync/pull", None, None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("missing_token")));
    for bad in ["nonsense", &"0".repeat(64), &device.token[..63]] {
        let (status, body) = server.json(Method::GET, "/v1/sync/pull", Some(bad), None).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_token")));
    }
    // Another account's device sees none of this account's envelopes.
    let (_, stranger) = server.register().await;
    assert!(server.pull(&stranger, 0, 100).await.envelopes.is_empty());
    server.stop().await;
}

async fn pull_query_is_validated(server: TestServer) {
    let (_, device) = server.register().await;
    for query in ["limit=0", "after=abc", "after=-1"] {
        let (status, body) =
            server.json(Method::GET, &format!("/v1/sync/pull?{query}"), Some(&device.token), None).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_query")), "{query}");
    }
    // A limit above the server's page size is clamped, not refused.
    let (status, _) = server.json(Method::GET, "/v1/sync/pull?limit=100000", Some(&device.token), None).await;
    assert_eq!(status, StatusCode::OK);
    server.stop().await;
}

async fn account_deletion_removes_every_row(server: TestServer) {
    let (account, device) = server.register().await;
    let second = server.login(&account).await;
    server.push(&device, vec![account.envelope(&device, RecordId::random(), 1, "gone soon")]).await;
    let (survivor, survivor_device) = server.register().await;
    server.push(&survivor_device, vec![survivor.envelope(&survivor_device, RecordId::random(), 1, "stays")]).await;
    assert!(server.db.rows_of_account(account.id).await >= 6, "with the pushing device's counter");

    let wrong = json!({ "auth_key": hex::encode([0u8; 32]) });
    let (status, body) = server.json(Method::DELETE, "/v1/account", Some(&device.token), Some(wrong)).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_credentials")));
    let right = json!({ "auth_key": hex::encode(account.auth_key) });
    let (status, _) = server.json(Method::DELETE, "/v1/account", Some(&device.token), Some(right)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    assert_eq!(server.db.rows_of_account(account.id).await, 0);
    for token in [&device.token, &second.token] {
        let (status, body) = server.json(Method::GET, "/v1/devices", Some(token), None).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid_token")),
            "not revoked: gone"
        );
    }
    assert_eq!(server.pull(&survivor_device, 0, 10).await.envelopes.len(), 1);
    server.stop().await;
}

/// Pushes racing the deletion of their account leave nothing behind: the
/// deletion waits for a push in progress, and every later push finds no
/// account (on Postgres no foreign key does this: the deletion's order does).
async fn pushes_racing_account_deletion_leave_no_rows(server: TestServer) {
    let (account, device) = server.register().await;
    let (second, third) = (server.login(&account).await, server.login(&account).await);
    let pushes = async {
        let (a, b, c) = tokio::join!(
            push_until_gone(&server, &account, &device),
            push_until_gone(&server, &account, &second),
            push_until_gone(&server, &account, &third)
        );
        a + b + c
    };
    let delete = async {
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        let right = json!({ "auth_key": hex::encode(account.auth_key) });
        server.json(Method::DELETE, "/v1/account", Some(&device.token), Some(right)).await.0
    };
    let (stored, deleted) = tokio::join!(pushes, delete);
    assert_eq!(deleted, StatusCode::NO_CONTENT);
    assert!(stored > 0, "some pushes landed before the deletion");
    assert_eq!(server.db.rows_of_account(account.id).await, 0, "no row of the account is left");
    server.stop().await;
}

/// Pushes batches of new records until the account is gone; how many landed.
async fn push_until_gone(server: &TestServer, account: &Account, device: &common::Device) -> u32 {
    let mut stored = 0;
    for batch in 0..40u64 {
        let envelopes: Vec<Vec<u8>> =
            (1..=100).map(|i| account.envelope(device, RecordId::random(), batch * 100 + i, "racing")).collect();
        let body = to_cbor(&PushRequest::new(envelopes.into_iter().map(EnvelopeBytes).collect()));
        let (status, _, _) =
            server.raw(Method::POST, "/v1/sync/push", Some(&device.token), "application/cbor", body).await;
        match status {
            StatusCode::OK => stored += 1,
            StatusCode::UNAUTHORIZED => break, // The account is gone.
            other => panic!("push answered {other}"),
        }
    }
    stored
}

/// The gap test: pushers on two server instances (two pools) for one account,
/// while a puller pages continuously. The puller must receive every envelope
/// that survives, none skipped, in cursor order; and so must each pusher,
/// which syncs as the reference client does, taking the page its push's
/// answer carries (PROTOCOL.md §8.2) and pulling on while it says more:
/// every survivor but its own.
async fn concurrent_pushes_through_two_instances_are_never_skipped(first: TestServer) {
    const PUSHERS: usize = 4;
    const BATCHES: u64 = 12;
    const PER_BATCH: u64 = 15;
    let second = first.second_instance(Default::default()).await;
    let (account, device) = first.register().await;
    let mut pushers = vec![];
    for _ in 0..PUSHERS {
        pushers.push(first.login(&account).await);
    }
    let account = std::sync::Arc::new(account);
    let servers = std::sync::Arc::new([first, second]);

    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let puller = {
        let (servers, done) = (servers.clone(), done.clone());
        tokio::spawn(async move {
            let (mut cursor, mut seen) = (0u64, Vec::new());
            loop {
                let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                let page = servers[1].pull(&device, cursor, 7).await;
                for e in &page.envelopes {
                    assert!(e.seq.0 > cursor, "cursor order: {} after {cursor}", e.seq.0);
                    cursor = e.seq.0;
                    seen.push((e.seq, e.envelope.0.clone()));
                }
                if finished && !page.more {
                    return seen;
                }
            }
        })
    };

    let mut tasks = vec![];
    for (p, device) in pushers.into_iter().enumerate() {
        let (servers, account) = (servers.clone(), account.clone());
        tasks.push(tokio::spawn(async move {
            // Each pusher rewrites a few of its records, so rows also move forward.
            let records: Vec<RecordId> = (0..PER_BATCH * 2).map(|_| RecordId::random()).collect();
            let mut seq = 0;
            let (mut cursor, mut seen) = (0u64, HashSet::new());
            for batch in 0..BATCHES {
                let envelopes = (0..PER_BATCH)
                    .map(|i| {
                        seq += 1;
                        let record = records[((batch * 7 + i) % records.len() as u64) as usize];
                        account.envelope(&device, record, seq, &format!("p{p} b{batch} i{i}"))
                    })
                    .collect();
                let server = &servers[(p + batch as usize) % 2];
                let response = server.push_asking(&device, envelopes, cursor, Some(7)).await;
                assert!(response.results.iter().all(|r| matches!(r, PushResult::Stored { .. })));
                let mut page = response.pull.unwrap();
                loop {
                    for e in &page.envelopes {
                        assert!(e.seq.0 > cursor, "cursor order: {} after {cursor}", e.seq.0);
                        seen.insert((e.seq, e.envelope.0.clone()));
                    }
                    cursor = page.next_cursor.0;
                    if !page.more {
                        break;
                    }
                    page = server.pull(&device, cursor, 7).await;
                }
            }
            (device.id, cursor, seen)
        }));
    }
    let mut pushed = vec![];
    for task in tasks {
        pushed.push(task.await.unwrap());
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let seen = puller.await.unwrap();

    let reader = servers[0].login(&account).await;
    let survivors = servers[0].pull(&reader, 0, 1000).await;
    assert!(!survivors.more);
    assert_eq!(survivors.envelopes.len(), PUSHERS * (PER_BATCH * 2) as usize);
    let seen: HashSet<(Cursor, Vec<u8>)> = seen.into_iter().collect();
    for survivor in &survivors.envelopes {
        assert!(seen.contains(&(survivor.seq, survivor.envelope.0.clone())), "skipped seq {}", survivor.seq.0);
    }
    // Each pusher, once it pulls what came after its last push, has every
    // survivor but its own.
    for (me, mut cursor, mut seen) in pushed {
        loop {
            let page = servers[0].pull(&reader, cursor, 1000).await;
            seen.extend(page.envelopes.iter().map(|e| (e.seq, e.envelope.0.clone())));
            cursor = page.next_cursor.0;
            if !page.more {
                break;
            }
        }
        for survivor in &survivors.envelopes {
            let from = sealsync_envelope::Envelope::decode(&survivor.envelope.0).unwrap().header.device_id;
            assert!(
                from == me || seen.contains(&(survivor.seq, survivor.envelope.0.clone())),
                "a pusher's pages skipped seq {}",
                survivor.seq.0
            );
        }
    }
    // Every pair keeps exactly one envelope, each at its own position.
    let positions: HashSet<Cursor> = survivors.envelopes.iter().map(|e| e.seq).collect();
    assert_eq!(positions.len(), survivors.envelopes.len());
}
