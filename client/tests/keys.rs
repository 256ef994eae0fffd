//! End to end, the key lifecycle through the `sealsync` CLI against the real
//! server binary, over SQLite and over Postgres: changing the passphrase
//! (other devices keep syncing; `--sign-out-others` signs them out), the
//! recovery key (a lost passphrase is not a lost journal; a typo is caught
//! before any request), and rotating the data key after a device is revoked
//! (the revoked device's keys open nothing written after it).

mod common;

use std::io::{BufRead, BufReader};
use std::process::Child;

use common::{Device, PASSPHRASE, Server, account_name, assert_converged, find, text, wait_output};
use sealsync_crypto::DataKey;
use sealsync_envelope::{AccountId, Envelope, RecordSealer};
use serde_json::Value;

on_both_backends!(
    a_device_linked_with_a_short_code_gets_everything_and_never_the_passphrase,
    a_wrong_code_or_a_relay_in_the_middle_burns_the_pairing_on_both_sides,
    a_passphrase_change_keeps_other_devices_syncing_and_can_sign_them_out,
    the_recovery_key_restores_an_account_with_a_new_passphrase,
    rotating_after_a_revocation_locks_the_revoked_keys_out_of_new_records,
);

const NEW_PASSPHRASE: &str = "a second passphrase, also long enough";

/// `sync enable --new --json`: the account's recovery key.
fn create_with_recovery_key(device: &Device, server: &Server, account: &str) -> String {
    let args =
        ["sync", "enable", "--server", &server.url, "--account", account, "--passphrase-stdin", "--new", "--json"];
    let output = device.output(&args, Some(&format!("{PASSPHRASE}\n")));
    assert!(output.status.success(), "{}", text(&output.stderr));
    let enabled: Value = serde_json::from_str(&text(&output.stdout)).unwrap();
    let key = enabled["recovery_key"].as_str().expect("a new account has a recovery key").to_owned();
    assert_eq!((key.len(), key.matches('-').count()), (39, 7), "{key}");
    key
}

/// Runs the CLI with `stdin`; its trimmed stdout on success, its stderr on failure.
fn run_with(device: &Device, args: &[&str], stdin: &str) -> Result<String, String> {
    let output = device.output(args, Some(stdin));
    match output.status.success() {
        true => Ok(text(&output.stdout)),
        false => Err(text(&output.stderr)),
    }
}

fn notes(device: &Device) -> Vec<String> {
    device.list("mood").iter().filter_map(|m| m["note"].as_str().map(str::to_owned)).collect()
}

fn a_passphrase_change_keeps_other_devices_syncing_and_can_sign_them_out(server: Server) {
    let account = account_name();
    let (a, b) = (Device::new("a"), Device::new("b"));
    a.enable(&server, &account, true);
    b.enable(&server, &account, false);
    a.add_mood(5, "before the change");
    common::sync_all(&[&a, &b], 1);

    // The wrong old passphrase changes nothing.
    let wrong = run_with(&a, &["sync", "passphrase", "--passphrase-stdin"], &format!("not it\n{NEW_PASSPHRASE}\n"));
    assert!(wrong.unwrap_err().contains("wrong passphrase"));
    run_with(&a, &["sync", "passphrase", "--passphrase-stdin"], &format!("{PASSPHRASE}\n{NEW_PASSPHRASE}\n")).unwrap();

    // B notices nothing: it keeps syncing with its keys and token, no prompt.
    b.add_mood(6, "written on b after the change");
    b.sync();
    a.sync();
    assert!(notes(&a).contains(&"written on b after the change".to_owned()));

    // The old passphrase no longer joins; the new one does, and sees everything.
    let c = Device::new("c");
    let refused = c.try_enable(&server, &account, PASSPHRASE, false);
    assert!(!refused.status.success() && text(&refused.stderr).contains("wrong passphrase"));
    let joined = c.try_enable(&server, &account, NEW_PASSPHRASE, false);
    assert!(joined.status.success(), "{}", text(&joined.stderr));
    c.sync();
    assert_converged(&[&a, &b, &c]);

    // Signing the others out in the same step: their tokens stop at once.
    let third = "a third passphrase, for the sign-out";
    let args = ["sync", "passphrase", "--passphrase-stdin", "--sign-out-others"];
    run_with(&a, &args, &format!("{NEW_PASSPHRASE}\n{third}\n")).unwrap();
    for other in [&b, &c] {
        let error = other.run_fail(&["sync", "now"]);
        assert!(error.contains("no longer signed in"), "[{}] {error}", other.name);
    }
    a.add_mood(7, "a still syncs");
    a.sync();
}

