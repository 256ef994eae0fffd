//! Statements of PROTOCOL.md §8 checked over real HTTP, on SQLite and on
//! Postgres: the codes of the JSON fields, the 415 of every endpoint that
//! takes a body, the clamped pull limit, what the server stores of a token,
//! which push results take positions, how decoder errors map to push
//! rejection codes, and the page a push answer carries.

mod common;

use common::{Account, TestServer};
use reqwest::{Method, StatusCode};
use sealsync_envelope::dto::{PushResult, RejectCode, ServerLimits};
use sealsync_envelope::{Cursor, DeviceId, Envelope, MAX_ENVELOPE_LEN, RecordId};
use sealsync_server::Settings;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

on_both_backends!(
    every_endpoint_with_a_body_answers_415,
    json_fields_have_their_own_codes with many_attempts,
    ids_must_be_random_uuids_in_lower_case_hyphenated_form with many_attempts,
    a_pull_limit_above_the_page_size_is_clamped with three_per_page,
    the_token_is_stored_as_the_sha256_of_its_hex_text,
    only_stored_envelopes_take_positions,
    decoder_errors_map_to_push_rejection_codes,
    a_counter_far_above_the_device_s_highest_is_refused,
    a_push_answer_carries_the_page_after_the_cursor with three_per_page,
);

const PROTOCOL: &str = include_str!("../../docs/PROTOCOL.md");

/// The rows of the §8 endpoint table: (endpoint, body in → out, errors).
fn endpoint_table() -> Vec<(String, String, String)> {
    let section = PROTOCOL.split("\n## 8. HTTP API").nth(1).expect("§8 exists");
    section
        .lines()
        .skip_while(|l| !l.starts_with("| endpoint |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<String> = l.trim_matches('|').split(" | ").map(|c| c.trim().to_owned()).collect();
            (cells[0].clone(), cells[2].clone(), cells[3].clone())
        })
        .collect()
}

/// PROTOCOL.md §8: every endpoint that takes a body lists 415
/// `unsupported_media_type`, and answers it to a body of another type.
async fn every_endpoint_with_a_body_answers_415(server: TestServer) {
    let (_, device) = server.register().await;
    let token = Some(device.token.as_str());
    let table = endpoint_table();
    let with_body: Vec<&(String, String, String)> =
        table.iter().filter(|(_, body, _)| !body.starts_with('–')).collect();
    let endpoints: Vec<&str> = with_body.iter().map(|(e, _, _)| e.as_str()).collect();
    assert_eq!(
        endpoints,
        [
            "`POST /v1/accounts`",
            "`POST /v1/login/params`",
            "`POST /v1/login`",
            "`PUT /v1/devices/{id}/name`",
            "`POST /v1/sync/push`",
            "`POST /v1/sync/log/renew`",
            "`DELETE /v1/account`",
            "`POST /v1/keys/unlock`",
            "`POST /v1/account/passphrase`",
            "`PUT /v1/account/recovery`",
            "`POST /v1/account/rotate`",
            "`POST /v1/recover/keys`",
            "`POST /v1/recover`",
        ]
    );
    for (endpoint, _, errors) in &with_body {
        assert!(errors.contains("415 `unsupported_media_type`"), "{endpoint}: {errors}");
        assert!(errors.contains("413 `body_too_large`"), "{endpoint}: {errors}");
        let (method, path) = endpoint.trim_matches('`').split_once(' ').unwrap();
        let path = path.replace("{id}", &device.id.to_string());
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let (status, headers, body) = server.raw(method, &path, token, "text/plain", b"{}".to_vec()).await;
        let problem: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            (status, problem["code"].as_str()),
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("unsupported_media_type")),
            "{endpoint}"
        );
        assert_eq!(headers["content-type"], "application/problem+json");
    }
    server.stop().await;
}

/// These tests make more account requests than the default rate limit allows.
fn many_attempts() -> Settings {
    Settings { auth_per_minute: 60_000, auth_burst: 10_000, ..Settings::default() }
}

fn valid_registration() -> Value {
    serde_json::to_value(Account::new().register_request(DeviceId::random())).unwrap()
}

