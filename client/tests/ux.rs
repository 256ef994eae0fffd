//! What a person sees at the command line (issue 13): weak passphrases
//! refused with a reason, refusals and quarantine explained and actionable,
//! a data directory typo caught, timeouts a person can wait for. Every test
//! drives the real `sealsync` binary, against the real server where one is
//! needed.

mod common;

use common::{Backend, Device, PASSPHRASE, Server, account_name, expect_failure};

/// A new passphrase that is quick to guess is refused before anything is
/// derived or sent (the server address here does not answer), through the
/// prompt's replacement `--passphrase-stdin` too, with the reason and a
/// suggestion of random words.
#[test]
fn weak_passphrases_are_refused_with_a_reason_and_a_suggestion() {
    let device = Device::new("laptop");
    for weak in ["a", "        ", "password123", "me@example.org"] {
        let args = [
            "sync",
            "enable",
            "--server",
            "http://127.0.0.1:9",
            "--account",
            "me@example.org",
            "--new",
            "--passphrase-stdin",
        ];
        let output = device.output(&args, Some(&format!("{weak}\n")));
        let error = expect_failure(device.name, &args, &output);
        assert!(error.contains("too easy to guess"), "{weak:?}: {error}");
        assert!(error.contains("five random words"), "{error}");
        assert!(!error.contains("cannot reach"), "refused before the network: {error}");
    }
    assert_eq!(device.status()["enabled"], false);
}

/// Changing the passphrase obeys the same rule; the old one keeps working.
#[test]
fn a_weak_new_passphrase_is_refused_on_change() {
    let server = Server::start(Backend::Sqlite).unwrap();
    let device = Device::new("laptop");
    device.enable(&server, &account_name(), true);
    let args = ["sync", "passphrase", "--passphrase-stdin"];
    let output = device.output(
        &args,
        Some(&format!(
            "{PASSPHRASE}
short
"
        )),
    );
    let error = expect_failure(device.name, &args, &output);
    assert!(error.contains("too easy to guess"), "{error}");
    let unlock = device.output(&["sync", "unlock", "--passphrase-stdin"], Some(&format!("{PASSPHRASE}\n")));
    assert!(unlock.status.success(), "the old passphrase still opens the account: {}", common::text(&unlock.stderr));
}

/// A push the server refuses (the account's quota is full) says why and by
/// how much, `sync now` exits non-zero while anything is refused, `sync
/// status` shows it, and the server logs it.
#[test]
fn refused_changes_say_why_and_fail_the_sync() {
    let server = Server::start_with(Backend::Sqlite, &[("SEALSYNC_MAX_ACCOUNT_BYTES", "4000")]).unwrap();
    let device = Device::new("laptop");
    device.enable(&server, &account_name(), true);
    for i in 0..20 {
        device.add_mood(5, &format!("entry {i}"));
    }
    let output = device.output(&["sync", "now", "--json"], None);
    let error = expect_failure(device.name, &["sync", "now", "--json"], &output);
    assert!(error.contains("storage quota (4000 bytes) is full"), "{error}");
    assert!(error.contains("bytes over"), "{error}");
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let refused = summary["refused"].as_array().unwrap();
    assert_eq!(refused[0]["code"], "quota_exceeded", "{summary}");
    assert!(refused[0]["count"].as_u64().unwrap() > 0 && refused[0]["bytes"].as_u64().unwrap() > 0);
    assert!(summary["pushed"].as_u64().unwrap() > 0, "what fits went up: {summary}");

    let status = device.status();
    assert_eq!(status["refused"][0]["code"], "quota_exceeded", "{status}");
    assert!(status["pending"].as_u64().unwrap() > 0, "refused changes stay queued");
    let human = device.run(&["sync", "status"]);
    assert!(human.contains("refused by the server"), "{human}");
    let log = server.log();
    let line = log.lines().find(|l| l.contains("push refused envelopes")).unwrap_or_else(|| panic!("{log}"));
    assert!(line.contains("quota_exceeded="), "{line}");
    // Server logs written to a file carry no colour codes.
    assert!(!log.contains('\u{1b}'), "{line}");
}

