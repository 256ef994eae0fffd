//! The malicious server (issue 12; threat-model.md §2.2): one test per
//! attack class the threat model lists, each played against the real
//! `sealsync` CLI and the real server binary, the honest way the attack
//! would happen. What the server stores is changed by writing to its
//! database (on SQLite and on Postgres); what it answers is changed by a
//! [`HostileProxy`] in front of it, which the device under test takes for
//! the server. Each test asserts what the user relies on: nothing lost,
//! nothing accepted silently, a clear error or a quarantine entry with the
//! reason, the local journal never damaged, and the next honest sync
//! completing.
//!
//! Classes covered elsewhere, exactly, and not repeated here:
//! - a relay substituting a SPAKE2 message: `keys.rs`
//!   `a_wrong_code_or_a_relay_in_the_middle_burns_the_pairing_on_both_sides`;
//! - a pull cursor that never advances: `hostile.rs`
//!   `a_pull_cursor_that_never_advances_stops_the_sync`;
//! - a session naming other ids or another version: `hostile.rs`
//!   `a_session_naming_other_ids_is_refused_before_anything_is_saved`;
//! - counters forged by whoever holds a device's token: `hostile.rs`
//!   `a_token_alone_cannot_silently_hide_a_device_s_edits`;
//! - a tampered envelope: `e2e.rs` `tampered_envelope_is_quarantined_and_the_rest_applies`;
//! - an answer cut off at the socket: `e2e.rs`
//!   `repeated_and_interrupted_syncs_lose_and_duplicate_nothing`; answers
//!   beyond their caps while they stream: the unit tests in `client/src/api.rs`.

mod common;

use common::hostile::{Answer, Exchange, HostileProxy};
use common::{
    Backend, Device, PASSPHRASE, Server, account_name, assert_converged, block_on, expect_failure, find, is_deleted,
    text,
};
use sealsync_envelope::dto::{PullResponse, PulledEnvelope, from_cbor, to_cbor};
use sealsync_envelope::{Cursor, DeviceSeq, Envelope, KeyId};
use serde_json::{Value, json};

on_both_backends!(
    ciphertext_swap_is_quarantined_as_failing_to_open_and_the_rest_applies,
    cross_account_move_fails_to_open,
    rollback_is_quarantined_as_a_replay_and_the_newer_state_stays,
    replay_at_a_second_position_is_applied_once,
);

const NEW_PASSPHRASE: &str = "a second passphrase, also long enough";

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn n(value: &Value) -> u64 {
    value.as_u64().unwrap_or_else(|| panic!("not a count: {value}"))
}

fn sqlite_server() -> Server {
    Server::start(Backend::Sqlite).expect("SQLite is always available")
}

/// `(applied, quarantined)` of a sync summary.
fn applied_quarantined(summary: &Value) -> (u64, u64) {
    (n(&summary["applied"]), n(&summary["quarantined"]))
}

fn account_id(device: &Device) -> String {
    device.status()["account_id"].as_str().expect("sync is on").to_owned()
}

fn device_id(device: &Device) -> String {
    device.status()["device_id"].as_str().expect("sync is on").to_owned()
}

/// The device's quarantine, as `sync status --json` shows it.
fn quarantine(device: &Device) -> Vec<Value> {
    let status = device.status();
    status["quarantined"].as_array().unwrap_or_else(|| panic!("{status}")).clone()
}

/// The quarantine entry at `server_seq`; its reason must contain `why`.
fn assert_quarantined(device: &Device, server_seq: u64, why: &str) {
    let entries = quarantine(device);
    let entry = entries
        .iter()
        .find(|e| e["server_seq"] == server_seq)
        .unwrap_or_else(|| panic!("[{}] nothing quarantined at {server_seq}: {entries:#?}", device.name));
    let reason = entry["reason"].as_str().unwrap();
    assert!(reason.contains(why), "[{}] quarantined at {server_seq} for {reason:?}, not {why:?}", device.name);
    assert_eq!(entry["deferred"], false, "{entry}");
}

fn note_of(device: &Device, record: &str) -> Value {
    device.show("mood", record)["note"].clone()
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

/// A change to a JSON answer.
type Edit = dyn Fn(&mut Value) + Send + Sync;

/// A hook rewriting the JSON answer to `method route` with `edit`.
fn rewrite_json(
    method: &'static str,
    route: &'static str,
    edit: impl Fn(&mut Value) + Send + Sync + 'static,
) -> impl Fn(&Exchange) -> Option<Answer> + Send + Sync + 'static {
    move |exchange| {
        if exchange.method != method || exchange.route() != route || !(200..300).contains(&exchange.status) {
            return None;
        }
        let mut answer: Value = serde_json::from_slice(&exchange.body).ok()?;
        edit(&mut answer);
        Some(Answer {
            status: exchange.status,
            content_type: "application/json".into(),
            body: answer.to_string().into_bytes(),
        })
    }
}