fn with(mut body: Value, pointer: &str, value: Value) -> Value {
    *body.pointer_mut(pointer).unwrap() = value;
    body
}

/// PROTOCOL.md §8.1: each field of a JSON body that is valid JSON of the
/// right shape but a bad value is answered with that field's code, and
/// nothing is stored.
async fn json_fields_have_their_own_codes(server: TestServer) {
    let upper = |hex: String| Value::String(hex.to_uppercase());
    let cases: Vec<(&str, Value, &str)> = vec![
        ("/protocol_version", json!(2), "unsupported_protocol_version"),
        ("/protocol_version", json!(65_537), "unsupported_protocol_version"),
        ("/account_name", json!("not a name"), "invalid_account_name"),
        ("/salt_seed", json!("zz"), "invalid_salt_seed"),
        ("/salt_seed", json!("ab".repeat(31)), "invalid_salt_seed"),
        ("/salt_seed", upper("ab".repeat(32)), "invalid_salt_seed"),
        ("/auth_key", json!("ab".repeat(33)), "invalid_auth_key"),
        ("/auth_key", upper("ab".repeat(32)), "invalid_auth_key"),
        ("/key_id", json!("ab".repeat(15)), "invalid_key_id"),
        ("/key_id", json!("ab".repeat(17)), "invalid_key_id"),
        ("/key_id", json!("g".repeat(32)), "invalid_key_id"),
        ("/key_id", upper("ab".repeat(16)), "invalid_key_id"),
        ("/wrapped_data_key", json!("00"), "invalid_wrapped_key"),
        ("/wrapped_data_key", upper("ab".repeat(72)), "invalid_wrapped_key"),
        ("/device/encrypted_name", json!("ab".repeat(513)), "invalid_device_name"),
        ("/device/encrypted_name", json!("abc"), "invalid_device_name"),
        ("/device/encrypted_name", json!("AB"), "invalid_device_name"),
        // Valid JSON of the wrong shape is malformed_json.
        ("/protocol_version", json!("1"), "malformed_json"),
        ("/salt_seed", json!(7), "malformed_json"),
        ("/device", json!(null), "malformed_json"),
    ];
    for (pointer, value, code) in cases {
        let body = with(valid_registration(), pointer, value.clone());
        let account = uuid::Uuid::parse_str(body["account_id"].as_str().unwrap()).unwrap();
        let (status, problem) = server.json(Method::POST, "/v1/accounts", None, Some(body)).await;
        assert_eq!((status, problem["code"].as_str()), (StatusCode::BAD_REQUEST, Some(code)), "{pointer} = {value}");
        assert_eq!(server.db.rows_of_account(sealsync_envelope::AccountId(account)).await, 0);
    }
    let mut missing = valid_registration();
    missing.as_object_mut().unwrap().remove("key_id");
    let (status, problem) = server.json(Method::POST, "/v1/accounts", None, Some(missing)).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::BAD_REQUEST, Some("malformed_json")));

    // The same codes on login, account deletion and renaming.
    let (account, device) = server.register().await;
    let login = |auth_key: Value| {
        json!({ "account_name": account.name, "auth_key": auth_key,
                "device": { "id": DeviceId::random(), "encrypted_name": "" } })
    };
    for key in [json!(hex::encode(account.auth_key).to_uppercase()), json!("00")] {
        let (status, problem) = server.json(Method::POST, "/v1/login", None, Some(login(key.clone()))).await;
        assert_eq!((status, problem["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_auth_key")));
        let body = json!({ "auth_key": key });
        let (status, problem) = server.json(Method::DELETE, "/v1/account", Some(&device.token), Some(body)).await;
        assert_eq!((status, problem["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_auth_key")));
    }
    let path = format!("/v1/devices/{}/name", device.id);
    for name in ["ABCD", "abc", &"ab".repeat(513)] {
        let body = json!({ "encrypted_name": name });
        let (status, problem) = server.json(Method::PUT, &path, Some(&device.token), Some(body)).await;
        assert_eq!((status, problem["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_device_name")));
    }
    let body = json!({ "encrypted_name": "ab".repeat(512) });
    let (status, _) = server.json(Method::PUT, &path, Some(&device.token), Some(body)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "512 sealed bytes fit");
    server.stop().await;
}