/// `sync quarantine list` says what was set aside and why, `retry` merges
/// again (a tampered envelope still fails: non-zero exit, it stays), and
/// `clear` drops it.
#[test]
fn quarantined_envelopes_can_be_listed_retried_and_cleared() {
    let server = Server::start(Backend::Sqlite).unwrap();
    let account = account_name();
    let (a, b) = (Device::new("a"), Device::new("b"));
    a.enable(&server, &account, true);
    b.enable(&server, &account, false);
    let id = a.add_mood(3, "will be tampered with");
    a.sync();
    let seq = server.db.tamper_newest_envelope();
    assert_eq!(b.sync()["quarantined"], 1);

    let listed: serde_json::Value = serde_json::from_str(&b.run(&["sync", "quarantine", "list", "--json"])).unwrap();
    assert_eq!(listed[0]["server_seq"], seq, "{listed}");
    assert_eq!(listed[0]["record_id"], id.as_str(), "the entry names the record it claims: {listed}");
    assert!(!listed[0]["reason"].as_str().unwrap().is_empty());
    let human = b.run(&["sync", "quarantine", "list"]);
    assert!(human.starts_with(&format!("#{seq}")) && human.contains(&id), "{human}");

    let retried = b.output(&["sync", "quarantine", "retry", "--json"], None);
    let error = expect_failure(b.name, &["sync", "quarantine", "retry"], &retried);
    assert!(error.contains("still fail"), "{error}");
    let summary: serde_json::Value = serde_json::from_slice(&retried.stdout).unwrap();
    assert_eq!((summary["pulled"].as_u64(), summary["quarantined"].as_u64()), (Some(1), Some(1)), "{summary}");
    assert_eq!(b.status()["quarantined"].as_array().unwrap().len(), 1);

    let cleared: serde_json::Value =
        serde_json::from_str(&b.run(&["sync", "quarantine", "clear", &seq.to_string(), "--json"])).unwrap();
    assert_eq!(cleared["cleared"], 1);
    assert_eq!(b.run(&["sync", "quarantine", "list"]), "nothing is quarantined");
    assert_eq!(b.status()["quarantined"], serde_json::json!([]));
}

/// `sealsync` with a clean environment, `HOME` at `home`.
fn bare(home: &std::path::Path, args: &[&str]) -> std::process::Output {
    let mut command = std::process::Command::new(common::CLI);
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("SEALSYNC_") || k.starts_with("XDG_")) {
        command.env_remove(key);
    }
    command.args(args).env("HOME", home).env("NO_COLOR", "1").stdin(std::process::Stdio::null());
    command.output().unwrap()
}

/// A `--data-dir` that does not exist is an error, not a new empty journal;
/// `--create` and `init` start one there; the default location is made on
/// first use.
#[test]
fn a_missing_data_dir_is_an_error_unless_asked_to_create_it() {
    let home = tempfile::tempdir().unwrap();
    let typo = home.path().join("jounral");
    let typo_arg = typo.to_str().unwrap();
    let args = ["--data-dir", typo_arg, "mood", "list"];
    let output = bare(home.path(), &args);
    let error = expect_failure("bare", &args, &output);
    assert!(error.contains("does not exist") && error.contains("--create"), "{error}");
    assert!(!typo.exists(), "nothing was created");

    let created = bare(home.path(), &["--data-dir", typo_arg, "--create", "mood", "add", "--score", "4"]);
    assert!(created.status.success(), "{}", common::text(&created.stderr));
    assert!(typo.join("journal.db").exists());

    let other = home.path().join("second");
    let init = bare(home.path(), &["--data-dir", other.to_str().unwrap(), "init"]);
    assert!(init.status.success(), "{}", common::text(&init.stderr));
    assert!(other.join("journal.db").exists());

    let default = bare(home.path(), &["mood", "list", "--json"]);
    assert!(default.status.success(), "{}", common::text(&default.stderr));
    assert_eq!(common::text(&default.stdout), "[]");
}