/// `METHOD PATH` of the requests the proxy passed on since `from` of them.
fn requests_since(proxy: &HostileProxy, from: usize) -> Vec<String> {
    proxy.seen()[from..].to_vec()
}

/// Runs the CLI with `stdin`; its trimmed stdout on success, its one-line stderr on failure.
fn run_with(device: &Device, args: &[&str], stdin: &str) -> Result<String, String> {
    let output = device.output(args, Some(stdin));
    match output.status.success() {
        true => Ok(text(&output.stdout)),
        false => Err(expect_failure(device.name, args, &output)),
    }
}

/// `sync enable --new` against `url`: the account's recovery key.
fn create_with_recovery_key(device: &Device, url: &str, account: &str) -> String {
    let args = ["sync", "enable", "--server", url, "--account", account, "--passphrase-stdin", "--new", "--json"];
    let enabled = run_with(device, &args, &format!("{PASSPHRASE}\n")).unwrap();
    let enabled: Value = serde_json::from_str(&enabled).unwrap();
    enabled["recovery_key"].as_str().expect("a new account has a recovery key").to_owned()
}

/// Asserts a failed `sync enable` left the device as it was: no key file,
/// sync off, nothing queued, the journal untouched.
fn assert_nothing_saved(device: &Device, journal: &[Vec<Value>], error: &str) {
    assert!(!device.dir().join("keys.json").exists(), "[{}] a key file was written: {error}", device.name);
    let status = device.status();
    assert_eq!(status["enabled"], false, "[{}] {status}", device.name);
    assert_eq!(status["pending"], 0, "[{}] {status}", device.name);
    assert_eq!(device.snapshot(), journal, "[{}] the journal changed", device.name);
}

/// The envelope with `record` and `device` among `rows`.
fn row<'a>(rows: &'a [common::StoredEnvelope], record: &str, device: &str) -> &'a common::StoredEnvelope {
    rows.iter()
        .find(|r| r.record == record && r.device == device)
        .unwrap_or_else(|| panic!("no envelope of record {record} from device {device}"))
}

// ---------------------------------------------------------------------------
// 1. Ciphertext swap
// ---------------------------------------------------------------------------

/// Swaps the nonces and ciphertexts of two stored envelopes, leaving each
/// header (and position) where it was.
fn swap_ciphertexts(server: &Server, account: &str, one: &common::StoredEnvelope, two: &common::StoredEnvelope) {
    let (mut first, mut second) = (Envelope::decode(&one.bytes).unwrap(), Envelope::decode(&two.bytes).unwrap());
    std::mem::swap(&mut first.nonce, &mut second.nonce);
    std::mem::swap(&mut first.ciphertext, &mut second.ciphertext);
    server.db.overwrite(account, one.server_seq, first.encode());
    server.db.overwrite(account, two.server_seq, second.encode());
}

/// The server swaps the ciphertexts of two records of one device, and of
/// two devices' envelopes of one record. Every header is authentic and every
/// ciphertext too, but each is bound (AAD) to its own record, device and
/// counter: all four fail to open and are quarantined with the reason,
/// nothing of them is applied, and the rest of the page applies. The
/// device's own entries are untouched, the writers' journals too, and the
/// next honest versions apply and converge.
fn ciphertext_swap_is_quarantined_as_failing_to_open_and_the_rest_applies(server: Server) {
    let account = account_name();
    let (a, b, c) = (Device::new("a"), Device::new("b"), Device::new("c"));
    a.enable(&server, &account, true);
    c.enable(&server, &account, false);
    let shared = a.add_mood(5, "shared, from a");
    a.sync();
    c.sync();
    c.run(&["mood", "edit", &shared, "--score", "6"]);
    c.sync();
    let (one, two) = (a.add_mood(1, "one, from a"), a.add_mood(2, "two, from a"));
    let untouched = a.add_mood(3, "untouched, from a");
    a.sync();
    let on_a = a.list("mood");

    let (id, a_id, c_id) = (account_id(&a), device_id(&a), device_id(&c));
    let rows = server.db.envelopes(&id);
    swap_ciphertexts(&server, &id, row(&rows, &one, &a_id), row(&rows, &two, &a_id));
    swap_ciphertexts(&server, &id, row(&rows, &shared, &a_id), row(&rows, &shared, &c_id));
    let swapped =
        [row(&rows, &one, &a_id), row(&rows, &two, &a_id), row(&rows, &shared, &a_id), row(&rows, &shared, &c_id)]
            .map(|r| r.server_seq);

    // B joins with an entry of its own and pulls the whole log.
    let own = b.add_mood(8, "b's own, written before joining");
    let own_before = b.show("mood", &own);
    b.enable(&server, &account, false);
    let summary = b.sync();
    assert_eq!(applied_quarantined(&summary), (1, 4), "only the untouched entry applies: {summary}");
    assert_eq!(quarantine(&b).len(), 4);
    for seq in swapped {
        assert_quarantined(&b, seq, "cannot open");
    }
    let moods = b.list("mood");
    assert_eq!(moods.len(), 2, "b's own and the untouched one, nothing of the swapped: {moods:#?}");
    assert_eq!(find(&moods, &untouched), find(&on_a, &untouched));
    assert_eq!(b.show("mood", &own), own_before, "b's own entry is untouched");

    // The writers' journals are untouched.
    let summary = a.sync();
    assert_eq!(n(&summary["quarantined"]), 0, "{summary}");
    for record in [&one, &two, &shared] {
        assert_eq!(find(&a.list("mood"), record), find(&on_a, record));
    }

    // The failed ones were never taken as merged: the next versions apply.
    a.run(&["mood", "edit", &one, "--note", "one, written again"]);
    a.run(&["mood", "edit", &two, "--note", "two, written again"]);
    a.run(&["mood", "edit", &shared, "--note", "shared, written again"]);
    a.sync();
    let summary = b.sync();
    assert_eq!(applied_quarantined(&summary), (3, 0), "{summary}");
    c.sync();
    let lists = assert_converged(&[&a, &b, &c]);
    assert_eq!(find(&lists[0], &shared)["score"], 6, "c's edit survives: {:#?}", lists[0]);
    assert_eq!(find(&lists[0], &shared)["note"], "shared, written again");
}

