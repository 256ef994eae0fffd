//! The background sync controller against the real server on a loopback
//! port: it syncs at start, shortly after a burst of local changes (once),
//! on demand; backs off while the server is down and recovers; never syncs
//! a journal twice at once (across handles and processes); stops when sync
//! is turned off. And `sealsync sync watch`, which runs it in a terminal.
//!
//! Timings are the controller's own, made short (a few hundred ms) through
//! its config; waits are bounded, never fixed sleeps on the success path.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Backend, Device, PASSPHRASE, Server, account_name};
use sealsync_client::{
    ClientError, Controller, ControllerConfig, ControllerHandle, EnableOptions, Journal, Mood, Passphrase, SyncLock,
    SyncStateEvent,
};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

const DEBOUNCE: Duration = Duration::from_millis(300);
/// Longest any expected event may take (a sync against a loaded machine).
const PATIENCE: Duration = Duration::from_secs(60);

fn fast() -> ControllerConfig {
    ControllerConfig {
        debounce: DEBOUNCE,
        period: None,
        first_backoff: Duration::from_millis(400),
        max_backoff: Duration::from_secs(2),
        busy_retry: Duration::from_millis(100),
    }
}

fn mood(score: u8) -> Mood {
    Mood { score, note: format!("note {score}"), tags: vec![] }
}

/// A journal in a fresh directory with sync on: a new account, or joining `account`.
async fn enabled(server: &Server, account: &str, create: bool) -> (tempfile::TempDir, Journal) {
    let dir = tempfile::tempdir().unwrap();
    let mut journal = Journal::open(dir.path()).unwrap();
    journal
        .enable_sync(EnableOptions {
            server_url: server.url.clone(),
            account_name: account.to_owned(),
            passphrase: Passphrase::new(PASSPHRASE.into()).unwrap(),
            create,
            allow_insecure_http: false,
            device_name: "controller test".into(),
            recovery_key: false,
        })
        .await
        .unwrap();
    (dir, journal)
}

/// The states a controller reported, with when each arrived.
struct Events(UnboundedReceiver<(Instant, SyncStateEvent)>);

impl Events {
    async fn next(&mut self) -> (Instant, SyncStateEvent) {
        tokio::time::timeout(PATIENCE, self.0.recv())
            .await
            .expect("a state change in time")
            .expect("the controller runs")
    }

    /// Skips to the first state `want` accepts.
    async fn until(&mut self, want: impl Fn(&SyncStateEvent) -> bool) -> (Instant, SyncStateEvent) {
        loop {
            let (at, state) = self.next().await;
            if want(&state) {
                return (at, state);
            }
        }
    }

    /// Everything reported within `window`.
    async fn during(&mut self, window: Duration) -> Vec<SyncStateEvent> {
        let mut seen = Vec::new();
        let end = tokio::time::Instant::now() + window;
        while let Ok(Some((_, state))) = tokio::time::timeout_at(end, self.0.recv()).await {
            seen.push(state);
        }
        seen
    }
}

fn start(journal: Journal) -> (ControllerHandle, Events) {
    let (tx, rx) = unbounded_channel();
    let (handle, _thread) = Controller::spawn(journal, fast(), move |state: &SyncStateEvent| {
        let _ = tx.send((Instant::now(), state.clone()));
    })
    .unwrap();
    (handle, Events(rx))
}

fn synced(state: &SyncStateEvent) -> bool {
    matches!(state, SyncStateEvent::Synced { .. })
}

fn pushed(state: &SyncStateEvent) -> u64 {
    match state {
        SyncStateEvent::Synced { pushed, .. } => *pushed,
        other => panic!("not a sync: {other:?}"),
    }
}

async fn create(handle: &ControllerHandle, score: u8) {
    handle.call(move |j| Box::pin(async move { j.create(&mood(score)) })).await.unwrap().unwrap();
}

fn sqlite() -> Server {
    Server::start(Backend::Sqlite).expect("SQLite is always available")
}

