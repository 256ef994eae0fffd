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