// ---------------------------------------------------------------------------
// 2. Cross-account move
// ---------------------------------------------------------------------------

/// The server serves an envelope of account X in account Y's log: as it
/// is, and relabelled with Y's key id so that Y's device tries Y's key on
/// it. Both fail to open (the key id is not Y's; the AAD binds X's account
/// id) and are quarantined; Y's journal is untouched and X's entry appears
/// nowhere in it.
fn cross_account_move_fails_to_open(server: Server) {
    let (x, y) = (Device::new("x"), Device::new("y"));
    x.enable(&server, &account_name(), true);
    y.enable(&server, &account_name(), true);
    let secret = x.add_mood(2, "x's entry, never for y");
    x.sync();
    y.add_mood(8, "y's own");
    y.sync();
    let before = y.snapshot();

    let (x_account, y_account) = (account_id(&x), account_id(&y));
    let moved = server.db.envelopes(&x_account)[0].bytes.clone();
    let as_is = server.db.plant(&y_account, moved.clone());
    let summary = y.sync();
    assert_eq!(applied_quarantined(&summary), (0, 1), "{summary}");
    assert_quarantined(&y, as_is, "cannot open");

    let y_key = KeyId(hex::decode(y.status()["keys"]["key_id"].as_str().unwrap()).unwrap().try_into().unwrap());
    let mut relabelled = Envelope::decode(&moved).unwrap();
    relabelled.header.key_id = y_key;
    let relabelled = server.db.plant(&y_account, relabelled.encode());
    let summary = y.sync();
    assert_eq!(applied_quarantined(&summary), (0, 1), "{summary}");
    assert_quarantined(&y, relabelled, "cannot open: decryption failed");

    assert_eq!(y.snapshot(), before, "y's journal is untouched");
    assert!(!y.run(&["mood", "list", "--json", "--include-deleted"]).contains(&secret));
    let summary = y.sync();
    assert_eq!((n(&summary["pulled"]), n(&summary["quarantined"])), (0, 0), "{summary}");
    assert_eq!(n(&x.sync()["quarantined"]), 0);
}

// ---------------------------------------------------------------------------
// 3. Rollback
// ---------------------------------------------------------------------------

/// The server serves again, at a new position, an older envelope of a
/// (record, device) whose newer one the device has merged: an edit's older
/// version, and the live version of an entry since deleted. Both are
/// authentic and open, but their counters are not above the ones merged:
/// quarantined as replays, with the reason; the newer edit stays and the
/// deleted entry stays deleted. The writer's later edits still apply.
/// (`e2e.rs` `tampered_envelope_is_quarantined_and_the_rest_applies` rolls
/// back an edit too; a device that never saw the newer version cannot tell,
/// threat-model.md §5.)
fn rollback_is_quarantined_as_a_replay_and_the_newer_state_stays(server: Server) {
    let account = account_name();
    let (a, b) = (Device::new("a"), Device::new("b"));
    a.enable(&server, &account, true);
    b.enable(&server, &account, false);
    let own = b.add_mood(9, "b's own");
    let (edited, removed) = (a.add_mood(4, "the older version"), a.add_mood(3, "deleted later"));
    a.sync();
    b.sync();
    let id = account_id(&a);
    let a_id = device_id(&a);
    let rows = server.db.envelopes(&id);
    let (older_edit, older_live) = (row(&rows, &edited, &a_id).clone(), row(&rows, &removed, &a_id).clone());

    a.run(&["mood", "edit", &edited, "--note", "the newer version"]);
    a.run(&["mood", "delete", &removed]);
    a.sync();
    b.sync();
    let before = b.snapshot();

    let seqs = [server.db.plant(&id, older_edit.bytes), server.db.plant(&id, older_live.bytes)];
    let summary = b.sync();
    assert_eq!(applied_quarantined(&summary), (0, 2), "{summary}");
    for seq in seqs {
        assert_quarantined(&b, seq, "replayed or rolled back");
    }
    assert_eq!(b.snapshot(), before, "nothing changed on b");
    assert_eq!(note_of(&b, &edited), "the newer version");
    assert!(is_deleted(find(&b.list("mood"), &removed)), "the deleted entry stays deleted");
    assert_eq!(note_of(&b, &own), "b's own");
    // The writer skips its own envelopes: nothing changes there either.
    let on_a = a.snapshot();
    assert_eq!(n(&a.sync()["quarantined"]), 0);
    assert_eq!(a.snapshot(), on_a);

    // The marks hold the newer counters, not the rolled-back ones.
    a.run(&["mood", "edit", &edited, "--note", "newer still"]);
    a.sync();
    assert_eq!(applied_quarantined(&b.sync()), (1, 0));
    assert_eq!(note_of(&b, &edited), "newer still");
    assert_converged(&[&a, &b]);
}

