//! The user's own copy, end to end through the `sealsync` CLI: an export
//! imported into a fresh data directory gives the same journal; an
//! age-encrypted export opens with the standard `age` command; an import
//! never overwrites a newer local change; a damaged, truncated or
//! wrongly-keyed file changes nothing; `sync delete-account` leaves no row
//! of the account on the server (both backends) and the other devices are
//! told; `erase` removes the journal and its keys.

mod common;

use std::path::Path;
use std::process::Command;

use common::{Device, KINDS, PASSPHRASE, Server, account_name, expect_failure, find, text};
use serde_json::Value;

on_both_backends!(delete_account_leaves_no_row_and_other_devices_are_told);

/// One record of each kind, edits, and one deleted record of each kind.
fn fill(device: &Device) -> Vec<String> {
    let mood = device.add(&["mood", "add", "--score", "6", "--note", "42", "--tag", "walk", "--tag", "sun"]);
    device.run(&["mood", "edit", &mood, "--note", "a note, with \"quotes\"\nand a second line"]);
    let gone_mood = device.add_mood(2, "to delete");
    let phq = device.add_assessment("phq9", "0,1,2,3,0,1,2,3,1");
    let gad = device.add_assessment("gad7", "1,1,1,1,1,1,1");
    let activity = device.add(&["activity", "add", "--name", "swim", "--category", "exercise", "--minutes", "30"]);
    let plain = device.add_activity("true");
    let schedule = device.add_schedule(&activity, "mon,wed", "07:30");
    let daily = device.add_schedule(&plain, "daily", "21:00");
    for (kind, id) in [("mood", &gone_mood), ("assessment", &gad), ("schedule", &daily)] {
        device.run(&[kind, "delete", id]);
    }
    vec![mood, gone_mood, phq, gad, activity, plain, schedule, daily]
}

fn export(device: &Device, file: &Path, extra: &[&str]) -> String {
    let out = file.to_str().unwrap();
    let mut args = vec!["export", "--out", out];
    args.extend_from_slice(extra);
    device.run(&args)
}