/// A server that accepts connections and never answers: the CLI says it is
/// retrying ("retrying in N s (attempt k of n)") and gives up by the
/// deadline (`--timeout`), saying what happened, instead of going silent.
#[test]
fn a_silent_server_is_retried_visibly_and_given_up_on_by_the_deadline() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    // Accept and hold every connection, answering nothing.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    let device = Device::new("laptop");
    let args = ["sync", "enable", "--server", &url, "--account", "me@example.org", "--new", "--passphrase-stdin"];
    let mut with_timeout = args.to_vec();
    with_timeout.extend(["--timeout", "3"]);
    let started = std::time::Instant::now();
    let output = device.output(&with_timeout, Some(&format!("{PASSPHRASE}\n")));
    let elapsed = started.elapsed();
    assert!(!output.status.success());
    let stderr = common::text(&output.stderr);
    assert!(stderr.contains("retrying in 1 s (attempt 2 of 4)"), "{stderr}");
    assert!(stderr.lines().last().unwrap().contains("did not answer in time"), "{stderr}");
    assert!(stderr.contains("gave up after"), "{stderr}");
    assert!(elapsed < std::time::Duration::from_secs(15), "gave up by the deadline: {elapsed:?}");
    assert_eq!(device.status()["enabled"], false);
}

/// Deleting an activity deletes its schedules in the same change, and the
/// deletes sync; `schedule edit --activity` refuses an unknown or deleted
/// activity as `add` does.
#[test]
fn deleting_an_activity_ends_its_schedules_everywhere() {
    let server = Server::start(Backend::Sqlite).unwrap();
    let account = account_name();
    let (a, b) = (Device::new("a"), Device::new("b"));
    a.enable(&server, &account, true);
    b.enable(&server, &account, false);
    let walk = a.add_activity("walk");
    let other = a.add_activity("read");
    let schedule = a.add_schedule(&walk, "daily", "07:30");
    let kept = a.add_schedule(&other, "daily", "21:00");
    a.sync();
    b.sync();
    assert!(b.show("schedule", &schedule)["deleted_at"].is_null());

    let unknown = uuid::Uuid::new_v4().to_string();
    let error = a.run_fail(&["schedule", "edit", &kept, "--activity", &unknown]);
    assert!(error.contains("no activity"), "{error}");

    a.run(&["activity", "delete", &walk]);
    assert!(!a.show("schedule", &schedule)["deleted_at"].is_null(), "the schedule went with its activity");
    assert!(a.show("schedule", &kept)["deleted_at"].is_null(), "other schedules stay");
    let error = a.run_fail(&["schedule", "edit", &kept, "--activity", &walk]);
    assert!(error.contains("was deleted"), "{error}");
    a.sync();
    b.sync();
    assert!(!b.show("schedule", &schedule)["deleted_at"].is_null(), "the schedule's delete synced");
    assert!(!b.show("activity", &walk)["deleted_at"].is_null());
}

/// Optional fields can be cleared, and the clearing syncs like any edit.
#[test]
fn optional_fields_and_tags_can_be_cleared() {
    let device = Device::new("laptop");
    let mood = device.add(&["mood", "add", "--score", "4", "--note", "tired", "--tag", "work"]);
    device.run(&["mood", "edit", &mood, "--clear-note", "--clear-tags"]);
    let shown = device.show("mood", &mood);
    assert_eq!((shown["note"].as_str(), shown["tags"].as_array().map(Vec::len)), (Some(""), Some(0)), "{shown}");
    let activity =
        device.add(&["activity", "add", "--name", "swim", "--category", "sport", "--minutes", "40", "--note", "x"]);
    device.run(&["activity", "edit", &activity, "--clear-category", "--clear-minutes", "--clear-note"]);
    let shown = device.show("activity", &activity);
    assert!(shown["category"].is_null() && shown["minutes"].is_null(), "{shown}");
    assert_eq!(shown["note"], "");
    assert_eq!(shown["name"], "swim");
}

/// `--every once` has no date to fall on: it is refused, with why.
#[test]
fn a_schedule_once_is_refused() {
    let device = Device::new("laptop");
    let activity = device.add_activity("dentist");
    let error = device.run_fail(&["schedule", "add", "--activity", &activity, "--every", "once", "--at", "09:00"]);
    assert!(error.contains("one-off has no date"), "{error}");
    let schedule = device.add_schedule(&activity, "daily", "09:00");
    let error = device.run_fail(&["schedule", "edit", &schedule, "--every", "once"]);
    assert!(error.contains("one-off has no date"), "{error}");
}

