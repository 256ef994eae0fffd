//! The device-linking relay (PROTOCOL.md §6, §8.3) over real HTTP, on SQLite
//! and on Postgres: a new device N and an approving device A built from
//! `sealsync_crypto::link`, exchanging through the server exactly what the
//! specification says, plus the relay's refusals (wrong code, second claim,
//! second fetch, expiry, rate limit, another account, malformed requests).

mod common;

use std::time::Duration;

use common::{Account, Device, TestServer};
use reqwest::{Method, StatusCode};
use sealsync_crypto::DataKey;
use sealsync_crypto::link::{
    ApproverLink, LinkCode, LinkKeys, LinkMessage, LinkPassword, NewDeviceLink, PairingNumber,
};
use sealsync_envelope::dto::{ApproverPairingView, CreatePairingResponse, NewDevicePairingView, PairingState};
use sealsync_envelope::{AccountId, DeviceId, RecordId, RecordSealer};
use sealsync_server::Settings;
use serde_json::{Value, json};

on_both_backends!(
    a_new_device_is_linked_through_the_relay,
    a_wrong_code_fails_a_confirmation_and_burns_the_pairing,
    a_pairing_is_claimed_once_and_only_its_claimant_goes_on with many_attempts,
    a_bundle_is_fetched_once,
    deleting_the_account_deletes_the_pairings_it_claimed,
    an_expired_pairing_is_refused with short_pairings,
    pairing_endpoints_are_rate_limited_per_address with strict_pairing_rate,
    pairing_requests_are_checked_field_by_field with many_attempts,
    every_pairing_endpoint_with_a_body_answers_415_and_413 with many_attempts,
);

fn short_pairings() -> Settings {
    Settings { pairing_ttl: Duration::from_millis(1500), ..many_attempts() }
}

fn strict_pairing_rate() -> Settings {
    Settings { pairing_per_minute: 1, pairing_burst: 3, ..Settings::default() }
}

fn many_attempts() -> Settings {
    Settings { pairing_per_minute: 60_000, pairing_burst: 10_000, ..Settings::default() }
}