// ---------------------------------------------------------------------------
// 4. Replay
// ---------------------------------------------------------------------------

/// The same envelope served at two positions: within one page (the server
/// fills a position freed by an edit with a copy of the page's last
/// envelope), and across syncs (an envelope the device merged, served again
/// at a new position, twice). Each is applied once; every later copy is
/// quarantined as a replay, and the quarantine keeps each envelope's bytes
/// once however often they come back.
fn replay_at_a_second_position_is_applied_once(server: Server) {
    let proxy = HostileProxy::new(&server);
    let account = account_name();
    let (a, b) = (Device::new("a"), Device::new("b"));
    a.enable(&server, &account, true);
    b.enable_at(&proxy.url, &account, false);
    let (first, second) = (a.add_mood(1, "first"), a.add_mood(2, "second"));
    a.sync();
    a.run(&["mood", "edit", &first, "--note", "first, edited"]);
    a.sync();
    let id = account_id(&a);
    let rows = server.db.envelopes(&id);
    let (first_seq, second_row) =
        (row(&rows, &first, &device_id(&a)).server_seq, row(&rows, &second, &device_id(&a)).clone());
    assert!(rows[0].server_seq > 1, "the edit freed position 1: {rows:?}");

    proxy.set(|exchange| {
        let mut page = pull_page(exchange)?;
        let after = exchange.query_u64("after")?;
        let (head, last) = (page.envelopes.first()?.seq.0, page.envelopes.last()?.envelope.clone());
        if head <= after + 1 {
            return None;
        }
        page.envelopes.insert(0, PulledEnvelope { seq: Cursor(after + 1), envelope: last });
        cbor(&page)
    });
    let summary = b.sync();
    assert_eq!((n(&summary["pulled"]), n(&summary["applied"]), n(&summary["quarantined"])), (3, 2, 1), "{summary}");
    assert_quarantined(&b, first_seq, "replayed or rolled back");
    assert_eq!(note_of(&b, &first), "first, edited");
    proxy.honest();

    // Across syncs, twice: quarantined each time, kept once.
    let again = server.db.plant(&id, second_row.bytes.clone());
    assert_eq!(applied_quarantined(&b.sync()), (0, 1));
    assert_quarantined(&b, again, "replayed or rolled back");
    server.db.plant(&id, second_row.bytes);
    assert_eq!(applied_quarantined(&b.sync()), (0, 1));
    assert_eq!(quarantine(&b).len(), 2, "each replayed envelope is kept once");
    assert_eq!(note_of(&b, &second), "second");

    // Nothing else is affected: the writer's next edits apply.
    a.run(&["mood", "edit", &second, "--note", "second, edited"]);
    a.sync();
    assert_eq!(applied_quarantined(&b.sync()), (1, 0));
    assert_converged(&[&a, &b]);
}

// ---------------------------------------------------------------------------
// 5. Key substitution
// ---------------------------------------------------------------------------

/// An account's `GET /v1/keys` answer, read with a device's token.
fn keys_of(server: &Server, device: &Device) -> Value {
    let file: Value = serde_json::from_slice(&std::fs::read(device.dir().join("keys.json")).unwrap()).unwrap();
    let (url, token) = (format!("{}/v1/keys", server.url), file["token"].as_str().unwrap().to_owned());
    block_on(async move {
        let answer = reqwest::Client::new().get(url).bearer_auth(token).send().await.unwrap();
        assert_eq!(answer.status(), 200);
        answer.json::<Value>().await.unwrap()
    })
}