fn the_recovery_key_restores_an_account_with_a_new_passphrase(server: Server) {
    let account = account_name();
    let first = Device::new("first");
    let recovery_key = create_with_recovery_key(&first, &server, &account);
    let status = first.status();
    assert_eq!(status["keys"]["recovery_key"], true, "{status}");
    first.add_mood(4, "written before the passphrase was lost");
    first.add_activity("a walk");
    first.sync();
    let before = first.snapshot();
    drop(first); // The only device is gone, and with it the passphrase.

    // A typo is caught before any request: the server here does not even exist.
    let mut typo = recovery_key.clone().into_bytes();
    typo[0] = if typo[0] == b'2' { b'3' } else { b'2' };
    let typo = String::from_utf8(typo).unwrap();
    let phone = Device::new("phone");
    let args = ["sync", "recover", "--server", "http://127.0.0.1:9", "--account", &account, "--passphrase-stdin"];
    let error = run_with(&phone, &args, &format!("{typo}\n{NEW_PASSPHRASE}\n")).unwrap_err();
    assert!(error.contains("typo"), "{error}");

    // With the recovery key: a new device, a new passphrase, every record.
    let args = ["sync", "recover", "--server", &server.url, "--account", &account, "--passphrase-stdin"];
    run_with(&phone, &args, &format!("{recovery_key}\n{NEW_PASSPHRASE}\n")).unwrap();
    phone.sync();
    assert_eq!(phone.snapshot(), before);

    // The new passphrase joins; the lost one does not.
    let laptop = Device::new("laptop");
    assert!(!laptop.try_enable(&server, &account, PASSPHRASE, false).status.success());
    assert!(laptop.try_enable(&server, &account, NEW_PASSPHRASE, false).status.success());

    // A new recovery key replaces the old one, which stops working.
    let out =
        run_with(&phone, &["sync", "recovery-key", "--passphrase-stdin", "--json"], &format!("{NEW_PASSPHRASE}\n"))
            .unwrap();
    let new_key = serde_json::from_str::<Value>(&out).unwrap()["recovery_key"].as_str().unwrap().to_owned();
    assert_ne!(new_key, recovery_key);
    let tablet = Device::new("tablet");
    let stale = run_with(&tablet, &args, &format!("{recovery_key}\n{PASSPHRASE}\n")).unwrap_err();
    assert!(stale.contains("recovery key does not open"), "{stale}");
    run_with(&tablet, &args, &format!("{new_key}\n{PASSPHRASE}\n")).unwrap();
    tablet.sync();
    assert_eq!(tablet.snapshot(), before);
}