/// How a request authenticates.
#[derive(Clone, Copy)]
enum Auth<'a> {
    None,
    Bearer(&'a str),
    Pairing(&'a str),
}

async fn call(
    server: &TestServer,
    method: Method,
    path: &str,
    auth: Auth<'_>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = server.http.request(method, server.url(path));
    request = match auth {
        Auth::None => request,
        Auth::Bearer(token) => request.bearer_auth(token),
        Auth::Pairing(secret) => request.header("authorization", format!("Pairing {secret}")),
    };
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let bytes = response.bytes().await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn code_of(answer: &(StatusCode, Value)) -> (StatusCode, Option<&str>) {
    (answer.0, answer.1["code"].as_str())
}

/// N: the new device, from its first message on.
struct New {
    id: DeviceId,
    link: Option<NewDeviceLink>,
    pairing: PairingNumber,
    secret: String,
    code: String,
}

impl New {
    /// `POST /v1/pairings` with a fresh link.
    async fn open(server: &TestServer) -> New {
        let id = DeviceId::random();
        let link = NewDeviceLink::start(*id.as_bytes()).unwrap();
        let body = json!({ "device_id": id, "message": hex::encode(link.message().as_bytes()) });
        let (status, answer) = call(server, Method::POST, "/v1/pairings", Auth::None, Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
        let answer: CreatePairingResponse = serde_json::from_value(answer).unwrap();
        let pairing = PairingNumber::parse(&answer.pairing).unwrap();
        let code = link.code(pairing).to_text().to_string();
        New { id, link: Some(link), pairing, secret: answer.secret, code }
    }

    fn path(&self, tail: &str) -> String {
        format!("/v1/pairings/{}{tail}", self.pairing)
    }

    async fn get(&self, server: &TestServer) -> (StatusCode, Value) {
        call(server, Method::GET, &self.path(""), Auth::Pairing(&self.secret), None).await
    }

    async fn view(&self, server: &TestServer) -> NewDevicePairingView {
        let (status, view) = self.get(server).await;
        assert_eq!(status, StatusCode::OK, "{view}");
        serde_json::from_value(view).unwrap()
    }

    /// Reads A's answer and finishes SPAKE2 with it.
    async fn finish(&mut self, server: &TestServer) -> (LinkKeys, Vec<u8>) {
        let view = self.view(server).await;
        assert_eq!(view.state, PairingState::Claimed);
        let approver = *view.approver_device_id.unwrap().as_bytes();
        let message = LinkMessage::from_bytes(&view.message.unwrap()).unwrap();
        let keys = self.link.take().unwrap().finish(self.pairing, approver, &message).unwrap();
        (keys, view.confirm.unwrap())
    }

    async fn confirm(&self, server: &TestServer, keys: &LinkKeys, name: &str) -> (StatusCode, Value) {
        let body = json!({
            "confirm": hex::encode(keys.confirm_new.expose_secret()),
            "encrypted_name": hex::encode(keys.seal_name(name.as_bytes()).unwrap()),
        });
        call(server, Method::POST, &self.path("/confirm"), Auth::Pairing(&self.secret), Some(body)).await
    }

    async fn fail(&self, server: &TestServer) -> (StatusCode, Value) {
        call(server, Method::POST, &self.path("/fail"), Auth::Pairing(&self.secret), None).await
    }
}

/// A: an approving device of an account.
struct Approver<'a> {
    account: &'a Account,
    device: &'a Device,
}

impl Approver<'_> {
    async fn get(&self, server: &TestServer, pairing: PairingNumber) -> (StatusCode, Value) {
        call(server, Method::GET, &format!("/v1/pairings/{pairing}"), Auth::Bearer(&self.device.token), None).await
    }

    async fn view(&self, server: &TestServer, pairing: PairingNumber) -> ApproverPairingView {
        let (status, view) = self.get(server, pairing).await;
        assert_eq!(status, StatusCode::OK, "{view}");
        serde_json::from_value(view).unwrap()
    }

    /// Reads the typed code, fetches N's message, finishes SPAKE2, and claims.
    async fn claim(&self, server: &TestServer, typed: &str) -> (LinkKeys, (StatusCode, Value)) {
        let code = LinkCode::parse(typed).unwrap();
        let view = self.view(server, code.pairing()).await;
        assert_eq!(view.state, PairingState::Open);
        let link = ApproverLink::start(&code, *view.new_device_id.as_bytes(), *self.device.id.as_bytes());
        let message = link.message();
        let keys = link.finish(&LinkMessage::from_bytes(&view.message).unwrap()).unwrap();
        let body = json!({
            "message": hex::encode(message.as_bytes()),
            "confirm": hex::encode(keys.confirm_approver.expose_secret()),
        });
        let path = format!("/v1/pairings/{}/claim", code.pairing());
        (keys, call(server, Method::POST, &path, Auth::Bearer(&self.device.token), Some(body)).await)
    }

    /// Checks N's confirmation, opens its name, and approves with the bundle.
    async fn approve(&self, server: &TestServer, keys: &LinkKeys, bundle: &[u8]) -> (String, (StatusCode, Value)) {
        let pairing = keys.transcript.pairing;
        let view = self.view(server, pairing).await;
        assert_eq!(view.state, PairingState::Confirmed);
        keys.check_new(&view.confirm.unwrap()).unwrap();
        let name = String::from_utf8(keys.open_name(&view.encrypted_name.unwrap()).unwrap()).unwrap();
        let new_id = DeviceId(uuid::Uuid::from_bytes(keys.transcript.new_device_id));
        let body = json!({
            "encrypted_name": hex::encode(seal_device_name(&self.account.data_key, new_id, &name)),
            "bundle": hex::encode(keys.seal_bundle(bundle).unwrap()),
        });
        let path = format!("/v1/pairings/{pairing}/approve");
        (name, call(server, Method::POST, &path, Auth::Bearer(&self.device.token), Some(body)).await)
    }
}

/// A device name as every device seals it (PROTOCOL.md §8.1).
fn seal_device_name(data_key: &DataKey, device: DeviceId, name: &str) -> Vec<u8> {
    let aad = [b"sealsync/v1/device-name".as_slice(), device.as_bytes()].concat();
    let mut buffer = name.as_bytes().to_vec();
    let nonce = data_key.record_key().seal(&aad, &mut buffer).unwrap();
    [&nonce[..], &buffer].concat()
}

/// This test's bundle: the account id and the data key (the real one is the client's).
fn bundle_of(account: &Account) -> Vec<u8> {
    [account.id.as_bytes().as_slice(), account.data_key.expose_secret()].concat()
}

/// Drives a pairing to `approved`: returns N, A's and N's keys.
async fn approved(server: &TestServer, approver: &Approver<'_>) -> (New, LinkKeys) {
    let mut new = New::open(server).await;
    let (a_keys, claim) = approver.claim(server, &new.code).await;
    assert_eq!(claim.0, StatusCode::OK, "{}", claim.1);
    let (n_keys, confirm) = new.finish(server).await;
    n_keys.check_approver(&confirm).unwrap();
    assert_eq!(new.confirm(server, &n_keys, "new phone").await.0, StatusCode::OK);
    let (_, approve) = approver.approve(server, &a_keys, &bundle_of(approver.account)).await;
    assert_eq!(approve.0, StatusCode::OK, "{}", approve.1);
    (new, n_keys)
}

async fn a_new_device_is_linked_through_the_relay(server: TestServer) {
    let (account, a) = server.register().await;
    let approver = Approver { account: &account, device: &a };

    // 1. N opens a pairing and shows its code: 16 characters.
    let mut new = New::open(&server).await;
    assert_eq!(new.code.len(), 16);
    assert_eq!(new.view(&server).await.state, PairingState::Open);

    // 2. The user types it on A (sloppily); A claims with its message and confirmation.
    let typed = new.code.to_lowercase().replace('-', " ");
    let (a_keys, (status, claimed)) = approver.claim(&server, &typed).await;
    assert_eq!(status, StatusCode::OK, "{claimed}");
    assert_eq!(claimed["state"], "claimed");
    assert_eq!(claimed["new_device_id"], json!(new.id));

    // 3. N checks A's confirmation before it sends anything derived from K.
    let (n_keys, confirm) = new.finish(&server).await;
    n_keys.check_approver(&confirm).unwrap();
    let (status, confirmed) = new.confirm(&server, &n_keys, "Sam's phone").await;
    assert_eq!((status, &confirmed["state"]), (StatusCode::OK, &json!("confirmed")), "{confirmed}");

    // 4. A checks N's confirmation, reads its name, and hands over.
    let bundle = bundle_of(&account);
    let (name, (status, approved)) = approver.approve(&server, &a_keys, &bundle).await;
    assert_eq!(name, "Sam's phone");
    assert_eq!((status, &approved["state"]), (StatusCode::OK, &json!("approved")), "{approved}");
    // N is not a device of the account until it has its token.
    let (_, devices) = server.json(Method::GET, "/v1/devices", Some(&a.token), None).await;
    assert_eq!(devices.as_array().unwrap().len(), 1);

    // 5. N fetches the bundle and its token, once.
    let view = new.view(&server).await;
    assert_eq!(view.state, PairingState::Approved);
    let opened = n_keys.open_bundle(&view.bundle.unwrap()).unwrap();
    assert_eq!(&*opened, bundle.as_slice());
    let n = Device { id: new.id, token: view.token.unwrap() };
    assert_eq!(code_of(&new.get(&server).await), (StatusCode::NOT_FOUND, Some("pairing_not_found")));
    assert_eq!(code_of(&approver.get(&server, new.pairing).await), (StatusCode::NOT_FOUND, Some("pairing_not_found")));

    // N is a device of the account, under the name A sealed for it, and
    // syncs with the data key from the bundle.
    let (status, devices) = server.json(Method::GET, "/v1/devices", Some(&n.token), None).await;
    assert_eq!(status, StatusCode::OK);
    let me = devices.as_array().unwrap().iter().find(|d| d["current"] == json!(true)).unwrap();
    assert_eq!(me["id"], json!(new.id));
    let sealed_name = hex::decode(me["encrypted_name"].as_str().unwrap()).unwrap();
    let data_key = DataKey::try_from_slice(&opened[16..]).unwrap();
    let (nonce, ciphertext) = sealed_name.split_first_chunk::<24>().unwrap();
    let mut name = ciphertext.to_vec();
    let aad = [b"sealsync/v1/device-name".as_slice(), new.id.as_bytes()].concat();
    data_key.record_key().open(nonce, &aad, &mut name).unwrap();
    assert_eq!(name, b"Sam's phone");
    let account_id = AccountId::from_bytes(opened[..16].try_into().unwrap());
    let sealer = RecordSealer::new(account_id, &data_key);
    let payload = sealsync_envelope::RecordPayload {
        kind: sealsync_envelope::RecordKind::new("mood").unwrap(),
        hlc: sealsync_envelope::Hlc::new(1_764_000_000_000, 0).unwrap(),
        created_at: sealsync_envelope::UnixMillis(1_764_000_000_000),
        deleted_at: None,
        body: b"from the linked device".to_vec(),
    };
    let envelope = sealer.seal(RecordId::random(), n.id, sealsync_envelope::DeviceSeq(1), &payload).unwrap();
    let pushed = server.push(&n, vec![envelope.encode()]).await;
    assert!(matches!(pushed.results[..], [sealsync_envelope::dto::PushResult::Stored { .. }]));
    let pulled = server.pull(&a, 0, 10).await;
    let opened = account.sealer.open(pulled.envelopes[0].envelope.decode().unwrap()).unwrap();
    assert_eq!(opened.body, b"from the linked device");
    server.stop().await;
}

async fn a_wrong_code_fails_a_confirmation_and_burns_the_pairing(server: TestServer) {
    let (account, a) = server.register().await;
    let approver = Approver { account: &account, device: &a };
    let mut new = New::open(&server).await;
    // One character of the password mistyped (still a well-formed code).
    let mut typed = new.code.clone().into_bytes();
    let last = typed.len() - 1;
    typed[last] = if typed[last] == b'0' { b'2' } else { b'0' };
    let typed = String::from_utf8(typed).unwrap();
    let (a_keys, claim) = approver.claim(&server, &typed).await;
    assert_eq!(claim.0, StatusCode::OK);

    let (n_keys, confirm) = new.finish(&server).await;
    assert_eq!(n_keys.check_approver(&confirm), Err(sealsync_crypto::Error::LinkConfirmation));
    assert_eq!(new.fail(&server).await.0, StatusCode::NO_CONTENT);

    // Both sides see it, on every request, until it expires.
    let burned = (StatusCode::GONE, Some("pairing_failed"));
    assert_eq!(code_of(&new.get(&server).await), burned);
    assert_eq!(code_of(&new.get(&server).await), burned);
    assert_eq!(code_of(&approver.get(&server, new.pairing).await), burned);
    assert_eq!(code_of(&new.confirm(&server, &n_keys, "x").await), burned);
    assert_eq!(code_of(&new.fail(&server).await), burned);
    let body = json!({ "encrypted_name": "", "bundle": hex::encode(a_keys.seal_bundle(b"keys").unwrap()) });
    let approve = call(&server, Method::POST, &new.path("/approve"), Auth::Bearer(&a.token), Some(body)).await;
    assert_eq!(code_of(&approve), burned);
    // Nothing of the exchange is left on the server but the tombstone.
    let (other_account, other) = server.register().await;
    let other = Approver { account: &other_account, device: &other };
    assert_eq!(code_of(&other.get(&server, new.pairing).await), burned);

    // The approver's side: N confirms honestly but A sees a mismatch, and fails it.
    let mut new = New::open(&server).await;
    let (_, claim) = approver.claim(&server, &new.code).await;
    assert_eq!(claim.0, StatusCode::OK);
    let (n_keys, _) = new.finish(&server).await;
    assert_eq!(new.confirm(&server, &n_keys, "n").await.0, StatusCode::OK);
    let stranger = LinkKeys::derive(&sealsync_crypto::link::SpakeKey::from_bytes([1; 32]), n_keys.transcript);
    let view = approver.view(&server, new.pairing).await;
    assert!(stranger.check_new(&view.confirm.unwrap()).is_err());
    let fail = call(&server, Method::POST, &new.path("/fail"), Auth::Bearer(&a.token), None).await;
    assert_eq!(fail.0, StatusCode::NO_CONTENT);
    assert_eq!(code_of(&new.get(&server).await), burned);
    server.stop().await;
}

async fn a_pairing_is_claimed_once_and_only_its_claimant_goes_on(server: TestServer) {
    let (account, a) = server.register().await;
    let approver = Approver { account: &account, device: &a };
    let (other_account, b) = server.register().await;
    let other = Approver { account: &other_account, device: &b };
    let a2 = server.login(&account).await;
    let same_account = Approver { account: &account, device: &a2 };

    let mut new = New::open(&server).await;
    // Before a claim, any signed-in device can read N's message.
    assert_eq!(other.view(&server, new.pairing).await.state, PairingState::Open);
    let (a_keys, claim) = approver.claim(&server, &new.code).await;
    assert_eq!(claim.0, StatusCode::OK);

    // A second claim, by anyone, is refused.
    let claimed = (StatusCode::CONFLICT, Some("pairing_claimed"));
    let body = json!({ "message": format!("42{}", "00".repeat(32)), "confirm": "00".repeat(32) });
    for token in [&a.token, &b.token, &a2.token] {
        let second = call(&server, Method::POST, &new.path("/claim"), Auth::Bearer(token), Some(body.clone())).await;
        assert_eq!(code_of(&second), claimed);
    }
    // Another account's device (and another device of the account) can
    // neither read, fail nor approve it, before or after N confirms.
    for stage in ["claimed", "confirmed"] {
        if stage == "confirmed" {
            let (n_keys, confirm) = new.finish(&server).await;
            n_keys.check_approver(&confirm).unwrap();
            assert_eq!(new.confirm(&server, &n_keys, "n").await.0, StatusCode::OK);
        }
        for intruder in [&other, &same_account] {
            assert_eq!(code_of(&intruder.get(&server, new.pairing).await), claimed, "{stage}");
            let token = intruder.device.token.as_str();
            let fail = call(&server, Method::POST, &new.path("/fail"), Auth::Bearer(token), None).await;
            assert_eq!(code_of(&fail), claimed, "{stage}");
            let body = json!({ "encrypted_name": "", "bundle": "00".repeat(64) });
            let approve = call(&server, Method::POST, &new.path("/approve"), Auth::Bearer(token), Some(body)).await;
            assert_eq!(code_of(&approve), claimed, "{stage}");
        }
    }
    // The claimant still can.
    let (_, (status, _)) = approver.approve(&server, &a_keys, &bundle_of(&account)).await;
    assert_eq!(status, StatusCode::OK);
    let view = new.view(&server).await;
    assert!(view.token.is_some());
    let (_, devices) = server.json(Method::GET, "/v1/devices", Some(&b.token), None).await;
    assert_eq!(devices.as_array().unwrap().len(), 1, "nothing reached the other account");
    server.stop().await;
}

async fn a_bundle_is_fetched_once(server: TestServer) {
    let (account, a) = server.register().await;
    let approver = Approver { account: &account, device: &a };
    let (new, _) = approved(&server, &approver).await;
    // Two fetches at once: one gets the bundle and a token, the other nothing.
    let (first, second) = tokio::join!(new.get(&server), new.get(&server));
    let mut answers = [first, second];
    answers.sort_by_key(|(status, _)| *status);
    assert_eq!(answers[0].0, StatusCode::OK, "{}", answers[0].1);
    assert!(answers[0].1["bundle"].is_string() && answers[0].1["token"].is_string());
    assert_eq!(code_of(&answers[1]), (StatusCode::NOT_FOUND, Some("pairing_not_found")));
    assert_eq!(code_of(&new.get(&server).await), (StatusCode::NOT_FOUND, Some("pairing_not_found")));
    let (_, devices) = server.json(Method::GET, "/v1/devices", Some(&a.token), None).await;
    assert_eq!(devices.as_array().unwrap().len(), 2, "the device was added once");
    server.stop().await;
}

async fn deleting_the_account_deletes_the_pairings_it_claimed(server: TestServer) {
    let (account, a) = server.register().await;
    let approver = Approver { account: &account, device: &a };
    let (claimed, _) = approved(&server, &approver).await;
    let unclaimed = New::open(&server).await;
    let body = json!({ "auth_key": hex::encode(account.auth_key) });
    let (status, _) = server.json(Method::DELETE, "/v1/account", Some(&a.token), Some(body)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(code_of(&claimed.get(&server).await), (StatusCode::NOT_FOUND, Some("pairing_not_found")));
    assert_eq!(unclaimed.view(&server).await.state, PairingState::Open);
    server.stop().await;
}

async fn an_expired_pairing_is_refused(server: TestServer) {
    let (account, a) = server.register().await;
    let approver = Approver { account: &account, device: &a };
    let new = New::open(&server).await;
    let view = approver.view(&server, new.pairing).await;
    assert!(view.expires_at > sealsync_envelope::UnixMillis::now().0);
    tokio::time::sleep(Duration::from_millis(1700)).await;
    // Found expired: answered 410 once, and deleted.
    assert_eq!(code_of(&new.get(&server).await), (StatusCode::GONE, Some("pairing_expired")));
    assert_eq!(code_of(&new.get(&server).await), (StatusCode::NOT_FOUND, Some("pairing_not_found")));

    // A claim that arrives too late changes nothing.
    let new = New::open(&server).await;
    let link = ApproverLink::start(&LinkCode::new(new.pairing, LinkPassword::from_bytes([0; 5])), [0; 16], [0; 16]);
    tokio::time::sleep(Duration::from_millis(1700)).await;
    let body = json!({ "message": hex::encode(link.message().as_bytes()), "confirm": "00".repeat(32) });
    let late = call(&server, Method::POST, &new.path("/claim"), Auth::Bearer(&a.token), Some(body)).await;
    assert_eq!(code_of(&late), (StatusCode::GONE, Some("pairing_expired")));
    // Opening a pairing purges the expired ones.
    let third = New::open(&server).await;
    tokio::time::sleep(Duration::from_millis(1700)).await;
    let _fourth = New::open(&server).await;
    assert_eq!(code_of(&third.get(&server).await), (StatusCode::NOT_FOUND, Some("pairing_not_found")));
    server.stop().await;
}

async fn pairing_endpoints_are_rate_limited_per_address(server: TestServer) {
    let body = json!({ "device_id": uuid::Uuid::new_v4(), "message": format!("41{}", "00".repeat(32)) });
    for _ in 0..3 {
        let (status, _) = call(&server, Method::GET, "/v1/pairings/000000", Auth::Pairing(&"0".repeat(64)), None).await;
        assert_ne!(status, StatusCode::TOO_MANY_REQUESTS);
    }
    let response = server.http.post(server.url("/v1/pairings")).json(&body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "rate_limited");
    // A bucket of their own: the account endpoints still answer.
    let (status, _) =
        server.json(Method::POST, "/v1/login/params", None, Some(json!({ "account_name": "a@b.c" }))).await;
    assert_eq!(status, StatusCode::OK);
    server.stop().await;
}

async fn pairing_requests_are_checked_field_by_field(server: TestServer) {
    let (account, a) = server.register().await;
    let approver = Approver { account: &account, device: &a };
    let new_message = format!("41{}", "00".repeat(32));
    let create = |body: Value| call(&server, Method::POST, "/v1/pairings", Auth::None, Some(body));
    let cases = [
        (json!({ "device_id": "0f8fad5b-d9cb-169f-a165-70867728950e", "message": new_message }), "invalid_device_id"),
        (
            json!({ "device_id": uuid::Uuid::new_v4(), "message": format!("42{}", "00".repeat(32)) }),
            "invalid_link_message",
        ),
        (json!({ "device_id": uuid::Uuid::new_v4(), "message": "41" }), "invalid_link_message"),
        (json!({ "device_id": "nope", "message": "41" }), "invalid_device_id"),
    ];
    for (body, code) in cases {
        assert_eq!(code_of(&create(body.clone()).await), (StatusCode::BAD_REQUEST, Some(code)), "{body}");
    }
    assert_eq!(code_of(&create(json!({ "device_id": 7, "message": new_message })).await).1, Some("malformed_json"));

    let mut new = New::open(&server).await;
    assert!(new.secret.len() == 64 && new.code.starts_with(&new.pairing.to_string()));
    // The path, then the secret.
    let (status, bad_path) = call(&server, Method::GET, "/v1/pairings/4217", Auth::Pairing(&new.secret), None).await;
    assert_eq!((status, bad_path["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_pairing")));
    assert_eq!(code_of(&call(&server, Method::GET, &new.path(""), Auth::None, None).await).1, Some("missing_token"));
    for secret in ["0".repeat(64), "A".repeat(64), "0".repeat(63)] {
        let answer = call(&server, Method::GET, &new.path(""), Auth::Pairing(&secret), None).await;
        assert_eq!(code_of(&answer), (StatusCode::UNAUTHORIZED, Some("invalid_pairing_secret")));
    }
    let unknown = if new.pairing.get() == 0 { "000001" } else { "000000" };
    let answer = call(&server, Method::GET, &format!("/v1/pairings/{unknown}"), Auth::Pairing(&new.secret), None).await;
    assert_eq!(code_of(&answer), (StatusCode::NOT_FOUND, Some("pairing_not_found")));
    let answer = call(&server, Method::GET, &new.path(""), Auth::Bearer(&"0".repeat(64)), None).await;
    assert_eq!(code_of(&answer), (StatusCode::UNAUTHORIZED, Some("invalid_token")));

    // Out of order: confirm before a claim, fail by a device that did not claim.
    let confirm = json!({ "confirm": "00".repeat(32), "encrypted_name": "00".repeat(40) });
    let early = call(&server, Method::POST, &new.path("/confirm"), Auth::Pairing(&new.secret), Some(confirm)).await;
    assert_eq!(code_of(&early), (StatusCode::CONFLICT, Some("pairing_state")));
    let early = call(&server, Method::POST, &new.path("/fail"), Auth::Bearer(&a.token), None).await;
    assert_eq!(code_of(&early), (StatusCode::CONFLICT, Some("pairing_state")));
    // The confirm endpoint takes only the pairing secret.
    let confirm = json!({ "confirm": "00".repeat(32), "encrypted_name": "00".repeat(40) });
    let bearer = call(&server, Method::POST, &new.path("/confirm"), Auth::Bearer(&a.token), Some(confirm)).await;
    assert_eq!(code_of(&bearer), (StatusCode::UNAUTHORIZED, Some("invalid_pairing_secret")));

    // Claim fields.
    let claim_path = new.path("/claim");
    let claim = |body: Value| call(&server, Method::POST, &claim_path, Auth::Bearer(&a.token), Some(body));
    let message = format!("42{}", "00".repeat(32));
    let cases = [
        (json!({ "message": new_message, "confirm": "00".repeat(32) }), "invalid_link_message"),
        (json!({ "message": message, "confirm": "00".repeat(31) }), "invalid_confirm"),
        (json!({ "message": format!("42{}", "AB".repeat(32)), "confirm": "00".repeat(32) }), "invalid_link_message"),
    ];
    for (body, code) in cases {
        assert_eq!(code_of(&claim(body.clone()).await), (StatusCode::BAD_REQUEST, Some(code)), "{body}");
    }
    let (a_keys, ok) = approver.claim(&server, &new.code).await;
    assert_eq!(ok.0, StatusCode::OK);
    // Approve before N confirmed.
    let body = json!({ "encrypted_name": "", "bundle": "00".repeat(40) });
    let early = call(&server, Method::POST, &new.path("/approve"), Auth::Bearer(&a.token), Some(body)).await;
    assert_eq!(code_of(&early), (StatusCode::CONFLICT, Some("pairing_state")));
    // Confirm fields, then a confirm twice.
    let (n_keys, _) = new.finish(&server).await;
    let confirm_path = new.path("/confirm");
    let confirm = |body: Value| call(&server, Method::POST, &confirm_path, Auth::Pairing(&new.secret), Some(body));
    let cases = [
        (json!({ "confirm": "zz".repeat(32), "encrypted_name": "00".repeat(40) }), "invalid_confirm"),
        (json!({ "confirm": "00".repeat(32), "encrypted_name": "00".repeat(39) }), "invalid_device_name"),
        (json!({ "confirm": "00".repeat(32), "encrypted_name": "00".repeat(513) }), "invalid_device_name"),
    ];
    for (body, code) in cases {
        assert_eq!(code_of(&confirm(body.clone()).await), (StatusCode::BAD_REQUEST, Some(code)), "{body}");
    }
    assert_eq!(new.confirm(&server, &n_keys, "n").await.0, StatusCode::OK);
    assert_eq!(code_of(&new.confirm(&server, &n_keys, "n").await), (StatusCode::CONFLICT, Some("pairing_state")));
    // Approve fields.
    let approve_path = new.path("/approve");
    let approve = |body: Value| call(&server, Method::POST, &approve_path, Auth::Bearer(&a.token), Some(body));
    let cases = [
        (json!({ "encrypted_name": "00".repeat(513), "bundle": "00".repeat(40) }), "invalid_device_name"),
        (json!({ "encrypted_name": "", "bundle": "00".repeat(39) }), "invalid_bundle"),
        (json!({ "encrypted_name": "", "bundle": "00".repeat(16 * 1024 + 1) }), "invalid_bundle"),
    ];
    for (body, code) in cases {
        assert_eq!(code_of(&approve(body.clone()).await), (StatusCode::BAD_REQUEST, Some(code)), "{body}");
    }
    let (_, ok) = approver.approve(&server, &a_keys, b"keys").await;
    assert_eq!(ok.0, StatusCode::OK);
    assert_eq!(approver.view(&server, new.pairing).await.state, PairingState::Approved);
    let body = json!({ "encrypted_name": "", "bundle": "00".repeat(40) });
    assert_eq!(code_of(&approve(body).await), (StatusCode::CONFLICT, Some("pairing_state")));

    // A claim of a pairing for a device id the account already has.
    let id = a.id;
    let link = NewDeviceLink::start(*id.as_bytes()).unwrap();
    let body = json!({ "device_id": id, "message": hex::encode(link.message().as_bytes()) });
    let (status, opened) = create(body).await;
    assert_eq!(status, StatusCode::CREATED);
    let opened: CreatePairingResponse = serde_json::from_value(opened).unwrap();
    let code = link.code(PairingNumber::parse(&opened.pairing).unwrap()).to_text().to_string();
    let (_, clash) = approver.claim(&server, &code).await;
    assert_eq!(code_of(&clash), (StatusCode::CONFLICT, Some("device_exists")));
    server.stop().await;
}

const PROTOCOL: &str = include_str!("../../docs/PROTOCOL.md");

/// The rows of the §8.3 endpoint table: (endpoint, auth, body in → out, errors).
fn pairing_table() -> Vec<[String; 4]> {
    let section = PROTOCOL.split("\n### 8.3 ").nth(1).expect("§8.3 exists");
    section
        .lines()
        .skip_while(|l| !l.starts_with("| endpoint |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<String> = l.trim_matches('|').split(" | ").map(|c| c.trim().to_owned()).collect();
            [cells[0].clone(), cells[1].clone(), cells[2].clone(), cells[3].clone()]
        })
        .collect()
}

/// PROTOCOL.md §8.3: every pairing endpoint that takes a body lists 415 and
/// 413 and answers them, after its authentication.
async fn every_pairing_endpoint_with_a_body_answers_415_and_413(server: TestServer) {
    let (_, a) = server.register().await;
    let new = New::open(&server).await;
    let table = pairing_table();
    let endpoints: Vec<&str> = table.iter().map(|[e, ..]| e.as_str()).collect();
    assert_eq!(
        endpoints,
        [
            "`POST /v1/pairings`",
            "`GET /v1/pairings/{pairing}`",
            "`POST /v1/pairings/{pairing}/claim`",
            "`POST /v1/pairings/{pairing}/confirm`",
            "`POST /v1/pairings/{pairing}/approve`",
            "`POST /v1/pairings/{pairing}/fail`",
        ]
    );
    for [endpoint, auth, body, errors] in table.iter().filter(|[_, _, body, _]| !body.starts_with('–')) {
        assert!(errors.contains("415 `unsupported_media_type`"), "{endpoint}: {errors}");
        assert!(errors.contains("413 `body_too_large`"), "{endpoint}: {errors} ({body})");
        let (method, path) = endpoint.trim_matches('`').split_once(' ').unwrap();
        let path = path.replace("{pairing}", &new.pairing.to_string());
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        // A fresh connection each: the server answers 413 without reading the
        // rest of the body, and closes that connection.
        let request = || {
            let request = reqwest::Client::new().request(method.clone(), server.url(&path));
            if auth.contains("pairing secret") {
                request.header("authorization", format!("Pairing {}", new.secret))
            } else if auth.contains("bearer") {
                request.bearer_auth(&a.token)
            } else {
                request
            }
        };
        let wrong_type = request().header("content-type", "text/plain").body("{}");
        let response = wrong_type.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "{endpoint}");
        let too_large = request().header("content-type", "application/json").body(vec![b' '; 70_000]);
        let response = too_large.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE, "{endpoint}");
    }
    server.stop().await;
}