/// Before a rotation the device reads the account's recovery public key
/// (`GET /v1/keys`) to wrap the new key to it. The server puts in its own
/// public key (keeping the account's MAC, which it cannot forge), or
/// another account's genuine key and MAC: the device refuses
/// (`RecoveryKeyNotAuthentic`) before it sends anything, and its keys stay
/// as they were. Through the honest server the rotation goes through, and
/// the recovery key still opens the account afterwards: the new key was
/// wrapped to the real one. (A relay substituting a SPAKE2 message while
/// linking: `keys.rs`
/// `a_wrong_code_or_a_relay_in_the_middle_burns_the_pairing_on_both_sides`.)
#[test]
fn key_substitution_of_the_recovery_public_key_is_refused_before_a_rotation() {
    let server = sqlite_server();
    let proxy = HostileProxy::new(&server);
    let account = account_name();
    let a = Device::new("a");
    let recovery_key = create_with_recovery_key(&a, &proxy.url, &account);
    a.add_mood(4, "written before the rotation");
    a.sync();
    let keys_before = a.status()["keys"].clone();

    let other = Device::new("other");
    create_with_recovery_key(&other, &server.url, &account_name());
    let other_recovery = keys_of(&server, &other)["recovery"].clone();
    let servers_own = sealsync_crypto::RecoverySecret::generate().unwrap().public_key();
    let substitutes = [
        ("its own public key", Value::from(hex::encode(servers_own.0)), None),
        (
            "another account's key and MAC",
            other_recovery["public_key"].clone(),
            Some(other_recovery["public_key_mac"].clone()),
        ),
    ];
    let rotate = ["sync", "rotate-key", "--passphrase-stdin"];
    for (what, public_key, mac) in substitutes {
        proxy.set(rewrite_json("GET", "/v1/keys", move |keys| {
            keys["recovery"]["public_key"] = public_key.clone();
            if let Some(mac) = &mac {
                keys["recovery"]["public_key_mac"] = mac.clone();
            }
        }));
        let from = proxy.seen().len();
        let error = run_with(&a, &rotate, &format!("{PASSPHRASE}\n")).unwrap_err();
        assert!(error.contains("recovery public key the server sent is not the account's"), "{what}: {error}");
        let sent = requests_since(&proxy, from);
        assert!(sent.iter().any(|r| r == "GET /v1/keys"), "{what}: {sent:?}");
        assert!(!sent.iter().any(|r| r.starts_with("POST /v1/account/rotate")), "{what}: nothing was sent: {sent:?}");
        assert_eq!(a.status()["keys"], keys_before, "{what}: the keys are as they were");
    }

    proxy.honest();
    run_with(&a, &rotate, &format!("{PASSPHRASE}\n")).unwrap();
    let rotated = a.status()["keys"].clone();
    assert_ne!(rotated["key_id"], keys_before["key_id"]);
    a.add_mood(7, "written after the rotation");
    a.sync();
    let phone = Device::new("phone");
    let recover = ["sync", "recover", "--server", &server.url, "--account", &account, "--passphrase-stdin"];
    run_with(&phone, &recover, &format!("{recovery_key}\n{NEW_PASSPHRASE}\n")).unwrap();
    assert_eq!(phone.status()["keys"]["key_id"], rotated["key_id"], "the recovery key opens the new key");
    phone.sync();
    assert_eq!(phone.snapshot(), a.snapshot());
}

/// At login the server files the wrapped current key under another of the
/// account's key ids, or swaps the ids of two keyring entries. The wrap and
/// keyring AADs bind the key id, so neither opens (and a key that did open
/// must hash to the id it is filed under: `KeyIdMismatch`, the check behind
/// it, which a server without the passphrase cannot reach). `sync enable`
/// refuses before it saves anything; through the honest server it joins.
#[test]
fn key_substitution_of_a_wrapped_key_at_login_is_refused() {
    let server = sqlite_server();
    let proxy = HostileProxy::new(&server);
    let account = account_name();
    let a = Device::new("a");
    a.enable(&server, &account, true);
    a.add_mood(5, "written under the first key");
    a.sync();
    let rotate = ["sync", "rotate-key", "--passphrase-stdin"];
    let mut key_ids = vec![a.status()["keys"]["key_id"].clone()];
    for _ in 0..2 {
        run_with(&a, &rotate, &format!("{PASSPHRASE}\n")).unwrap();
        key_ids.push(a.status()["keys"]["key_id"].clone());
    }
    a.add_mood(6, "written under the third key");
    a.sync();

    let device = Device::new("new");
    device.add_mood(3, "written before joining");
    let journal = device.snapshot();
    let older = key_ids[0].clone();
    let substitutions: [(&str, Box<Edit>); 2] = [
        ("the current key under an older key's id", Box::new(move |session| session["key"]["key_id"] = older.clone())),
        (
            "two keyring entries' ids swapped",
            Box::new(|session| {
                let entries = session["keyring"].as_array_mut().unwrap();
                assert_eq!(entries.len(), 2);
                let (first, second) = (entries[0]["key_id"].clone(), entries[1]["key_id"].clone());
                entries[0]["key_id"] = second;
                entries[1]["key_id"] = first;
            }),
        ),
    ];
    for (what, edit) in substitutions {
        proxy.set(rewrite_json("POST", "/v1/login", edit));
        let output = device.try_enable_at(&proxy.url, &account, PASSPHRASE, false);
        let error = expect_failure(device.name, &["sync", "enable"], &output);
        assert!(error.contains("could not be unwrapped"), "{what}: {error}");
        assert_nothing_saved(&device, &journal, &error);
    }

    proxy.honest();
    device.enable_at(&proxy.url, &account, false);
    assert_eq!(device.status()["keys"]["keys_held"], 3);
    device.sync();
    a.sync();
    assert_converged(&[&a, &device]);
}