#[tokio::test]
async fn syncs_at_start_then_once_shortly_after_a_burst_of_changes() {
    let server = sqlite();
    let (_dir, journal) = enabled(&server, &account_name(), true).await;
    let (handle, mut events) = start(journal);
    assert_eq!(events.next().await.1, SyncStateEvent::Idle);
    assert_eq!(pushed(&events.until(synced).await.1), 0, "the sync at start");
    assert_eq!(server.db.envelope_rows(), 0);

    let first_edit = Instant::now();
    for score in 1..=3 {
        create(&handle, score).await;
    }
    let (at, state) = events.until(synced).await;
    assert_eq!(pushed(&state), 3, "the burst went up in one sync");
    assert!(at - first_edit >= DEBOUNCE, "it waited for the burst to end: {:?}", at - first_edit);
    assert_eq!(server.db.envelope_rows(), 3);
    assert!(events.during(DEBOUNCE * 3).await.is_empty(), "nothing more to do, nothing more happens");
}

#[tokio::test]
async fn syncs_on_demand_and_reports_progress() {
    let server = sqlite();
    let (_dir, mut journal) = enabled(&server, &account_name(), true).await;
    for score in 1..=4 {
        journal.create(&mood(score)).unwrap();
    }
    let (handle, mut events) = start(journal);
    events.until(synced).await;
    // On demand: at once, not after the debounce time.
    create(&handle, 5).await;
    let summary = handle.sync_now().await.unwrap();
    assert_eq!(summary.pushed, 1);
    let (_, state) =
        events.until(|s| matches!(s, SyncStateEvent::Syncing { .. } | SyncStateEvent::Synced { .. })).await;
    assert!(
        matches!(state, SyncStateEvent::Syncing { done: 0 | 1, total: Some(1), .. }),
        "progress before the result: {state:?}"
    );
    assert_eq!(pushed(&events.until(synced).await.1), 1);
    assert_eq!(server.db.envelope_rows(), 5);
}

#[tokio::test]
async fn backs_off_while_the_server_is_down_and_recovers() {
    let mut server = sqlite();
    let (_dir, journal) = enabled(&server, &account_name(), true).await;
    let (handle, mut events) = start(journal);
    events.until(synced).await;

    server.kill();
    create(&handle, 7).await;
    let mut last_retry = 0;
    for attempt in 1..=2u32 {
        let (at, state) = events.until(|s| matches!(s, SyncStateEvent::Offline { .. })).await;
        let SyncStateEvent::Offline { retry_at, attempt: reported, message } = state else { unreachable!() };
        assert_eq!(reported, attempt);
        assert!(message.contains("cannot reach the server"), "{message}");
        // Full backoff doubles from 400 ms; the wait is jittered within its upper half.
        let full = 400u64 << (attempt - 1);
        let now = sealsync_envelope::UnixMillis::now().0 - at.elapsed().as_millis() as u64;
        let wait = retry_at.saturating_sub(now);
        assert!((full / 2).saturating_sub(50) <= wait && wait <= full + 50, "attempt {attempt}: waits {wait} ms");
        assert!(retry_at > last_retry);
        last_retry = retry_at;
    }

    server.restart();
    let (_, state) = events.until(synced).await;
    assert_eq!(pushed(&state), 1, "the change made while offline went up");
    assert_eq!(server.db.envelope_rows(), 1);
}