/// A PHQ-9 with item 9 above 0 brings a plain safety note on add, show and
/// list; `--json` keeps the flag and no note; other assessments bring none.
#[test]
fn a_phq9_item9_answer_brings_a_safety_note() {
    let device = Device::new("laptop");
    let output = device.output(&["assessment", "add", "--kind", "phq9", "--answers", "0,0,0,0,0,0,0,0,1"], None);
    assert!(output.status.success());
    let id = common::text(&output.stdout);
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "add still prints the id alone: {id}");
    assert!(common::text(&output.stderr).contains("988"), "{}", common::text(&output.stderr));
    assert!(device.run(&["assessment", "show", &id]).contains("emergency number"));
    assert!(device.run(&["assessment", "list"]).contains("emergency number"));
    let json = device.run(&["assessment", "show", &id, "--json"]);
    assert!(
        !json.contains("emergency") && serde_json::from_str::<serde_json::Value>(&json).unwrap()["item9_flag"] == true
    );

    let calm = Device::new("calm");
    let output = calm.output(&["assessment", "add", "--kind", "phq9", "--answers", "1,1,1,1,1,1,1,1,0"], None);
    assert!(output.status.success() && common::text(&output.stderr).is_empty());
    assert!(!calm.run(&["assessment", "list"]).contains("emergency"));
}

/// Distinct failures exit with distinct statuses (README.md, `--help`), and
/// with `--json` the error is one JSON object on stderr.
#[test]
fn failures_have_distinct_exit_statuses_and_json_errors() {
    let device = Device::new("laptop");
    let status = |args: &[&str], stdin: Option<&str>| device.output(args, stdin).status.code().unwrap();
    let unknown = uuid::Uuid::new_v4().to_string();
    assert_eq!(status(&["mood", "frobnicate"], None), 2, "usage");
    assert_eq!(status(&["mood", "show", &unknown], None), 3, "not found");
    assert_eq!(status(&["mood", "add", "--score", "11"], None), 4, "invalid input");
    let enable = ["sync", "enable", "--server", "http://127.0.0.1:9", "--account", "me@example.org", "--new"];
    let mut weak = enable.to_vec();
    weak.push("--passphrase-stdin");
    assert_eq!(status(&weak, Some("x\n")), 4, "a weak passphrase is invalid input");
    let mut unreachable = weak.clone();
    unreachable.extend(["--timeout", "2"]);
    assert_eq!(status(&unreachable, Some(&format!("{PASSPHRASE}\n"))), 6, "network");
    assert_eq!(status(&["sync", "now"], None), 8, "sync is off: needs attention");

    let output = device.output(&["mood", "show", &unknown, "--json"], None);
    let error: serde_json::Value = serde_json::from_str(&common::text(&output.stderr)).unwrap();
    assert_eq!(error["error"]["code"], "not_found", "{error}");
    assert_eq!(error["exit_status"], 3);
    assert!(error["error"]["message"].as_str().unwrap().contains(&unknown));

    let help = device.run(&["--help"]);
    assert!(help.contains("Exit status: 0 ok") && help.contains("6 network"), "{help}");
}

/// `--json` on every command that prints something: `add` gives the id,
/// `edit`, `delete` and `sync disable` a status object.
#[test]
fn every_command_answers_in_json() {
    let device = Device::new("laptop");
    let json = |args: &[&str]| -> serde_json::Value {
        let out = device.run(args);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?} printed {out:?}: {e}"))
    };
    let added = json(&["mood", "add", "--score", "5", "--json"]);
    let id = added["id"].as_str().unwrap().to_owned();
    assert_eq!(added["kind"], "mood");
    assert_eq!(json(&["mood", "edit", &id, "--score", "6", "--json"])["changed"], true);
    assert_eq!(json(&["mood", "edit", &id, "--score", "6", "--json"])["changed"], false);
    assert_eq!(json(&["mood", "delete", &id, "--json"])["deleted"], true);
    assert_eq!(json(&["sync", "disable", "--json"])["enabled"], false);
    assert_eq!(json(&["sync", "quarantine", "list", "--json"]), serde_json::json!([]));
    assert!(json(&["init", "--json"])["data_dir"].is_string());
}

