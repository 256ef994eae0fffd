//! The `sealsync-server` binary as a self-hoster runs it: no configuration
//! (embedded SQLite in the working directory on 127.0.0.1:8787), the
//! `migrate` subcommand, Postgres by URL, settings that must fail at start,
//! graceful shutdown on SIGTERM, logs that never contain a secret, and how it
//! holds up against more connections than it may keep open.

mod common;

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Account;
use reqwest::StatusCode;
use sealsync_envelope::RecordId;
use sealsync_envelope::dto::{EnvelopeBytes, PushRequest, to_cbor};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_sealsync-server");

fn server(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Command {
    let mut command = Command::new(BIN);
    command.current_dir(dir).args(args).stdout(Stdio::null()).stderr(Stdio::piped());
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("SEALSYNC_")) {
        command.env_remove(key);
    }
    command.envs(envs.iter().copied());
    command
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn wait_healthy(base: &str, child: &mut Child) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(response) = reqwest::get(format!("{base}/health")).await
            && response.status() == StatusCode::OK
        {
            return response.json().await.unwrap();
        }
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
            panic!("server exited early with {status}: {stderr}");
        }
        assert!(Instant::now() < deadline, "server did not become healthy");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// SIGTERM, then the exit status and everything it logged.
fn terminate(mut child: Child) -> (std::process::ExitStatus, String) {
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    (child.wait().unwrap(), stderr)
}