/// PROTOCOL.md §3.1 and §8.1: account and device ids are random (version 4,
/// variant RFC 9562) UUIDs, written in lower-case hyphenated form; ids in
/// paths must be in that form too.
async fn ids_must_be_random_uuids_in_lower_case_hyphenated_form(server: TestServer) {
    let v4 = uuid::Uuid::new_v4();
    let mut v1 = *v4.as_bytes();
    v1[6] = (v1[6] & 0x0f) | 0x10;
    let mut microsoft = *v4.as_bytes();
    microsoft[8] = (microsoft[8] & 0x1f) | 0xc0;
    let refused = [
        uuid::Uuid::from_bytes(v1).to_string(),
        uuid::Uuid::from_bytes(microsoft).to_string(),
        uuid::Uuid::nil().to_string(),
        v4.to_string().to_uppercase(),
        v4.simple().to_string(),
        v4.braced().to_string(),
        v4.urn().to_string(),
    ];
    for id in &refused {
        let body = with(valid_registration(), "/account_id", json!(id));
        let (status, problem) = server.json(Method::POST, "/v1/accounts", None, Some(body)).await;
        assert_eq!((status, problem["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_account_id")), "{id}");
        let body = with(valid_registration(), "/device/id", json!(id));
        let (status, problem) = server.json(Method::POST, "/v1/accounts", None, Some(body)).await;
        assert_eq!((status, problem["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_device_id")), "{id}");
    }
    let (account, device) = server.register().await;
    for id in &refused[..2] {
        let login = json!({ "account_name": account.name, "auth_key": hex::encode(account.auth_key),
                            "device": { "id": id, "encrypted_name": "" } });
        let (status, problem) = server.json(Method::POST, "/v1/login", None, Some(login)).await;
        assert_eq!((status, problem["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_device_id")), "{id}");
    }
    // In a path, the text form is checked (not the version).
    let other = server.login(&account).await;
    for path_id in [other.id.0.to_string().to_uppercase(), other.id.0.simple().to_string()] {
        let (status, problem) =
            server.json(Method::DELETE, &format!("/v1/devices/{path_id}"), Some(&device.token), None).await;
        assert_eq!((status, problem["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_device_id")));
    }
    let (status, problem) =
        server.json(Method::DELETE, &format!("/v1/devices/{}", refused[0]), Some(&device.token), None).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::NOT_FOUND, Some("device_not_found")));
    let (status, _) =
        server.json(Method::DELETE, &format!("/v1/devices/{}", other.id), Some(&device.token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    server.stop().await;
}

fn three_per_page() -> Settings {
    Settings { limits: ServerLimits { max_page_size: 3, ..ServerLimits::default() }, ..Settings::default() }
}

/// PROTOCOL.md §8.2: a `limit` above `max_page_size` is clamped to it.
async fn a_pull_limit_above_the_page_size_is_clamped(server: TestServer) {
    let (account, device) = server.register().await;
    let envelopes = (1..=5).map(|i| account.envelope(&device, RecordId::random(), i, "x")).collect();
    server.push(&device, envelopes).await;
    for limit in ["4", "1000", "4294967296", "18446744073709551615"] {
        let response = server
            .http
            .get(server.url(&format!("/v1/sync/pull?limit={limit}")))
            .bearer_auth(&device.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "limit={limit}");
        let page: sealsync_envelope::dto::PullResponse =
            sealsync_envelope::dto::from_cbor(&response.bytes().await.unwrap(), usize::MAX).unwrap();
        assert_eq!((page.envelopes.len(), page.next_cursor, page.more), (3, Cursor(3), true), "limit={limit}");
    }
    let default = server.pull(&device, 3, 2).await;
    assert_eq!((default.envelopes.len(), default.more), (2, false));
    for query in ["limit=0", "limit=18446744073709551616", "limit=-1"] {
        let (status, problem) =
            server.json(Method::GET, &format!("/v1/sync/pull?{query}"), Some(&device.token), None).await;
        assert_eq!((status, problem["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_query")), "{query}");
    }
    server.stop().await;
}

/// PROTOCOL.md §8.1: the server stores `SHA-256` of the token's 64 ASCII
/// lower-case hex characters, not of the 32 bytes they spell; the token in
/// upper case is another (unknown) token.
async fn the_token_is_stored_as_the_sha256_of_its_hex_text(server: TestServer) {
    let (_, device) = server.register().await;
    assert_eq!(device.token.len(), 64);
    assert!(device.token.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')), "{}", device.token);
    let stored = server.db.token_hash_of(device.id).await;
    assert_eq!(stored, Sha256::digest(device.token.as_bytes()).to_vec());
    assert_ne!(stored, Sha256::digest(hex::decode(&device.token).unwrap()).to_vec());
    let (status, problem) = server.json(Method::GET, "/v1/devices", Some(&device.token.to_uppercase()), None).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_token")));
    server.stop().await;
}

/// PROTOCOL.md §8.2: two versions of one record from one device in one push:
/// the older is `superseded` and takes no `server_seq`; only `stored` results
/// carry positions, consecutive after the cursor before the push, and
/// `cursor` is the last of them.
async fn only_stored_envelopes_take_positions(server: TestServer) {
    let (account, device) = server.register().await;
    server.push(&device, vec![account.envelope(&device, RecordId::random(), 1, "before")]).await;
    let (a, b, c) = (RecordId::random(), RecordId::random(), RecordId::random());
    let batch = vec![
        account.envelope(&device, a, 2, "a, older"),
        account.envelope(&device, b, 3, "b"),
        account.envelope(&device, a, 4, "a, newer"),
        account.envelope(&device, c, 6, "c, newer"),
        account.envelope(&device, c, 5, "c, older, after the newer"),
        account.envelope(&device, b, 3, "b again, other bytes"),
    ];
    let response = server.push(&device, batch.clone()).await;
    assert_eq!(
        response.results,
        [
            PushResult::Superseded,
            PushResult::Stored { seq: Cursor(2) },
            PushResult::Stored { seq: Cursor(3) },
            PushResult::Stored { seq: Cursor(4) },
            PushResult::Superseded,
            PushResult::Rejected { code: RejectCode::DeviceSeqReused },
        ]
    );
    assert_eq!(response.cursor, Cursor(4));
    let page = server.pull(&device, 1, 100).await;
    let pulled: Vec<(Cursor, &Vec<u8>)> = page.envelopes.iter().map(|e| (e.seq, &e.envelope.0)).collect();
    assert_eq!(pulled, [(Cursor(2), &batch[1]), (Cursor(3), &batch[2]), (Cursor(4), &batch[3])]);
    // A push that stores nothing leaves the cursor where it was.
    let again = server.push(&device, batch[1..4].to_vec()).await;
    assert_eq!((again.results, again.cursor), (vec![PushResult::Duplicate; 3], Cursor(4)));
    server.stop().await;
}

/// PROTOCOL.md §8.2: a pushed `device_seq` more than 2^32 above the
/// highest the server has ever stored for the device (0 before its first)
/// is refused with `device_seq_jump`, so a token alone cannot push a
/// counter that outranks every future edit of the device (2^63 − 1);
/// the bound is the high-water mark when the push takes the lock.
async fn a_counter_far_above_the_device_s_highest_is_refused(server: TestServer) {
    use sealsync_envelope::dto::MAX_DEVICE_SEQ_JUMP as JUMP;
    let codes = PROTOCOL.split("\ncode   = ").nth(1).expect("§8.2 lists the codes");
    let codes = &codes[..codes.find("```").unwrap()];
    assert!(codes.contains("\"device_seq_jump\""), "§8.2 lists the code: {codes}");
    let jump = PushResult::Rejected { code: RejectCode::DeviceSeqJump };

    let (account, device) = server.register().await;
    let push = |seq: u64| {
        let envelope = account.envelope(&device, RecordId::random(), seq, "x");
        let server = &server;
        let device = &device;
        async move { server.push(device, vec![envelope]).await.results }
    };
    // A new device: at most 2^32.
    assert_eq!(push(JUMP + 1).await, [jump]);
    assert_eq!(push(sealsync_envelope::DeviceSeq::MAX.0).await, [jump], "the counter that outranks everything");
    assert_eq!(push(5).await, [PushResult::Stored { seq: Cursor(1) }]);
    assert_eq!(push(5 + JUMP + 1).await, [jump]);
    assert_eq!(push(5 + JUMP).await, [PushResult::Stored { seq: Cursor(2) }], "exactly the bound is accepted");
    // The mark moved: the next bound is from there, for every record of the device.
    assert_eq!(push(5 + 2 * JUMP).await, [PushResult::Stored { seq: Cursor(3) }]);

    // Within one push the bound is the mark when the push began.
    let other = server.login(&account).await;
    let (r1, r2) = (RecordId::random(), RecordId::random());
    let batch = vec![account.envelope(&other, r1, JUMP, "a"), account.envelope(&other, r2, JUMP + 5, "b")];
    let response = server.push(&other, batch).await;
    assert_eq!(response.results, [PushResult::Stored { seq: Cursor(4) }, jump]);
    // Another device's mark is its own; the refused envelope stored nothing.
    assert_eq!(server.pull(&other, 3, 100).await.envelopes.len(), 1);
    server.stop().await;
}

/// PROTOCOL.md §8.2: every decoder error class answers its push rejection
/// code: the invalid envelopes of `test-vectors/v1/envelope.json`, and
/// envelopes made here for the classes the vectors do not cover.
async fn decoder_errors_map_to_push_rejection_codes(server: TestServer) {
    let (_, device) = server.register().await;
    let vectors: Value =
        serde_json::from_str(include_str!("../../test-vectors/v1/envelope.json")).expect("envelope.json");
    let mut cases: Vec<(&str, Vec<u8>, RejectCode)> = vectors["invalid"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let class = match v["error"].as_str().unwrap() {
                "too_large" => "too_large",
                "malformed" => "malformed",
                "truncated" => "truncated",
                "trailing_bytes" => "trailing_bytes",
                "not_canonical" => "not_canonical",
                "unexpected_item" => "unexpected_item",
                "invalid_field" => "invalid_field",
                "unsupported_version" => "unsupported_version",
                "unsupported_suite" => "unsupported_suite",
                other => panic!("a vector of class {other}: map it here"),
            };
            let code = match class {
                "too_large" => RejectCode::EnvelopeTooLarge,
                "unsupported_version" => RejectCode::UnsupportedVersion,
                "unsupported_suite" => RejectCode::UnsupportedSuite,
                _ => RejectCode::MalformedEnvelope,
            };
            (class, hex::decode(v["envelope"].as_str().unwrap()).unwrap(), code)
        })
        .collect();
    // A record id announcing 17 bytes, in a short envelope: a wrong length, not a large envelope.
    let long_field = [&[0xa8, 0x01, 0x01, 0x02, 0x01, 0x03, 0x51][..], &[0u8; 17]].concat();
    cases.push(("invalid_field", long_field, RejectCode::MalformedEnvelope));
    // The envelope as a whole longer than the limit.
    cases.push(("too_large", vec![0xa8; MAX_ENVELOPE_LEN + 1], RejectCode::EnvelopeTooLarge));

    let classes: std::collections::BTreeSet<&str> = cases.iter().map(|(c, _, _)| *c).collect();
    assert_eq!(classes.len(), 9, "every §4.6 class is covered: {classes:?}");
    let envelopes: Vec<Vec<u8>> = cases.iter().map(|(_, bytes, _)| bytes.clone()).collect();
    for (expected, bytes, _) in &cases {
        let error = Envelope::decode(bytes).expect_err("an invalid envelope");
        assert_eq!(error.class(), *expected, "{error}");
    }
    let response = server.push(&device, envelopes).await;
    let codes: Vec<PushResult> = cases.iter().map(|(_, _, code)| PushResult::Rejected { code: *code }).collect();
    assert_eq!(response.results, codes);
    assert_eq!(response.cursor, Cursor(0));
    server.stop().await;
}

/// PROTOCOL.md §8.2, "The page of a push": the page holds what a pull after
/// the cursor would have returned just before the push's own envelopes took
/// their positions, with a pull's limit and paging; a complete page's
/// `next_cursor` passes the push's own positions; a limit of 0 stores
/// nothing; a push that does not ask gets no page.
async fn a_push_answer_carries_the_page_after_the_cursor(server: TestServer) {
    let (account, a) = server.register().await;
    let b = server.login(&account).await;
    let from_a: Vec<Vec<u8>> = (1..=5).map(|i| account.envelope(&a, RecordId::random(), i, "from a")).collect();
    assert!(server.push(&a, from_a.clone()).await.pull.is_none(), "no page unless asked");
    let seqs = |page: &sealsync_envelope::dto::PullResponse| -> Vec<(u64, Vec<u8>)> {
        page.envelopes.iter().map(|e| (e.seq.0, e.envelope.0.clone())).collect()
    };

    // B's first edit, from cursor 0: the page is clamped to 3 (the server's
    // page size) and says more follow; B's own envelope took position 6.
    let b1 = account.envelope(&b, RecordId::random(), 1, "b1");
    let answer = server.push_asking(&b, vec![b1.clone()], 0, None).await;
    assert_eq!((answer.results.clone(), answer.cursor), (vec![PushResult::Stored { seq: Cursor(6) }], Cursor(6)));
    let page = answer.pull.unwrap();
    let first_three: Vec<(u64, Vec<u8>)> = (1..=3).map(|i| (i, from_a[i as usize - 1].clone())).collect();
    assert_eq!((seqs(&page), page.next_cursor, page.more), (first_three, Cursor(3), true));

    // An empty push is a pull: the rest, B's own included (it was stored
    // before this push), and the cursor stays at the account's.
    let page = server.push_asking(&b, vec![], 3, Some(1000)).await.pull.unwrap();
    let rest = vec![(4, from_a[3].clone()), (5, from_a[4].clone()), (6, b1.clone())];
    assert_eq!((seqs(&page), page.next_cursor, page.more), (rest, Cursor(6), false));

    // Nothing new but B's own edit: an empty page that passes it.
    let b2 = account.envelope(&b, RecordId::random(), 2, "b2");
    let answer = server.push_asking(&b, vec![b2.clone()], 6, Some(2)).await;
    let page = answer.pull.unwrap();
    assert_eq!((answer.cursor, seqs(&page), page.next_cursor, page.more), (Cursor(7), vec![], Cursor(7), false));

    // A's edit between: A's page after 5 holds B's two, and passes A's own (8).
    let a6 = account.envelope(&a, RecordId::random(), 6, "a6");
    let page = server.push_asking(&a, vec![a6.clone()], 5, Some(1)).await.pull.unwrap();
    assert_eq!((seqs(&page), page.next_cursor, page.more), (vec![(6, b1.clone())], Cursor(6), true));
    let page = server.push_asking(&a, vec![a6.clone()], 6, Some(5)).await.pull.unwrap();
    assert_eq!(
        (seqs(&page), page.next_cursor, page.more),
        (vec![(7, b2), (8, a6.clone())], Cursor(8), false),
        "a duplicate stores nothing: the page runs to the account's cursor"
    );

    // A cursor ahead of the account's is answered as a pull answers it.
    let page = server.push_asking(&a, vec![], 100, None).await.pull.unwrap();
    assert_eq!((seqs(&page), page.next_cursor, page.more), (vec![], Cursor(100), false));

    // A limit of 0 fails the request, and stores nothing.
    let request = sealsync_envelope::dto::PushRequest {
        envelopes: vec![sealsync_envelope::dto::EnvelopeBytes(account.envelope(&a, RecordId::random(), 7, "never"))],
        pull: Some(sealsync_envelope::dto::PullAfter { after: Cursor(0), limit: Some(0) }),
    };
    let body = sealsync_envelope::dto::to_cbor(&request);
    let (status, _, bytes) = server.raw(Method::POST, "/v1/sync/push", Some(&a.token), "application/cbor", body).await;
    let problem: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!((status, problem["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_pull")));
    assert_eq!(server.pull(&a, 8, 10).await.envelopes.len(), 0, "nothing stored");
    server.stop().await;
}