/// A revoked device's `sync status` says so and what to do; `sync disable`
/// when off says so; revoking this very device warns (and needs --yes off a
/// terminal); `devices list --hide-revoked` leaves revoked ones out.
#[test]
fn revocation_and_sync_state_are_explained() {
    let server = Server::start(Backend::Sqlite).unwrap();
    let account = account_name();
    let (a, b) = (Device::new("a"), Device::new("b"));
    a.enable(&server, &account, true);
    b.enable(&server, &account, false);
    let (a_id, b_id) =
        (a.status()["device_id"].as_str().unwrap().to_owned(), b.status()["device_id"].as_str().unwrap().to_owned());

    let error = a.run_fail(&["devices", "revoke", &a_id, "--no-rotate"]);
    assert!(error.contains("this is this device") && error.contains("--yes"), "{error}");
    a.run(&["devices", "revoke", &b_id, "--no-rotate"]);

    let output = b.output(&["sync", "now"], None);
    assert_eq!(output.status.code(), Some(5), "{}", common::text(&output.stderr));
    let status = b.run(&["sync", "status"]);
    assert!(status.contains("signed out by the server") && status.contains("sync disable"), "{status}");

    let listed: serde_json::Value =
        serde_json::from_str(&a.run(&["devices", "list", "--json", "--hide-revoked"])).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["id"], a_id.as_str());

    b.run(&["sync", "disable"]);
    assert_eq!(b.run(&["sync", "disable"]), "sync is already off; nothing to do");
}

/// Errors say what happened and what to do: https:// to a plain-HTTP port,
/// no terminal for the passphrase prompt, a rate limit (when to retry), a
/// bad value from an environment variable (its name).
#[test]
fn errors_name_the_cause_and_the_fix() {
    let server =
        Server::start_with(Backend::Sqlite, &[("SEALSYNC_AUTH_RATE_PER_MINUTE", "1"), ("SEALSYNC_AUTH_BURST", "1")])
            .unwrap();
    let device = Device::new("laptop");
    let https = server.url.replace("http://", "https://");
    let args =
        ["sync", "enable", "--server", &https, "--account", "me@example.org", "--passphrase-stdin", "--timeout", "3"];
    let output = device.output(&args, Some(&format!("{PASSPHRASE}\n")));
    let error = common::text(&output.stderr);
    assert!(error.contains("answers plain HTTP, not HTTPS"), "{error}");

    // No controlling terminal (setsid) and no --passphrase-stdin.
    let mut command = std::process::Command::new("setsid");
    command
        .arg(common::CLI)
        .args(["--data-dir", device.dir().to_str().unwrap(), "sync", "enable", "--server", &server.url])
        .args(["--account", "me@example.org"])
        .stdin(std::process::Stdio::null());
    let output = command.output().unwrap();
    let error = common::text(&output.stderr);
    assert!(!output.status.success() && error.contains("--passphrase-stdin"), "{error}");

    // The second sign-in within the minute is rate limited: it says when to retry.
    let account = account_name();
    device.enable(&server, &account, true);
    let other = Device::new("phone");
    let mut limited = None;
    for _ in 0..3 {
        let args = ["sync", "enable", "--server", &server.url, "--account", &account, "--passphrase-stdin"];
        let mut args = args.to_vec();
        args.extend(["--timeout", "5"]);
        let output = other.output(&args, Some(&format!("{PASSPHRASE}\n")));
        if !output.status.success() {
            limited = Some(common::text(&output.stderr));
            break;
        }
        other.run(&["sync", "disable"]);
    }
    let error = limited.expect("the sign-ins were rate limited");
    assert!(error.contains("try again in"), "{error}");

    let output = device.command(&["mood", "list"]).env("SEALSYNC_TIMEOUT", "soon").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        common::text(&output.stderr).contains("environment variable SEALSYNC_TIMEOUT"),
        "{}",
        common::text(&output.stderr)
    );
}