/// The data keys in a device's `keys.json`, as a thief who copied it holds them.
fn stolen_keys(device: &Device) -> (AccountId, Vec<DataKey>) {
    let file: Value = serde_json::from_slice(&std::fs::read(device.dir().join("keys.json")).unwrap()).unwrap();
    let account: AccountId = serde_json::from_value(file["account_id"].clone()).unwrap();
    let keys = file["data_keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| DataKey::try_from_slice(&hex::decode(k.as_str().unwrap()).unwrap()).unwrap())
        .collect();
    (account, keys)
}

/// Whether any of `keys` opens the envelope the server stores for `record`.
fn opens(server: &Server, account: AccountId, keys: &[DataKey], record: &str) -> bool {
    let (_, bytes) = server.db.envelope_of(record);
    keys.iter().any(|key| RecordSealer::new(account, key).open(Envelope::decode(&bytes).unwrap()).is_ok())
}

fn rotating_after_a_revocation_locks_the_revoked_keys_out_of_new_records(server: Server) {
    let account = account_name();
    let (a, b, c) = (Device::new("a"), Device::new("b"), Device::new("c"));
    a.enable(&server, &account, true);
    b.enable(&server, &account, false);
    c.enable(&server, &account, false);
    let old_record = a.add_mood(3, "written before the rotation");
    common::sync_all(&[&a, &b, &c], 1);
    let (account_id, stolen) = stolen_keys(&c);
    let old_key = a.status()["keys"]["key_id"].clone();

    // The laptop C is lost: revoke it and rotate in one step.
    let c_id = c.status()["device_id"].as_str().unwrap().to_owned();
    run_with(&a, &["devices", "revoke", &c_id, "--rotate", "--passphrase-stdin"], &format!("{PASSPHRASE}\n")).unwrap();
    let status = a.status();
    assert_ne!(status["keys"]["key_id"], old_key, "{status}");
    assert_eq!(status["keys"]["keys_held"], 2);
    let new_record = a.add_mood(8, "written after the rotation");
    a.sync();

    // B has not got the new key: its sync stops before it pushes or merges
    // anything, keeps its edit queued, and says what to do.
    let queued = b.add_mood(6, "queued on b before it unlocked");
    let error = b.run_fail(&["sync", "now"]);
    assert!(error.contains("sync unlock"), "{error}");
    assert_eq!(b.status()["keys"]["needs_unlock"], true);
    assert_eq!(b.status()["pending"], 1);
    let wrong = run_with(&b, &["sync", "unlock", "--passphrase-stdin"], "not it\n").unwrap_err();
    assert!(wrong.contains("wrong passphrase"), "{wrong}");
    run_with(&b, &["sync", "unlock", "--passphrase-stdin"], &format!("{PASSPHRASE}\n")).unwrap();
    assert_eq!(b.status()["keys"]["needs_unlock"], false);
    b.sync();
    a.sync();
    let lists = assert_converged(&[&a, &b]);
    assert_eq!(find(&lists[0], &queued)["note"], "queued on b before it unlocked");
    assert_eq!(find(&lists[0], &new_record)["note"], "written after the rotation");

    // A copy of C's keys opens what was written before, nothing after; C's
    // token is refused.
    assert!(opens(&server, account_id, &stolen, &old_record), "the stolen keys are the old ones");
    assert!(!opens(&server, account_id, &stolen, &new_record));
    assert!(!opens(&server, account_id, &stolen, &queued));
    assert!(c.run_fail(&["sync", "now"]).contains("no longer signed in"));

    // A device joining now reads records sealed under either key.
    let d = Device::new("d");
    d.enable(&server, &account, false);
    d.sync();
    assert_eq!(d.snapshot(), a.snapshot());
    assert_eq!(d.status()["keys"]["keys_held"], 2);
}

/// Starts `sync link --json` on `device`; returns the running process and
/// the code it printed first.
fn start_link(device: &Device, server: &Server) -> (Child, String) {
    let args = ["sync", "link", "--server", &server.url, "--json", "--device-name", "new phone"];
    let mut child = device.spawn(&args);
    let mut first = String::new();
    BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut first).unwrap();
    let shown: Value = serde_json::from_str(&first).unwrap_or_else(|e| panic!("{first:?}: {e}"));
    let code = shown["code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 16, "{code}");
    (child, code)
}

fn a_device_linked_with_a_short_code_gets_everything_and_never_the_passphrase(server: Server) {
    let account = account_name();
    let a = Device::new("a");
    a.enable(&server, &account, true);
    a.add_mood(5, "written before the new phone");
    a.add_assessment("phq9", "1,0,2,1,0,1,0,0,1");
    a.sync();

    let phone = Device::new("phone");
    let (child, code) = start_link(&phone, &server);
    let approved = a.run(&["devices", "approve", &code.to_lowercase(), "--yes", "--json"]);
    assert_eq!(serde_json::from_str::<Value>(&approved).unwrap()["approved"], "new phone");
    let output = wait_output(child, &["sync", "link"]);
    assert!(output.status.success(), "{}", text(&output.stderr));

    phone.sync();
    assert_converged(&[&a, &phone]);
    phone.add_mood(7, "written on the linked phone");
    phone.sync();
    a.sync();
    assert_converged(&[&a, &phone]);
    let listed: Vec<Value> = serde_json::from_str(&a.run(&["devices", "list", "--json"])).unwrap();
    assert!(listed.iter().any(|d| d["name"] == "new phone"), "{listed:#?}");
    // The phone got keys and a token, never anything of the passphrase.
    let file = String::from_utf8(std::fs::read(phone.dir().join("keys.json")).unwrap()).unwrap();
    assert!(!file.contains(PASSPHRASE));
    // A code is single-use: approving it again fails.
    assert!(a.run_fail(&["devices", "approve", &code, "--yes"]).contains("linking failed"));
}

fn a_wrong_code_or_a_relay_in_the_middle_burns_the_pairing_on_both_sides(server: Server) {
    let account = account_name();
    let a = Device::new("a");
    a.enable(&server, &account, true);

    // A mistyped code: the password part differs, the pairing number is right.
    let phone = Device::new("phone");
    let (child, code) = start_link(&phone, &server);
    let mut typo = code.clone().into_bytes();
    typo[7] = if typo[7] == b'Z' { b'Y' } else { b'Z' };
    let typo = String::from_utf8(typo).unwrap();
    let error = a.run_fail(&["devices", "approve", &typo, "--yes"]);
    assert!(error.contains("linking failed"), "{error}");
    let output = wait_output(child, &["sync", "link"]);
    assert!(!output.status.success());
    assert!(text(&output.stderr).contains("did not match"), "{}", text(&output.stderr));
    assert_eq!(phone.status()["enabled"], false, "nothing was saved");

    // A relay that puts its own SPAKE2 message in place of the new device's:
    // it cannot know the code, so the new device's check fails and burns it.
    let (child, code) = start_link(&phone, &server);
    let intruder = sealsync_crypto::link::NewDeviceLink::start([9; 16]).unwrap();
    server.db.substitute_pairing_message(intruder.message().as_bytes().to_vec());
    assert!(a.run_fail(&["devices", "approve", &code, "--yes"]).contains("linking failed"));
    let output = wait_output(child, &["sync", "link"]);
    assert!(text(&output.stderr).contains("did not match"), "{}", text(&output.stderr));
    let listed: Vec<Value> = serde_json::from_str(&a.run(&["devices", "list", "--json"])).unwrap();
    assert_eq!(listed.len(), 1, "no device was added: {listed:#?}");
}