// ---------------------------------------------------------------------------
// 6. Version downgrade
// ---------------------------------------------------------------------------

/// The server names a protocol version this build does not implement (2,
/// or 0), at registration (`GET /v1/meta`) or at login
/// (`POST /v1/login/params`), or, to a device that already used version 1
/// with the account (the pin survives `sync disable`), a lower one: at
/// `sync enable` and before a key change (`sync rotate-key`). Each is
/// refused right after the answer that names it, before anything is
/// derived: no request carrying a key, an auth key or a recovery value
/// follows, and nothing is saved.
#[test]
fn version_downgrade_is_refused_before_anything_is_derived_or_sent() {
    let server = sqlite_server();
    let proxy = HostileProxy::new(&server);
    let fresh = Device::new("fresh");
    fresh.add_mood(5, "written before sync");
    let journal = fresh.snapshot();

    // Unpinned: versions this build does not implement.
    for offered in [2u16, 0] {
        proxy.set(rewrite_json("GET", "/v1/meta", move |meta| meta["protocol_versions"] = json!([offered])));
        let from = proxy.seen().len();
        let output = fresh.try_enable_at(&proxy.url, &account_name(), PASSPHRASE, true);
        let error = expect_failure(fresh.name, &["sync", "enable", "--new"], &output);
        assert!(error.contains(&format!("protocol version {offered} is not supported")), "{error}");
        assert_eq!(requests_since(&proxy, from), ["GET /v1/meta"], "nothing follows the refusal");
        assert_nothing_saved(&fresh, &journal, &error);
    }
    proxy.honest();
    let account = account_name();
    let a = Device::new("a");
    a.enable_at(&proxy.url, &account, true); // pins version 1 for (proxy URL, account)
    a.add_mood(4, "written on a");
    a.sync();
    for offered in [2u16, 0] {
        proxy.set(rewrite_json("POST", "/v1/login/params", move |p| p["protocol_version"] = json!(offered)));
        let from = proxy.seen().len();
        let output = fresh.try_enable_at(&proxy.url, &account, PASSPHRASE, false);
        let error = expect_failure(fresh.name, &["sync", "enable"], &output);
        assert!(error.contains(&format!("protocol version {offered} is not supported")), "{error}");
        assert_eq!(requests_since(&proxy, from), ["POST /v1/login/params"], "no login follows");
        assert_nothing_saved(&fresh, &journal, &error);
    }

    // Pinned: version 0 is below the version 1 this device used.
    proxy.set(rewrite_json("POST", "/v1/login/params", |p| p["protocol_version"] = json!(0)));
    let keys_before = a.status()["keys"].clone();
    let from = proxy.seen().len();
    let error = run_with(&a, &["sync", "rotate-key", "--passphrase-stdin"], &format!("{PASSPHRASE}\n")).unwrap_err();
    assert!(error.contains("lower than version 1 already used"), "{error}");
    assert_eq!(requests_since(&proxy, from), ["POST /v1/login/params"], "nothing follows the refusal");
    assert_eq!(a.status()["keys"], keys_before);
    let on_a = a.snapshot();
    a.run(&["sync", "disable"]);
    let from = proxy.seen().len();
    let output = a.try_enable_at(&proxy.url, &account, PASSPHRASE, false);
    let error = expect_failure(a.name, &["sync", "enable"], &output);
    assert!(error.contains("lower than version 1 already used"), "{error}");
    assert_eq!(requests_since(&proxy, from), ["POST /v1/login/params"], "no login follows");
    assert_nothing_saved(&a, &on_a, &error);

    // Honest again: both join.
    proxy.honest();
    a.enable_at(&proxy.url, &account, false);
    fresh.enable_at(&proxy.url, &account, false);
    a.sync();
    fresh.sync();
    a.sync();
    assert_converged(&[&a, &fresh]);
}

// ---------------------------------------------------------------------------
// 7. Cursor positions going backwards
// ---------------------------------------------------------------------------