/// People's output: times as local dates, one line per record in a listing
/// (long and multi-line notes cut with an ellipsis; `show` prints them
/// whole), an empty list says so, `PHQ9` and `7:30` are accepted, and
/// `--active/--inactive` are flags.
#[test]
fn human_output_reads_well() {
    let device = Device::new("laptop");
    assert_eq!(device.run(&["mood", "list"]), "no mood records (deleted ones: --include-deleted)");
    let long = format!("first line\nsecond line {}", "x".repeat(100));
    let mood = device.add(&["mood", "add", "--score", "5", "--note", &long]);
    let listed = device.run(&["mood", "list"]);
    assert_eq!(listed.lines().count(), 1, "{listed}");
    assert!(listed.contains("note=first line / second line") && listed.contains("x…  score=5"), "{listed}");
    let shown = device.run(&["mood", "show", &mood]);
    assert!(shown.contains(&"x".repeat(100)) && shown.contains("first line\nsecond line"), "{shown}");

    let activity = device.add_activity("walk");
    let shown = device.run(&["activity", "show", &activity]);
    let when = shown.split("when=").nth(1).unwrap().split("  ").next().unwrap();
    assert!(when.len() == 16 && when.chars().nth(4) == Some('-'), "a local date, not milliseconds: {shown}");

    device.add(&["assessment", "add", "--kind", "PHQ9", "--answers", "0,0,0,0,0,0,0,0,0"]);
    let schedule = device.add(&["schedule", "add", "--activity", &activity, "--every", "daily", "--at", "7:30"]);
    assert_eq!(device.show("schedule", &schedule)["at"], "07:30");
    device.run(&["schedule", "edit", &schedule, "--inactive"]);
    assert_eq!(device.show("schedule", &schedule)["active"], false);
    device.run(&["schedule", "edit", &schedule, "--active"]);
    assert_eq!(device.show("schedule", &schedule)["active"], true);

    // Help: global options apart; edit does not claim fields are required.
    let help = device.run(&["mood", "edit", "--help"]);
    assert!(help.contains("Global options") && !help.contains("required"), "{help}");
}

/// A sync cut off part-way shows in `sync status`; on a terminal there is
/// no empty `0/0` bar when nothing is uploaded.
#[test]
fn progress_and_partial_syncs_are_shown() {
    let mut server = Server::start(Backend::Sqlite).unwrap();
    let device = Device::new("laptop");
    device.enable(&server, &account_name(), true);
    device.sync();

    // On a pseudo-terminal (`script`), a sync with nothing to upload.
    let command = format!("{} --data-dir {} sync now", common::CLI, device.dir().display());
    let tty = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("HOME", device.dir())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&tty.stdout);
    assert!(tty.status.success(), "{shown}");
    assert!(!shown.contains("0/0"), "no bar for nothing: {shown}");

    server.kill();
    device.add_mood(5, "written while the server is down");
    let output = device.output(&["sync", "now", "--timeout", "2"], None);
    assert_eq!(output.status.code(), Some(6), "{}", common::text(&output.stderr));
    let status = device.run(&["sync", "status"]);
    assert!(status.contains("stopped part-way"), "{status}");
    server.restart();
    device.sync();
    assert!(!device.run(&["sync", "status"]).contains("stopped part-way"));
}

/// A reader that stops early (`sealsync mood list | head -1`) ends the CLI
/// the way it ends any Unix tool, by SIGPIPE, not with a panic on stderr;
/// what was written before stays written.
#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    use std::os::unix::process::ExitStatusExt;

    let device = Device::new("laptop");
    let mood = device.add_mood(5, "written before the pipe closed");
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader); // Closed before the command writes anything.
    let output = device.command(&["mood", "list", "--json"]).stdout(writer).output().unwrap();
    let stderr = common::text(&output.stderr);
    assert!(stderr.is_empty(), "nothing on stderr, no panic: {stderr}");
    // SIGPIPE is 13 on Linux and macOS.
    assert_eq!(output.status.signal(), Some(13), "ended by SIGPIPE: {:?}", output.status);
    assert!(device.run(&["mood", "list"]).contains(&mood));
}