#[tokio::test]
async fn with_no_configuration_it_serves_sqlite_from_the_working_directory() {
    // The default port must be free for this test; say so plainly when it is
    // not (e.g. the README's own server is running), rather than failing on
    // an unrelated line of that other server's answer.
    if let Err(e) = std::net::TcpListener::bind("127.0.0.1:8787") {
        panic!(
            "this test needs 127.0.0.1:8787, the server's default port, and it is taken ({e}); \
             stop whatever listens there (e.g. a sealsync-server you started) and run it again"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let mut child = server(dir.path(), &[], &[]).spawn().unwrap();
    let health = wait_healthy("http://127.0.0.1:8787", &mut child).await;
    assert_eq!(health, json!({ "status": "ok", "database": "sqlite" }));
    assert!(dir.path().join("sealsync.db").exists());
    let (status, log) = terminate(child);
    assert!(status.success(), "{log}");
    assert!(log.contains("shut down"), "{log}");
}

/// The SQLite file holds auth-key hashes, salt seeds and the fake-salt
/// secret: it and its -wal/-shm are the server user's alone, and after a
/// clean shutdown the main file alone is complete (the WAL is folded in).
#[cfg(unix)]
#[tokio::test]
async fn the_sqlite_database_is_private_and_complete_after_shutdown() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let mode = |name: &str| std::fs::metadata(dir.path().join(name)).unwrap().permissions().mode() & 0o777;
    // A database a server before this check left world-readable is tightened too.
    std::fs::File::create(dir.path().join("old.db")).unwrap();
    std::fs::set_permissions(dir.path().join("old.db"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let output = server(dir.path(), &["migrate", "--database-url", "sqlite://old.db"], &[]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(mode("old.db"), 0o600);

    let bind = format!("127.0.0.1:{}", free_port());
    let mut child = server(dir.path(), &["--bind", &bind], &[]).spawn().unwrap();
    let base = format!("http://{bind}");
    wait_healthy(&base, &mut child).await;
    let request = Account::new().register_request(sealsync_envelope::DeviceId::random());
    let registered = reqwest::Client::new().post(format!("{base}/v1/accounts")).json(&request).send().await.unwrap();
    assert!(registered.status().is_success(), "{:?}", registered.text().await);
    for name in ["sealsync.db", "sealsync.db-wal", "sealsync.db-shm"] {
        assert_eq!(mode(name), 0o600, "{name}");
    }
    let (status, log) = terminate(child);
    assert!(status.success(), "{log}");
    let wal = dir.path().join("sealsync.db-wal");
    assert!(!wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0, "the WAL was checkpointed");
    // The main file alone, copied elsewhere, holds the account.
    let copy = tempfile::tempdir().unwrap();
    std::fs::copy(dir.path().join("sealsync.db"), copy.path().join("sealsync.db")).unwrap();
    let url = format!("sqlite://{}", copy.path().join("sealsync.db").display());
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url).await.unwrap();
    let accounts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts").fetch_one(&mut conn).await.unwrap();
    assert_eq!(accounts, 1);
}

/// Request log lines carry method, route (the pattern, not the URI with its
/// ids and query) and status, in plain text when not on a terminal.
#[tokio::test]
async fn request_logs_name_method_route_and_status() {
    let dir = tempfile::tempdir().unwrap();
    let bind = format!("127.0.0.1:{}", free_port());
    let base = format!("http://{bind}");
    let mut child = server(dir.path(), &["--bind", &bind], &[]).spawn().unwrap();
    wait_healthy(&base, &mut child).await;
    let device = sealsync_envelope::DeviceId::random();
    let answered = reqwest::Client::new().delete(format!("{base}/v1/devices/{device}")).send().await.unwrap();
    assert_eq!(answered.status(), StatusCode::UNAUTHORIZED);
    let (_, log) = terminate(child);
    let line = log.lines().find(|l| l.contains("route=/v1/devices/{id}")).unwrap_or_else(|| panic!("{log}"));
    assert!(line.contains("method=DELETE") && line.contains("status=401"), "{line}");
    assert!(!log.contains(&device.to_string()), "the device id in the URI is not logged: {log}");
    assert!(!log.contains('\u{1b}'), "no colour codes off a terminal");
}

/// `migrate` against a Postgres database that does not exist says to create
/// it; an unreachable Postgres fails at once, naming the host; a bad value
/// from the environment names the variable.
#[tokio::test]
async fn database_and_setting_errors_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let unreachable =
        server(dir.path(), &["migrate", "--database-url", "postgres://postgres@127.0.0.1:1/x"], &[]).output().unwrap();
    let stderr = String::from_utf8_lossy(&unreachable.stderr);
    assert!(!unreachable.status.success());
    assert!(stderr.contains("127.0.0.1:1"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(15), "{:?}", started.elapsed());

    let variable = server(dir.path(), &["migrate"], &[("SEALSYNC_MAX_CONNECTIONS", "lots")]).output().unwrap();
    let stderr = String::from_utf8_lossy(&variable.stderr);
    assert_eq!(variable.status.code(), Some(2));
    assert!(stderr.contains("environment variable SEALSYNC_MAX_CONNECTIONS"), "{stderr}");

    // `migrate --help` shows what migrate takes, not the serving options.
    let help = server(dir.path(), &["migrate", "--help"], &[]).stdout(Stdio::piped()).output().unwrap();
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(help.status.success() && text.contains("--database-url") && !text.contains("--bind"), "{text}");

    let Some(db) = common::postgres_database().await else { return };
    let missing = db
        .url
        .rsplit_once('/')
        .map(|(base, _)| format!("{base}/sealsync_missing_{}", uuid::Uuid::new_v4().simple()))
        .unwrap();
    let output = server(dir.path(), &["migrate", "--database-url", &missing], &[]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("does not exist") && stderr.contains("createdb"), "{stderr}");
}

#[tokio::test]
async fn migrate_applies_migrations_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let output = server(dir.path(), &["migrate", "--database-url", "sqlite://other.db"], &[]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(dir.path().join("other.db").exists());
}

#[tokio::test]
async fn it_serves_postgres_by_url() {
    let Some(db) = common::postgres_database().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let port = free_port().to_string();
    let bind = format!("127.0.0.1:{port}");
    let mut child =
        server(dir.path(), &[], &[("SEALSYNC_DATABASE_URL", &db.url), ("SEALSYNC_BIND", &bind)]).spawn().unwrap();
    let health = wait_healthy(&format!("http://{bind}"), &mut child).await;
    assert_eq!(health, json!({ "status": "ok", "database": "postgres" }));
    let (status, log) = terminate(child);
    assert!(status.success(), "{log}");
    assert!(!log.contains(&db.url), "the database URL (and any password in it) is never logged");
}

#[test]
fn malformed_or_conflicting_settings_fail_at_start_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = busy.local_addr().unwrap().to_string();
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 5] = [
        (&["--database-url", "mysql://db/x"], &[], "unsupported database URL scheme"),
        (&[], &[("SEALSYNC_REGISTRATION", "maybe")], "invalid value 'maybe'"),
        (&["--bind", "everywhere"], &[], "--bind"),
        (&["--request-timeout-secs", "0"], &[], "--request-timeout-secs"),
        (&["--bind", &busy], &[], "cannot listen on"),
    ];
    for (args, envs, expected) in cases {
        let output = server(dir.path(), args, envs).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} {envs:?} started");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[tokio::test]
async fn logs_never_contain_tokens_keys_or_ciphertext() {
    let dir = tempfile::tempdir().unwrap();
    let bind = format!("127.0.0.1:{}", free_port());
    let base = format!("http://{bind}");
    let mut child = server(dir.path(), &["--bind", &bind], &[("SEALSYNC_LOG", "debug")]).spawn().unwrap();
    wait_healthy(&base, &mut child).await;
    let http = reqwest::Client::new();

    let account = Account::new();
    let request = account.register_request(sealsync_envelope::DeviceId::random());
    let session: serde_json::Value =
        http.post(format!("{base}/v1/accounts")).json(&request).send().await.unwrap().json().await.unwrap();
    let token = session["token"].as_str().unwrap().to_owned();
    let device = common::Device { id: request.device.id, token: token.clone() };
    let envelope = account.envelope(&device, RecordId::random(), 1, "MARKER-never-in-logs");
    let body = to_cbor(&PushRequest::new(vec![EnvelopeBytes(envelope.clone())]));
    let pushed = http
        .post(format!("{base}/v1/sync/push"))
        .bearer_auth(&token)
        .header("content-type", "application/cbor")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(pushed.status(), StatusCode::OK);
    let pulled = http.get(format!("{base}/v1/sync/pull")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(pulled.status(), StatusCode::OK);
    let login = json!({ "account_name": account.name, "auth_key": hex::encode(account.auth_key),
        "device": { "id": uuid::Uuid::new_v4(), "encrypted_name": "" } });
    let second: serde_json::Value =
        http.post(format!("{base}/v1/login")).json(&login).send().await.unwrap().json().await.unwrap();
    let deleted = http
        .delete(format!("{base}/v1/account"))
        .bearer_auth(&token)
        .json(&json!({ "auth_key": hex::encode(account.auth_key) }))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);

    let (_, log) = terminate(child);
    assert!(log.contains("account registered") && log.contains("account deleted"), "{log}");
    let ciphertext = sealsync_envelope::Envelope::decode(&envelope).unwrap().ciphertext;
    let secrets = [
        ("device token", token),
        ("second device token", second["token"].as_str().unwrap().to_owned()),
        ("auth key", hex::encode(account.auth_key)),
        ("wrapped data key", hex::encode(&account.wrapped_key)),
        ("ciphertext", hex::encode(&ciphertext[..32])),
        ("envelope", hex::encode(&envelope[..48])),
    ];
    for (what, secret) in secrets {
        assert!(!log.to_lowercase().contains(&secret.to_lowercase()), "the {what} appears in the log");
    }
    assert!(!log.contains("MARKER-never-in-logs"));
    let debug_rendering = format!("{:?}", &ciphertext[..8]);
    assert!(!log.contains(debug_rendering.trim_end_matches(']')), "ciphertext bytes appear in the log");
}

/// File descriptors the process holds (Linux).
#[cfg(target_os = "linux")]
fn open_files(child: &Child) -> usize {
    std::fs::read_dir(format!("/proc/{}/fd", child.id())).unwrap().count()
}

/// CPU time the process has used so far (Linux: utime + stime, in clock ticks of 10 ms).
#[cfg(target_os = "linux")]
fn cpu_time(child: &Child) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", child.id())).unwrap();
    let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

/// `GET /health` with a deadline: the status, or `None` if no answer came.
async fn health_within(base: &str, deadline: Duration) -> Option<StatusCode> {
    let client = reqwest::Client::builder().timeout(deadline).build().unwrap();
    client.get(format!("{base}/health")).send().await.ok().map(|r| r.status())
}

/// Issue 12, item 9: about 1,000 idle connections used to exhaust the file
/// descriptors. With `--max-http-connections 8`, 40 idle connections cost
/// the server at most 8 descriptors (the rest wait in the listen queue), and
/// once the idle ones go, `/health` answers.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn idle_connections_beyond_the_cap_hold_no_descriptors() {
    let dir = tempfile::tempdir().unwrap();
    let bind = format!("127.0.0.1:{}", free_port());
    let base = format!("http://{bind}");
    let args = ["--bind", &bind, "--max-http-connections", "8", "--header-read-timeout-secs", "60"];
    let mut child = server(dir.path(), &args, &[]).spawn().unwrap();
    wait_healthy(&base, &mut child).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = open_files(&child);

    let mut idle = Vec::new();
    for _ in 0..40 {
        idle.push(tokio::net::TcpStream::connect(&bind).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let during = open_files(&child);
    assert!(during <= before + 8, "{before} descriptors before, {during} with 40 idle connections");

    drop(idle);
    assert_eq!(health_within(&base, Duration::from_secs(10)).await, Some(StatusCode::OK));
    let (status, log) = terminate(child);
    assert!(status.success(), "{log}");
}

/// A self-hoster's open-file limit below the connection cap: accepting
/// fails with "Too many open files". The server warns at start, logs the
/// failures and pauses between them instead of spinning, and once the idle
/// connections time out it answers again.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn running_out_of_file_descriptors_pauses_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let bind = format!("127.0.0.1:{}", free_port());
    let base = format!("http://{bind}");
    let command = server(dir.path(), &[], &[]);
    let mut shell = Command::new("sh");
    shell
        .current_dir(dir.path())
        .args(["-c", "ulimit -n 64 && exec \"$0\" \"$@\"", BIN, "--bind", &bind, "--header-read-timeout-secs", "2"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => shell.env(key, value),
            None => shell.env_remove(key),
        };
    }
    let mut child = shell.spawn().unwrap();
    wait_healthy(&base, &mut child).await;

    let mut idle = Vec::new();
    for _ in 0..100 {
        idle.push(tokio::net::TcpStream::connect(&bind).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let spent = cpu_time(&child);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let spinning = cpu_time(&child) - spent;
    assert!(spinning < Duration::from_millis(500), "{spinning:?} of CPU in 1.5 s while out of descriptors");

    // The idle connections time out, and the server serves again; they are
    // still open on this side.
    assert_eq!(health_within(&base, Duration::from_secs(20)).await, Some(StatusCode::OK));
    drop(idle);
    let (status, log) = terminate(child);
    assert!(status.success(), "{log}");
    assert!(log.contains("the open-file limit (ulimit -n) is below"), "no warning at start: {log}");
    assert!(log.contains("cannot accept connections") && log.contains("Too many open files"), "{log}");
}

/// `/metrics` is served only on `--metrics-bind`, behind the token when one is
/// set, and never on the API's address; the token is never logged.
#[tokio::test]
async fn metrics_are_served_apart_and_behind_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let bind = format!("127.0.0.1:{}", free_port());
    let metrics = format!("127.0.0.1:{}", free_port());
    let token = format!("metrics-{}", uuid::Uuid::new_v4().simple());
    let token_file = dir.path().join("metrics-token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    let args = ["--bind", &bind, "--metrics-bind", &metrics, "--metrics-token-file", token_file.to_str().unwrap()];
    let mut child = server(dir.path(), &args, &[]).spawn().unwrap();
    wait_healthy(&format!("http://{bind}"), &mut child).await;
    let http = reqwest::Client::new();
    let api = http.get(format!("http://{bind}/metrics")).send().await.unwrap();
    assert_eq!(api.status(), StatusCode::NOT_FOUND, "the API never serves metrics");
    let anonymous = http.get(format!("http://{metrics}/metrics")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let scraped = http.get(format!("http://{metrics}/metrics")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(scraped.status(), StatusCode::OK);
    assert!(scraped.text().await.unwrap().contains("sealsync_http_requests_total"));
    let (status, log) = terminate(child);
    assert!(status.success(), "{log}");
    assert!(!log.contains(&token), "the metrics token is never logged: {log}");

    // Without --metrics-bind nothing listens, and a token file alone is refused.
    let alone = server(dir.path(), &["--bind", &bind, "--metrics-token-file", token_file.to_str().unwrap()], &[])
        .output()
        .unwrap();
    assert!(!alone.status.success());
    assert!(String::from_utf8_lossy(&alone.stderr).contains("--metrics-bind is off"));
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = busy.local_addr().unwrap().to_string();
    let taken = server(dir.path(), &["--bind", &bind, "--metrics-bind", &busy], &[]).output().unwrap();
    assert!(!taken.status.success());
    assert!(String::from_utf8_lossy(&taken.stderr).contains("cannot listen on --metrics-bind"));
}