fn import(device: &Device, file: &Path, extra: &[&str], stdin: Option<&str>) -> Value {
    let mut args = vec!["import", file.to_str().unwrap(), "--json"];
    args.extend_from_slice(extra);
    let output = device.output(&args, stdin);
    assert!(output.status.success(), "[{}] import failed: {}", device.name, text(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

fn counts(report: &Value) -> (u64, u64, u64, usize) {
    let n = |k: &str| report[k].as_u64().unwrap_or_else(|| panic!("{k} in {report}"));
    (n("added"), n("updated"), n("unchanged"), report["refused"].as_array().unwrap().len())
}

fn live(snapshot: &[Vec<Value>]) -> Vec<Vec<Value>> {
    snapshot.iter().map(|kind| kind.iter().filter(|r| r["deleted_at"].is_null()).cloned().collect()).collect()
}

#[test]
fn export_then_import_into_a_fresh_journal_gives_the_same_listings() {
    let a = Device::new("a");
    fill(&a);
    let before = a.snapshot();
    let files = tempfile::tempdir().unwrap();
    for format in ["json", "csv"] {
        let all = files.path().join(format!("all.{format}"));
        let out = export(&a, &all, &["--format", format, "--include-deleted", "--yes"]);
        assert!(out.contains("not encrypted"), "{out}");

        let b = Device::new("b");
        assert_eq!(counts(&import(&b, &all, &[], None)), (8, 0, 0, 0), "{format}");
        assert_eq!(b.snapshot(), before, "{format}: every record, deleted ones included, as it was");
        // The same file again changes nothing.
        assert_eq!(counts(&import(&b, &all, &[], None)), (0, 0, 8, 0), "{format}");
        assert_eq!(b.snapshot(), before);
        // Its own export, imported into itself, changes nothing either.
        let again = files.path().join(format!("again.{format}"));
        export(&b, &again, &["--format", format, "--include-deleted", "--yes"]);
        assert_eq!(counts(&import(&b, &again, &[], None)), (0, 0, 8, 0), "{format}");

        // Without --include-deleted, deleted records stay out.
        let live_only = files.path().join(format!("live.{format}"));
        export(&a, &live_only, &["--format", format, "--yes"]);
        let c = Device::new("c");
        assert_eq!(counts(&import(&c, &live_only, &[], None)), (5, 0, 0, 0), "{format}");
        assert_eq!(c.snapshot(), live(&before), "{format}");
    }
}

#[test]
fn a_plaintext_export_from_a_script_needs_yes() {
    let a = Device::new("a");
    a.add_mood(5, "private");
    let files = tempfile::tempdir().unwrap();
    let file = files.path().join("export.json");
    let error = a.run_fail(&["export", "--out", file.to_str().unwrap()]);
    assert!(error.contains("--yes") && error.contains("confirmation"), "{error}");
    assert!(!file.exists(), "nothing was written");
}

/// The `age` command, or `None` to skip: only outside CI (under CI=true a
/// missing `age` fails the test; .ci/run installs it).
fn age_command() -> Option<&'static str> {
    let found = Command::new("age").arg("--version").output().is_ok_and(|o| o.status.success());
    if found {
        return Some("age");
    }
    assert!(std::env::var("CI").as_deref() != Ok("true"), "the age command is missing and CI=true");
    eprintln!("skipped: the age command is not installed (apt-get install age)");
    None
}

/// The export document without its time of writing (two exports differ only there).
fn document(bytes: &[u8]) -> Value {
    let mut value: Value = serde_json::from_slice(bytes).unwrap();
    value.as_object_mut().unwrap().remove("exported_at");
    value
}

#[test]
fn an_age_export_opens_with_the_age_command_and_equals_the_plaintext_export() {
    let Some(age) = age_command() else { return };
    let a = Device::new("a");
    fill(&a);
    let files = tempfile::tempdir().unwrap();
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let key_file = files.path().join("key.txt");
    {
        use age::secrecy::ExposeSecret;
        std::fs::write(&key_file, format!("# a test key\n{}\n", identity.to_string().expose_secret())).unwrap();
    }
    let plain = files.path().join("plain.json");
    export(&a, &plain, &["--include-deleted", "--yes"]);
    let sealed = files.path().join("sealed.json.age");
    let out = export(&a, &sealed, &["--include-deleted", "--encrypt-to", &recipient]);
    assert!(out.contains("age-encrypted"), "{out}");
    let bytes = std::fs::read(&sealed).unwrap();
    assert!(bytes.starts_with(b"age-encryption.org/v1\n"));
    assert!(!String::from_utf8_lossy(&bytes).contains("swim"), "the content is not readable");

    let opened = Command::new(age).arg("-d").arg("-i").arg(&key_file).arg(&sealed).output().unwrap();
    assert!(opened.status.success(), "age -d failed: {}", text(&opened.stderr));
    assert_eq!(document(&opened.stdout), document(&std::fs::read(&plain).unwrap()));

    // sealsync opens it too, with the identity file.
    let b = Device::new("b");
    assert_eq!(counts(&import(&b, &sealed, &["--identity", key_file.to_str().unwrap()], None)), (8, 0, 0, 0));
    assert_eq!(b.snapshot(), a.snapshot());
    let error = Device::new("c").run_fail(&["import", sealed.to_str().unwrap()]);
    assert!(error.contains("identity"), "{error}");

    // A CSV export in age opens to a zip that the same export wrote.
    let csv = files.path().join("sealed.zip.age");
    export(&a, &csv, &["--format", "csv", "--encrypt-to", &recipient]);
    let opened = Command::new(age).arg("-d").arg("-i").arg(&key_file).arg(&csv).output().unwrap();
    assert!(opened.status.success() && opened.stdout.starts_with(b"PK\x03\x04"), "{}", text(&opened.stderr));
}

/// `age -d` asks for a passphrase on its terminal only: it runs under
/// `script` (util-linux), which gives it a pseudo-terminal, and the
/// passphrase is typed once it asks.
#[test]
fn a_passphrase_export_opens_with_the_age_command() {
    use std::io::{Read, Write};
    let Some(age) = age_command() else { return };
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: the script command (util-linux) is not installed");
        return;
    }
    let a = Device::new("a");
    fill(&a);
    let files = tempfile::tempdir().unwrap();
    let sealed = files.path().join("export.age");
    let output = a.output(
        &[
            "export",
            "--out",
            sealed.to_str().unwrap(),
            "--include-deleted",
            "--encrypt",
            "passphrase",
            "--passphrase-stdin",
        ],
        Some("typed at a terminal\n"),
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let plain = files.path().join("plain.json");
    export(&a, &plain, &["--include-deleted", "--yes"]);

    let opened = files.path().join("opened.json");
    let inner = format!("{age} -d -o '{}' '{}'", opened.display(), sealed.display());
    let mut child = Command::new("script")
        .args(["-qec", &inner, "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut buffer = [0u8; 256];
    while !String::from_utf8_lossy(&seen).to_lowercase().contains("passphrase") {
        let n = stdout.read(&mut buffer).unwrap();
        assert!(n > 0, "age did not ask for the passphrase: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buffer[..n]);
    }
    child.stdin.take().unwrap().write_all(b"typed at a terminal\n").unwrap();
    let output = common::wait_output(child, &["script", "age -d"]);
    assert!(output.status.success(), "age -d failed: {}", text(&output.stderr));
    assert_eq!(document(&std::fs::read(&opened).unwrap()), document(&std::fs::read(&plain).unwrap()));
}

#[test]
fn a_passphrase_export_round_trips_and_a_wrong_passphrase_changes_nothing() {
    let a = Device::new("a");
    fill(&a);
    let files = tempfile::tempdir().unwrap();
    let sealed = files.path().join("export.age");
    let output = a.output(
        &[
            "export",
            "--out",
            sealed.to_str().unwrap(),
            "--include-deleted",
            "--encrypt",
            "passphrase",
            "--passphrase-stdin",
        ],
        Some("an export passphrase\n"),
    );
    assert!(output.status.success(), "{}", text(&output.stderr));

    let b = Device::new("b");
    let kept = b.add_mood(4, "b's own");
    let before = b.snapshot();
    let output = b.output(&["import", sealed.to_str().unwrap(), "--passphrase-stdin"], Some("not it\n"));
    let error = expect_failure("b", &["import"], &output);
    assert!(error.contains("passphrase"), "{error}");
    assert_eq!(b.snapshot(), before, "a wrong passphrase changes nothing");

    assert_eq!(counts(&import(&b, &sealed, &["--passphrase-stdin"], Some("an export passphrase\n"))), (8, 0, 0, 0));
    let after = b.snapshot();
    for (k, kind) in KINDS.iter().enumerate() {
        for record in &a.snapshot()[k] {
            assert_eq!(find(&after[k], common::id_of(record)), record, "{kind}");
        }
    }
    assert_eq!(find(&after[0], &kept)["note"], "b's own");
}

#[test]
fn an_import_never_overwrites_a_newer_local_change() {
    let (a, b) = (Device::new("a"), Device::new("b"));
    let mood = a.add(&["mood", "add", "--score", "3", "--note", "first", "--tag", "x"]);
    let activity = a.add_activity("walk");
    let files = tempfile::tempdir().unwrap();
    let first = files.path().join("first.json");
    export(&a, &first, &["--yes"]);
    import(&b, &first, &[], None);

    // Each side changes a different field, and b deletes the activity; a's
    // export, made after, is imported into b.
    b.run(&["mood", "edit", &mood, "--note", "edited on b"]);
    b.run(&["activity", "delete", &activity]);
    std::thread::sleep(std::time::Duration::from_millis(5));
    a.run(&["mood", "edit", &mood, "--score", "9"]);
    a.run(&["activity", "edit", &activity, "--minutes", "40"]);
    let second = files.path().join("second.json");
    export(&a, &second, &["--yes"]);
    let report = import(&b, &second, &[], None);
    assert_eq!(counts(&report), (0, 1, 1, 0), "{report}");
    let merged = b.show("mood", &mood);
    assert_eq!((merged["score"].as_u64(), merged["note"].as_str()), (Some(9), Some("edited on b")));
    assert!(!b.show("activity", &activity)["deleted_at"].is_null(), "a delete stays deleted");

    // And the old export, imported again, brings nothing back.
    let report = import(&b, &first, &[], None);
    assert_eq!(counts(&report), (0, 0, 2, 0), "{report}");
    assert_eq!(b.show("mood", &mood)["score"].as_u64(), Some(9));
    // A later local edit still wins over everything imported.
    b.run(&["mood", "edit", &mood, "--score", "1"]);
    import(&b, &second, &[], None);
    assert_eq!(b.show("mood", &mood)["score"].as_u64(), Some(1));
}

#[test]
fn damaged_files_fail_clearly_and_change_nothing() {
    let a = Device::new("a");
    fill(&a);
    let files = tempfile::tempdir().unwrap();
    let json = files.path().join("export.json");
    export(&a, &json, &["--include-deleted", "--yes"]);
    let zip = files.path().join("export.zip");
    export(&a, &zip, &["--format", "csv", "--yes"]);
    let sealed = files.path().join("export.age");
    let output = a.output(
        &["export", "--out", sealed.to_str().unwrap(), "--encrypt", "passphrase", "--passphrase-stdin"],
        Some("pass phrase\n"),
    );
    assert!(output.status.success(), "{}", text(&output.stderr));

    let b = Device::new("b");
    b.add_mood(7, "keep me");
    let before = b.snapshot();
    let json_bytes = std::fs::read(&json).unwrap();
    let zip_bytes = std::fs::read(&zip).unwrap();
    let sealed_bytes = std::fs::read(&sealed).unwrap();
    let mut tampered = sealed_bytes.clone();
    let last = tampered.len() - 20;
    tampered[last] ^= 1;
    let mut newer: Value = serde_json::from_slice(&json_bytes).unwrap();
    newer["version"] = 2.into();
    let cases: Vec<(&str, Vec<u8>, Option<&str>, &str)> = vec![
        ("truncated JSON", json_bytes[..json_bytes.len() / 2].to_vec(), None, "truncated"),
        ("truncated zip", zip_bytes[..zip_bytes.len() - 30].to_vec(), None, "truncated"),
        ("truncated age", sealed_bytes[..sealed_bytes.len() - 10].to_vec(), Some("pass phrase\n"), "encrypt"),
        ("tampered age", tampered, Some("pass phrase\n"), "altered"),
        ("wrong passphrase", sealed_bytes.clone(), Some("pass phrase?\n"), "passphrase"),
        ("a newer version", serde_json::to_vec(&newer).unwrap(), None, "version 2"),
        ("not an export", b"{\"hello\": 1}".to_vec(), None, "not a readable sealsync export"),
        ("empty", Vec::new(), None, "empty"),
    ];
    for (what, bytes, stdin, says) in cases {
        let file = files.path().join("case");
        std::fs::write(&file, &bytes).unwrap();
        let mut args = vec!["import", file.to_str().unwrap()];
        if stdin.is_some() {
            args.push("--passphrase-stdin");
        }
        let output = b.output(&args, stdin);
        let error = expect_failure("b", &args, &output);
        assert!(error.contains(says), "{what}: {error}");
        assert_eq!(b.snapshot(), before, "{what} changed the journal");
    }

    // A readable file with one invalid record: that record is refused, the rest imported.
    let mut one_bad: Value = serde_json::from_slice(&json_bytes).unwrap();
    one_bad["moods"][0]["fields"]["score"] = 42.into();
    let file = files.path().join("one-bad.json");
    std::fs::write(&file, serde_json::to_vec(&one_bad).unwrap()).unwrap();
    let report = import(&b, &file, &[], None);
    assert_eq!(counts(&report), (7, 0, 0, 1), "{report}");
    assert!(report["refused"][0]["reason"].as_str().unwrap().contains("score"), "{report}");
}

#[test]
fn erase_removes_the_journal_and_overwrites_the_key_file() {
    let server = Server::start(common::Backend::Sqlite).expect("SQLite is always available");
    let a = Device::new("a");
    a.add_mood(5, "soon gone");
    a.enable(&server, &account_name(), true);
    // A second name for the key file's bytes: deleting the file leaves
    // them; only an overwrite in place clears them.
    let keys = a.dir().join("keys.json");
    let link = a.dir().parent().unwrap().join(format!("keys-link-{}", uuid::Uuid::new_v4()));
    std::fs::hard_link(&keys, &link).unwrap();

    let error = a.run_fail(&["erase"]);
    assert!(error.contains("--yes") && error.contains("confirmation"), "{error}");
    assert!(keys.exists() && a.dir().join("journal.db").exists(), "refused: nothing erased");

    let output = a.output(&["erase", "--yes"], None);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("delete-account"), "sync was on: the user is told what stays on the server");
    let left: Vec<String> =
        std::fs::read_dir(a.dir()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(left.iter().all(|name| !name.starts_with("journal.db") && name != "keys.json"), "{left:?}");
    let old = std::fs::read(&link).unwrap();
    let _ = std::fs::remove_file(&link);
    assert!(!old.is_empty() && old.iter().all(|&b| b == 0), "the key file was overwritten before it was deleted");
    // A journal opened there again is empty.
    assert!(a.list("mood").is_empty());
}

fn account_id(device: &Device) -> String {
    device.status()["account_id"].as_str().expect("an account id in sync status").to_owned()
}

fn delete_account_leaves_no_row_and_other_devices_are_told(server: Server) {
    let (a, b) = (Device::new("a"), Device::new("b"));
    let account = account_name();
    a.add_mood(4, "synced");
    a.enable(&server, &account, true);
    b.enable(&server, &account, false);
    a.sync();
    b.sync();
    let id = account_id(&a);
    assert!(server.db.rows_of_account(&id) > 0);

    // An import on a synced device goes to the others like an edit.
    let c = Device::new("c");
    let imported = c.add_mood(8, "from an old export");
    let files = tempfile::tempdir().unwrap();
    let file = files.path().join("old.json");
    export(&c, &file, &["--yes"]);
    assert_eq!(counts(&import(&b, &file, &[], None)), (1, 0, 0, 0));
    b.sync();
    a.sync();
    assert_eq!(a.show("mood", &imported)["note"], "from an old export");

    // Refused from a script without --yes, and with a wrong passphrase.
    let error = a.run_fail(&["sync", "delete-account", "--passphrase-stdin"]);
    assert!(error.contains("--yes") && error.contains("confirmation"), "{error}");
    let args = ["sync", "delete-account", "--passphrase-stdin", "--yes"];
    let error = expect_failure("a", &args, &a.output(&args, Some("not the passphrase\n")));
    assert!(error.contains("wrong passphrase"), "{error}");
    assert!(server.db.rows_of_account(&id) > 0, "nothing deleted");

    let output = a.output(&args, Some(&format!("{PASSPHRASE}\n")));
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(server.db.rows_of_account(&id), 0, "no row of the account is left, in any table");
    assert_eq!(a.status()["enabled"], false, "sync is off on the device that deleted it");
    assert_eq!(a.list("mood").len(), 2, "every record stays on the device");

    let error = b.run_fail(&["sync", "now"]);
    assert!(error.contains("account was deleted"), "{error}");
    // It turns sync off, and can start again.
    b.run(&["sync", "disable"]);
    assert_eq!(b.list("mood").len(), 2);
}