/// Pull pages whose positions do not move forward the way PROTOCOL.md §8.2
/// requires: positions going backwards within the page, a position at or
/// below the cursor the device asked from (an old position served again),
/// a `next_cursor` behind that cursor, and a `next_cursor` beyond any
/// position a server can assign (2^64 − 1, which the device could not
/// record). Each stops the sync with `protocol_violation` before anything of
/// the page is applied or quarantined, and leaves the cursor where it was;
/// the next honest sync completes. (A cursor that never advances:
/// `hostile.rs` `a_pull_cursor_that_never_advances_stops_the_sync`.)
#[test]
fn cursor_positions_going_backwards_stop_the_sync() {
    let server = sqlite_server();
    let proxy = HostileProxy::new(&server);
    let account = account_name();
    let (a, b) = (Device::new("a"), Device::new("b"));
    a.enable(&server, &account, true);
    b.enable_at(&proxy.url, &account, false);
    for score in 1..=3 {
        a.add_mood(score, &format!("early entry {score}"));
    }
    a.sync();
    b.sync();
    let cursor = n(&b.status()["cursor"]);
    for score in 4..=6 {
        a.add_mood(score, &format!("later entry {score}"));
    }
    a.sync();
    let before = b.snapshot();

    type Rewrite = fn(&mut PullResponse, u64);
    let rewrites: [(&str, Rewrite); 4] = [
        ("positions going backwards", |page, _| {
            let seqs: Vec<Cursor> = page.envelopes.iter().map(|e| e.seq).rev().collect();
            for (entry, seq) in page.envelopes.iter_mut().zip(seqs) {
                entry.seq = seq;
            }
        }),
        ("an old position again", |page, after| page.envelopes[0].seq = Cursor(after - 1)),
        ("next_cursor behind the cursor", |page, after| {
            page.envelopes.clear();
            page.next_cursor = Cursor(after - 1);
            page.more = false;
        }),
        ("next_cursor beyond any position", |page, _| {
            page.next_cursor = Cursor(u64::MAX);
            page.more = false;
        }),
    ];
    let args = ["sync", "now", "--json"];
    for (what, rewrite) in rewrites {
        proxy.set(move |exchange| {
            let mut page = pull_page(exchange)?;
            rewrite(&mut page, exchange.query_u64("after")?);
            cbor(&page)
        });
        let output = b.output(&args, None);
        let error = expect_failure(b.name, &args, &output);
        assert!(error.contains("broke the sync protocol"), "{what}: {error}");
        let status = b.status();
        assert_eq!(n(&status["cursor"]), cursor, "{what}: {status}");
        assert_eq!(status["quarantined"], json!([]), "{what}: {status}");
        assert_eq!(b.snapshot(), before, "{what}: nothing of the page was applied");
    }

    proxy.honest();
    let summary = b.sync();
    assert_eq!(applied_quarantined(&summary), (3, 0), "{summary}");
    assert_converged(&[&a, &b]);
}

// ---------------------------------------------------------------------------
// 8. Oversized and truncated answers
// ---------------------------------------------------------------------------

/// Answers cut short or blown up: a CBOR pull page whose bytes end mid-way
/// (sent complete as far as HTTP goes), a push answer larger than the 1 MiB
/// a push answer may be, and the JSON session of a login cut mid-way. Each
/// is a clear error, nothing of it is merged or saved, no edit is lost (the
/// pushed one stays queued although the server stored it), and the next
/// honest sync completes without duplicating anything.
#[test]
fn oversized_and_truncated_answers_apply_nothing_and_the_next_honest_sync_completes() {
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
    let args = ["sync", "now", "--json"];

    // A truncated pull page (nothing queued: the sync is one pull).
    proxy.set(|exchange| {
        pull_page(exchange)?;
        let body = exchange.body[..exchange.body.len() / 2].to_vec();
        Some(Answer { status: 200, content_type: "application/cbor".into(), body })
    });
    let error = expect_failure(b.name, &args, &b.output(&args, None));
    assert!(error.contains("broke the sync protocol (bad pull answer"), "{error}");
    let status = b.status();
    assert_eq!((n(&status["cursor"]), status["quarantined"].clone()), (0, json!([])), "{status}");
    assert!(b.list("mood").is_empty(), "nothing was merged");

    // A truncated answer carrying the first page: with an edit queued, the
    // push's (PROTOCOL.md §8.2, the page of a push). The server stored the
    // edit, but the device cannot know: it stays queued.
    let own = b.add_mood(7, "b's own");
    proxy.set(|exchange| {
        (exchange.route() == "/v1/sync/push" && exchange.status == 200).then(|| Answer {
            status: 200,
            content_type: "application/cbor".into(),
            body: exchange.body[..exchange.body.len() / 2].to_vec(),
        })
    });
    let error = expect_failure(b.name, &args, &b.output(&args, None));
    assert!(error.contains("broke the sync protocol (bad push answer"), "{error}");
    let status = b.status();
    assert_eq!((n(&status["cursor"]), status["quarantined"].clone()), (0, json!([])), "{status}");
    assert_eq!(b.list("mood").len(), 1, "nothing was merged");
    assert_eq!(note_of(&b, &own), "b's own");
    assert_eq!(status["pending"], 1, "the edit stays queued");

    // An oversized push answer: the server stored the edit, the device keeps
    // it queued. The push asks for a page of 1,000, so its answer may be
    // 1 MiB of results and a pull's 1,000 largest envelopes (PROTOCOL.md §12).
    let rows = server.db.envelope_rows();
    let queued = b.add_mood(8, "b's second");
    proxy.set(|exchange| {
        (exchange.route() == "/v1/sync/push").then(|| Answer {
            status: 200,
            content_type: "application/cbor".into(),
            body: vec![0xa0; 67 << 20],
        })
    });
    let error = expect_failure(b.name, &args, &b.output(&args, None));
    let cap = (1 << 20) + 1000 * (sealsync_envelope::MAX_ENVELOPE_LEN + 64) + 1024;
    assert!(error.contains(&format!("larger than the {cap} bytes")), "{error}");
    assert_eq!(server.db.envelope_rows(), rows + 1, "the server stored it");
    assert_eq!(b.status()["pending"], 2, "both edits stay queued");

    // A login's JSON session cut mid-way.
    let c = Device::new("c");
    c.add_mood(2, "c's own");
    let journal = c.snapshot();
    proxy.set(|exchange| {
        (exchange.route() == "/v1/login" && exchange.status == 200).then(|| Answer {
            status: 200,
            content_type: "application/json".into(),
            body: exchange.body[..exchange.body.len() / 2].to_vec(),
        })
    });
    let output = c.try_enable_at(&proxy.url, &account, PASSPHRASE, false);
    let error = expect_failure(c.name, &["sync", "enable"], &output);
    assert!(error.contains("broke the sync protocol (an answer that does not parse"), "{error}");
    assert_nothing_saved(&c, &journal, &error);

    // Honest again: everything arrives once.
    proxy.honest();
    let summary = b.sync();
    assert_eq!((n(&summary["pushed"]), n(&summary["applied"]), n(&summary["quarantined"])), (2, 3, 0), "{summary}");
    assert_eq!(server.db.envelope_rows(), rows + 1, "the queued edits were not stored twice");
    assert_eq!(b.status()["pending"], 0);
    c.enable_at(&proxy.url, &account, false);
    c.sync();
    a.sync();
    b.sync();
    let lists = assert_converged(&[&a, &b, &c]);
    assert_eq!(lists[0].len(), 6, "{:#?}", lists[0]);
    assert_eq!(find(&lists[0], &queued)["note"], "b's second");
}