#[tokio::test]
async fn one_sync_of_a_journal_at_a_time_across_handles_and_processes() {
    let server = sqlite();
    let (dir, mut journal) = enabled(&server, &account_name(), true).await;
    journal.create(&mood(3)).unwrap();
    let mut second = Journal::open(dir.path()).unwrap();

    // Another sync holds the journal (here: this test, as a third party).
    let held = SyncLock::try_acquire(dir.path()).unwrap();
    assert!(matches!(second.sync_now(&mut |_| {}).await, Err(ClientError::SyncBusy)));
    let cli = Command::new(common::CLI)
        .arg("--data-dir")
        .arg(dir.path())
        .args(["sync", "now"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!cli.status.success(), "another process's sync waits its turn");
    assert!(String::from_utf8_lossy(&cli.stderr).contains("another sync of this journal is running"));

    // A controller waits quietly for its turn, then syncs.
    let (_handle, mut events) = start(journal);
    assert_eq!(events.next().await.1, SyncStateEvent::Idle);
    assert!(events.during(DEBOUNCE).await.iter().all(|s| !synced(s)), "no sync while another holds the journal");
    assert_eq!(server.db.envelope_rows(), 0);
    drop(held);
    assert_eq!(pushed(&events.until(synced).await.1), 1);
    assert_eq!(server.db.envelope_rows(), 1);
}

#[tokio::test]
async fn stops_when_sync_is_turned_off() {
    let server = sqlite();
    let (_dir, journal) = enabled(&server, &account_name(), true).await;
    let (handle, mut events) = start(journal);
    events.until(synced).await;

    handle.call(|j| Box::pin(async move { j.disable_sync().await })).await.unwrap().unwrap();
    assert_eq!(events.next().await.1, SyncStateEvent::Disabled);
    create(&handle, 4).await;
    assert!(events.during(DEBOUNCE * 3).await.is_empty(), "no sync is scheduled while sync is off");
    assert!(matches!(handle.sync_now().await, Err(ClientError::SyncDisabled)));
    assert_eq!(server.db.envelope_rows(), 0);
    assert_eq!(server.db.revoked_devices(), 1, "turning off signed this device out");
}

#[tokio::test]
async fn a_revoked_device_reports_it_and_stops_trying() {
    let server = sqlite();
    let account = account_name();
    let (_dir, journal) = enabled(&server, &account, true).await;
    let (_other_dir, mut other) = enabled(&server, &account, false).await;
    let (handle, mut events) = start(journal);
    events.until(synced).await;

    let me = handle.call(|j| Box::pin(async move { j.sync_status() })).await.unwrap().unwrap();
    other.revoke_device(me.state.unwrap().device_id).await.unwrap();
    create(&handle, 2).await;
    assert_eq!(events.until(|s| !matches!(s, SyncStateEvent::Syncing { .. })).await.1, SyncStateEvent::Revoked);
    create(&handle, 3).await;
    assert!(events.during(DEBOUNCE * 3).await.is_empty(), "a revoked device does not keep trying");
}

/// Reads `sync watch --json` lines on a thread of its own.
fn lines(child: &mut std::process::Child) -> std::sync::mpsc::Receiver<serde_json::Value> {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
            if tx.send(value).is_err() {
                break;
            }
        }
    });
    rx
}

fn next_state(lines: &std::sync::mpsc::Receiver<serde_json::Value>, state: &str) -> serde_json::Value {
    next_line(lines, |line| line["state"] == state)
}

fn next_line(
    lines: &std::sync::mpsc::Receiver<serde_json::Value>,
    want: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    loop {
        let line = lines.recv_timeout(PATIENCE).expect("the awaited line in time");
        if want(&line) {
            return line;
        }
    }
}

fn exits_successfully(child: std::process::Child, within: Duration) {
    let output = common::wait_output_within(child, &["sync", "watch"], within);
    assert!(output.status.success(), "sync watch failed: {}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn sync_watch_prints_each_state_until_interrupted_or_turned_off() {
    let server = sqlite();
    let device = Device::new("watcher");
    device.enable(&server, &account_name(), true);
    device.add_mood(5, "before watching");

    // Every 0.02 minutes: 1.2 s.
    let args = ["sync", "watch", "--json", "--every", "0.02"];
    let mut watch = device.command(&args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let watched = lines(&mut watch);
    assert_eq!(next_state(&watched, "idle"), serde_json::json!({ "state": "idle" }));
    assert_eq!(next_state(&watched, "synced")["pushed"], 1, "the sync at start");
    // A change made by another process goes up with a periodic sync.
    device.add_mood(6, "while watching");
    next_line(&watched, |line| line["state"] == "synced" && line["pushed"] == 1);
    let status = Command::new("kill").args(["-INT", &watch.id().to_string()]).status().unwrap();
    assert!(status.success());
    exits_successfully(watch, Duration::from_secs(10));

    let mut watch = device.command(&args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let watched = lines(&mut watch);
    next_state(&watched, "synced");
    device.run(&["sync", "disable"]);
    next_state(&watched, "disabled");
    exits_successfully(watch, Duration::from_secs(10));
}