// ---------------------------------------------------------------------------
// 9. Forged counters
// ---------------------------------------------------------------------------

/// The server serves a device's envelope with its counter (`device_seq`)
/// changed: raised far above anything the device issued, which would make
/// every later envelope of the record look like a replay, or lowered below
/// what the receiver merged (a rollback of counters). The AAD binds the
/// counter: the raised one fails to open and is quarantined without being
/// recorded as merged, so the writer's next edit still applies; the lowered
/// one is quarantined as a replay. (Counters forged by whoever holds a
/// device's token: `hostile.rs`
/// `a_token_alone_cannot_silently_hide_a_device_s_edits`.)
/// A hook serving every pulled envelope with its counter set to `device_seq`.
fn forge_counters(device_seq: u64) -> impl Fn(&Exchange) -> Option<Answer> + Send + Sync + 'static {
    move |exchange| {
        let mut page = pull_page(exchange)?;
        for entry in &mut page.envelopes {
            let mut envelope = Envelope::decode(&entry.envelope.0).ok()?;
            envelope.header.device_seq = DeviceSeq(device_seq);
            entry.envelope.0 = envelope.encode();
        }
        cbor(&page)
    }
}

#[test]
fn forged_counters_in_served_envelopes_fail_to_open_and_poison_nothing() {
    let server = sqlite_server();
    let proxy = HostileProxy::new(&server);
    let account = account_name();
    let (a, b) = (Device::new("a"), Device::new("b"));
    a.enable(&server, &account, true);
    b.enable_at(&proxy.url, &account, false);
    let record = a.add_mood(3, "first");
    a.sync();
    b.sync();

    for (what, device_seq, why, next) in
        [("raised", DeviceSeq::MAX.0, "cannot open", "third"), ("lowered", 1, "replayed or rolled back", "fifth")]
    {
        let shown = note_of(&b, &record);
        a.run(&["mood", "edit", &record, "--note", &format!("{what}: served forged")]);
        a.sync();
        let seq = server.db.account_seq() as u64;
        proxy.set(forge_counters(device_seq));
        let summary = b.sync();
        assert_eq!(applied_quarantined(&summary), (0, 1), "{what}: {summary}");
        assert_quarantined(&b, seq, why);
        assert_eq!(note_of(&b, &record), shown, "{what}: b keeps what it had");

        proxy.honest();
        a.run(&["mood", "edit", &record, "--note", next]);
        a.sync();
        assert_eq!(applied_quarantined(&b.sync()), (1, 0), "{what}: the next edit applies");
        assert_eq!(note_of(&b, &record), next);
    }
    assert_converged(&[&a, &b]);
}
