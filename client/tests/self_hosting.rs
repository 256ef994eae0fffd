//! docs/self-hosting.md, exercised: the real `sealsync-server` and `sealsync`
//! binaries behind the real nginx, started from the shipped
//! `deploy/nginx.conf` (ports, paths and certificate substituted) as an
//! unprivileged-port process with its own prefix and configuration: no system
//! service, no port 80 or 443.
//!
//! - devices sync over `https://`, trusting the test CA by `--ca-file`, and
//!   refuse the server without it;
//! - rate limits count the real client address through the proxy
//!   (`--trust-forwarded-for`), and a client cannot choose it by sending
//!   `X-Forwarded-For`, through the proxy or directly;
//! - two server instances behind nginx on one Postgres;
//! - `copy` from SQLite to Postgres, `backup` and restore on SQLite, and
//!   `pg_dump`/`pg_restore` on Postgres, with devices syncing before and after.
//!
//! nginx and openssl come from Debian's packages (`.ci/run` installs nginx);
//! outside CI a missing one skips the test with a message, under `CI=true`
//! it fails.

mod common;

use std::fs::File;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Device, PASSPHRASE, account_name, http_get, postgres_database, server_binary};
use serde_json::Value;

// ---------------------------------------------------------------------------
// Tools, ports, processes
// ---------------------------------------------------------------------------

/// Whether `name` is on PATH; a missing tool skips the test, except under CI=true.
fn tool(name: &str) -> bool {
    let found = Command::new("sh").args(["-c", &format!("command -v {name}")]).output().unwrap().status.success();
    if !found {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{name} is required under CI=true (.ci/run installs it)");
        eprintln!("SKIPPED: {name} is not installed; `apt-get install {name}` (as .ci/run does) to run this test");
    }
    found
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_for<T>(what: &str, mut probe: impl FnMut() -> Option<T>, log: impl Fn() -> String) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(Instant::now() < deadline, "{what} did not come up:\n{}", log());
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// A `sealsync-server` process on a loopback port; killed when dropped.
struct Instance {
    bind: String,
    /// Its `--metrics-bind` address.
    metrics: String,
    child: Option<Child>,
    log: PathBuf,
}

impl Instance {
    /// Starts `sealsync-server --bind 127.0.0.1:PORT --database-url URL
    /// --metrics-bind 127.0.0.1:PORT2 EXTRA…` and waits for `/health`.
    fn start(dir: &Path, port: u16, url: &str, extra: &[&str]) -> Instance {
        let bind = format!("127.0.0.1:{port}");
        let metrics = format!("127.0.0.1:{}", free_port());
        let log = dir.join(format!("server-{port}.log"));
        let out = File::options().create(true).append(true).open(&log).unwrap();
        let mut command = Command::new(server_binary());
        for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("SEALSYNC_")) {
            command.env_remove(key);
        }
        let mut child = command
            .current_dir(dir)
            .args(["--bind", &bind, "--database-url", url, "--metrics-bind", &metrics])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
        wait_for(
            "the server",
            || {
                if let Some(status) = child.try_wait().unwrap() {
                    panic!("the server exited with {status}:\n{}", read_log());
                }
                matches!(http_get(&bind, "/health"), Some((200, _))).then_some(())
            },
            read_log,
        );
        Instance { bind, metrics, child: Some(child), log }
    }

    /// SIGTERM and wait: the server finishes requests in flight and exits.
    fn stop(mut self) {
        let mut child = self.child.take().unwrap();
        assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
        let status = child.wait().unwrap();
        assert!(status.success(), "{}", std::fs::read_to_string(&self.log).unwrap_or_default());
    }

    /// `sealsync_http_requests_total` summed over labels, from its own `/metrics`.
    fn requests_served(&self) -> f64 {
        let (_, body) = http_get(&self.metrics, "/metrics").expect("metrics answer");
        body.lines()
            .filter(|l| {
                l.starts_with("sealsync_http_requests_total{") && !l.contains("/metrics") && !l.contains("/health")
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A test CA and a certificate it signed for `localhost` and 127.0.0.1 (openssl).
struct TestCa {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

fn make_ca(dir: &Path) -> TestCa {
    let run = |args: &[&str]| {
        let output = Command::new("openssl").current_dir(dir).args(args).output().unwrap();
        assert!(output.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    run(&[
        &["req", "-x509"],
        &ec[..],
        &["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=sealsync test CA"],
    ]
    .concat());
    run(&[&["req"], &ec[..], &["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"]].concat());
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n\
         extendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    TestCa { ca: dir.join("ca.pem"), cert: dir.join("server.pem"), key: dir.join("server.key") }
}

/// nginx from `deploy/nginx.conf` with its own prefix, in front of `upstreams`.
struct Nginx {
    child: Child,
    /// `https://localhost:PORT`
    url: String,
    port: u16,
    dir: PathBuf,
}

/// Replaces `from` (which must occur) in the shipped configuration.
fn substitute(config: &mut String, from: &str, to: &str) {
    assert!(config.contains(from), "deploy/nginx.conf no longer contains {from:?}: update this test with it");
    *config = config.replace(from, to);
}

impl Nginx {
    fn start(dir: &Path, ca: &TestCa, upstreams: &[&str]) -> Nginx {
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/nginx.conf");
        let mut site = std::fs::read_to_string(shipped).unwrap();
        let (port, redirect) = (free_port(), free_port());
        let servers: String = upstreams.iter().map(|u| format!("server {u};\n    ")).collect();
        substitute(&mut site, "server 127.0.0.1:8787;\n    ", &servers);
        substitute(&mut site, "listen 80;", &format!("listen 127.0.0.1:{redirect};"));
        substitute(&mut site, "listen [::]:80;", "");
        substitute(&mut site, "listen 443 ssl;", &format!("listen 127.0.0.1:{port} ssl;"));
        substitute(&mut site, "listen [::]:443 ssl;", "");
        substitute(&mut site, "/etc/letsencrypt/live/sync.example.org/fullchain.pem", ca.cert.to_str().unwrap());
        substitute(&mut site, "/etc/letsencrypt/live/sync.example.org/privkey.pem", ca.key.to_str().unwrap());
        let prefix = dir.join("nginx");
        std::fs::create_dir_all(&prefix).unwrap();
        std::fs::write(prefix.join("sealsync.conf"), site).unwrap();
        // As root, nginx's workers drop to nobody: they must reach the prefix.
        let root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
        let user = if root { "user nobody nogroup;" } else { "" };
        if root {
            use std::os::unix::fs::PermissionsExt;
            for path in [dir, &prefix] {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
        }
        let p = prefix.display();
        std::fs::write(
            prefix.join("nginx.conf"),
            format!(
                "{user}\nworker_processes 1;\ndaemon off;\npid {p}/nginx.pid;\nerror_log {p}/error.log info;\n\
                 events {{ worker_connections 256; }}\n\
                 http {{\n  access_log {p}/access.log;\n  client_body_temp_path {p}/body;\n  proxy_temp_path {p}/proxy;\n  \
                 fastcgi_temp_path {p}/fastcgi;\n  uwsgi_temp_path {p}/uwsgi;\n  scgi_temp_path {p}/scgi;\n  \
                 include {p}/sealsync.conf;\n}}\n"
            ),
        )
        .unwrap();
        let mut child = Command::new("nginx")
            .arg("-p")
            .arg(&prefix)
            .arg("-c")
            .arg(prefix.join("nginx.conf"))
            .arg("-e")
            .arg(prefix.join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(prefix.join("stderr.log")).unwrap())
            .spawn()
            .unwrap();
        let log = || {
            std::fs::read_to_string(prefix.join("stderr.log")).unwrap_or_default()
                + &std::fs::read_to_string(prefix.join("error.log")).unwrap_or_default()
        };
        wait_for(
            "nginx",
            || {
                if let Some(status) = child.try_wait().unwrap() {
                    panic!("nginx exited with {status}:\n{}", log());
                }
                TcpStream::connect(("127.0.0.1", port)).ok().map(|_| ())
            },
            log,
        );
        Nginx { child, url: format!("https://localhost:{port}"), port, dir: prefix }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM: the master stops its workers, then exits (SIGKILL would
        // leave the workers running).
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(self.dir.join("nginx.pid"));
    }
}

// ---------------------------------------------------------------------------
// Devices over https
// ---------------------------------------------------------------------------

/// `sealsync --ca-file CA ARGS…`.
fn run(device: &Device, ca: &Path, args: &[&str]) -> String {
    let ca = ca.to_str().unwrap();
    device.run(&[&["--ca-file", ca], args].concat())
}

fn enable(device: &Device, ca: Option<&Path>, url: &str, account: &str, new: bool) {
    let mut args = Vec::new();
    if let Some(ca) = ca {
        args.extend(["--ca-file", ca.to_str().unwrap()]);
    }
    args.extend(["sync", "enable", "--server", url, "--account", account, "--passphrase-stdin"]);
    if new {
        args.push("--new");
    }
    let output = device.output(&args, Some(&format!("{PASSPHRASE}\n")));
    assert!(output.status.success(), "[{}] enable: {}", device.name, String::from_utf8_lossy(&output.stderr));
}

fn sync(device: &Device, ca: Option<&Path>) -> Value {
    let out = match ca {
        Some(ca) => run(device, ca, &["sync", "now", "--json"]),
        None => device.run(&["sync", "now", "--json"]),
    };
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("sync now --json printed {out:?}: {e}"))
}

fn assert_same(a: &Device, b: &Device, records: usize) {
    let snapshot = a.snapshot();
    assert_eq!(snapshot.iter().map(Vec::len).sum::<usize>(), records, "{snapshot:?}");
    assert_eq!(snapshot, b.snapshot(), "the two devices differ");
}

/// A reqwest client trusting only the test CA, from `source`.
fn https_client(ca: &TestCa, source: IpAddr) -> reqwest::Client {
    let pem = std::fs::read(&ca.ca).unwrap();
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
        .local_address(source)
        .build()
        .unwrap()
}

/// `POST /v1/login/params` (an account endpoint, counted per client address)
/// with a spoofed `X-Forwarded-For`; the status.
async fn login_params(client: &reqwest::Client, base: &str, spoof: &str) -> u16 {
    client
        .post(format!("{base}/v1/login/params"))
        .header("x-forwarded-for", spoof)
        .header("x-real-ip", spoof)
        .json(&serde_json::json!({ "account_name": "nobody@example.org" }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[test]
fn devices_sync_over_https_through_the_shipped_nginx_config() {
    if !tool("nginx") || !tool("openssl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ca = make_ca(dir.path());
    let db = format!("sqlite://{}", dir.path().join("server.db").display());
    let server = Instance::start(dir.path(), free_port(), &db, &["--trust-forwarded-for"]);
    let nginx = Nginx::start(dir.path(), &ca, &[&server.bind]);

    let (a, b) = (Device::new("a"), Device::new("b"));
    let account = account_name();
    // Without the CA the certificate is refused, and nothing is set up.
    let refused = a.output(
        &["sync", "enable", "--server", &nginx.url, "--account", &account, "--passphrase-stdin", "--new"],
        Some(&format!("{PASSPHRASE}\n")),
    );
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr).to_lowercase();
    assert!(message.contains("cannot reach the server") || message.contains("certificate"), "{message}");
    // A CA file that is not one is refused with its name.
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    let bad = a.run_fail(&["--ca-file", junk.to_str().unwrap(), "sync", "status"]);
    assert!(bad.contains("junk.pem"), "{bad}");

    enable(&a, Some(&ca.ca), &nginx.url, &account, true);
    let mood = a.add_mood(4, "over tls");
    a.add_activity("walk");
    sync(&a, Some(&ca.ca));
    enable(&b, Some(&ca.ca), &nginx.url, &account, false);
    sync(&b, Some(&ca.ca));
    run(&b, &ca.ca, &["mood", "edit", &mood, "--score", "2"]);
    sync(&b, Some(&ca.ca));
    sync(&a, Some(&ca.ca));
    assert_same(&a, &b, 2);
    assert_eq!(a.show("mood", &mood)["score"], 2);
    // The environment variable works as well as the flag.
    let output = a.command(&["sync", "now", "--json"]).env("SEALSYNC_CA_FILE", &ca.ca).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    // Metrics are not served through the proxy.
    let metrics = tokio::runtime::Runtime::new().unwrap().block_on(async {
        https_client(&ca, "127.0.0.1".parse().unwrap())
            .get(format!("{}/metrics", nginx.url))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(metrics.as_u16(), 404);
    drop(nginx);
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_see_the_real_address_through_the_proxy_and_cannot_be_spoofed() {
    if !tool("nginx") || !tool("openssl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ca = make_ca(dir.path());
    let db = format!("sqlite://{}", dir.path().join("server.db").display());
    let limits = ["--auth-burst", "3", "--auth-rate-per-minute", "1"];
    let proxied = Instance::start(dir.path(), free_port(), &db, &[&["--trust-forwarded-for"], &limits[..]].concat());
    let nginx = Nginx::start(dir.path(), &ca, &[&proxied.bind]);
    let port = nginx.port;
    let base = format!("https://localhost:{port}");

    // Through the proxy, from 127.0.0.1: a fresh X-Forwarded-For on every
    // request does not buy a fresh budget (nginx replaces the header).
    let first = https_client(&ca, "127.0.0.1".parse().unwrap());
    let mut statuses = Vec::new();
    for i in 0..5 {
        statuses.push(login_params(&first, &base, &format!("198.51.100.{i}")).await);
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429], "spoofed addresses were counted as real ones");
    // Another real client address (127.0.0.2) has its own budget: the server
    // counts the address nginx saw, not nginx's own.
    let second = https_client(&ca, "127.0.0.2".parse().unwrap());
    assert_eq!(login_params(&second, &base, "198.51.100.1").await, 200);

    // Reached directly, a server without --trust-forwarded-for ignores the
    // header: the budget is the connection's address, whatever is claimed.
    let direct = Instance::start(dir.path(), free_port(), &format!("{db}2"), &limits);
    let plain = reqwest::Client::new();
    let mut statuses = Vec::new();
    for i in 0..5 {
        statuses.push(login_params(&plain, &format!("http://{}", direct.bind), &format!("203.0.113.{i}")).await);
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    drop(nginx);
    let _: SocketAddr = direct.bind.parse().unwrap();
}

#[test]
fn two_instances_behind_nginx_serve_devices_from_one_postgres() {
    if !tool("nginx") || !tool("openssl") {
        return;
    }
    let Some(pg) = postgres_database() else { return };
    let dir = tempfile::tempdir().unwrap();
    let ca = make_ca(dir.path());
    let one = Instance::start(dir.path(), free_port(), &pg.url, &["--trust-forwarded-for"]);
    let two = Instance::start(dir.path(), free_port(), &pg.url, &["--trust-forwarded-for"]);
    let nginx = Nginx::start(dir.path(), &ca, &[&one.bind, &two.bind]);

    let (a, b) = (Device::new("a"), Device::new("b"));
    let account = account_name();
    enable(&a, Some(&ca.ca), &nginx.url, &account, true);
    enable(&b, Some(&ca.ca), &nginx.url, &account, false);
    for round in 0..4 {
        a.add_mood(round % 5 + 1, &format!("a{round}"));
        b.add_activity(&format!("b{round}"));
        sync(&a, Some(&ca.ca));
        sync(&b, Some(&ca.ca));
    }
    sync(&a, Some(&ca.ca));
    assert_same(&a, &b, 8);
    let (served_one, served_two) = (one.requests_served(), two.requests_served());
    assert!(served_one > 0.0 && served_two > 0.0, "nginx used both instances: {served_one} and {served_two}");

    // One instance goes away: the other serves on, nothing is lost.
    one.stop();
    a.add_mood(3, "after one stopped");
    sync(&a, Some(&ca.ca));
    sync(&b, Some(&ca.ca));
    assert_same(&a, &b, 9);
    drop(nginx);
    two.stop();
}

#[test]
fn copy_from_sqlite_to_postgres_and_devices_continue_unnoticed() {
    let Some(pg) = postgres_database() else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("server.db");
    let sqlite = format!("sqlite://{}", file.display());
    let port = free_port();
    let server = Instance::start(dir.path(), port, &sqlite, &[]);
    let url = format!("http://127.0.0.1:{port}");
    let (a, b) = (Device::new("a"), Device::new("b"));
    let account = account_name();
    enable(&a, None, &url, &account, true);
    for i in 0..5 {
        a.add_mood(i % 5 + 1, &format!("before {i}"));
    }
    sync(&a, None);
    enable(&b, None, &url, &account, false);
    b.add_activity("from b");
    sync(&b, None);
    sync(&a, None);
    assert_same(&a, &b, 6);
    server.stop();

    let output = Command::new(server_binary()).args(["copy", "--from", &sqlite, "--to", &pg.url]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));

    // Same address, new database: the devices are not told anything.
    let server = Instance::start(dir.path(), port, &pg.url, &[]);
    let new = a.add_mood(5, "after the move");
    let pushed = sync(&a, None);
    assert_eq!(pushed["pushed"], 1, "only the new change is uploaded: {pushed}");
    let pulled = sync(&b, None);
    assert_eq!(pulled["pulled"], 1, "b continues from its cursor, not from the start: {pulled}");
    assert_same(&a, &b, 7);
    assert_eq!(b.show("mood", &new)["note"], "after the move");
    server.stop();
}

#[test]
fn a_sqlite_backup_restores_and_devices_converge() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("server.db");
    let sqlite = format!("sqlite://{}", file.display());
    let port = free_port();
    let server = Instance::start(dir.path(), port, &sqlite, &[]);
    let url = format!("http://127.0.0.1:{port}");
    let (a, b) = (Device::new("a"), Device::new("b"));
    let account = account_name();
    enable(&a, None, &url, &account, true);
    a.add_mood(2, "kept by the backup");
    a.add_activity("run");
    sync(&a, None);
    enable(&b, None, &url, &account, false);
    sync(&b, None);

    // The documented procedure: back up while serving, stop, put the file in
    // place (without the old -wal and -shm), start.
    let backup = dir.path().join("backup.db");
    let output = Command::new(server_binary())
        .args(["backup", "--to", backup.to_str().unwrap(), "--database-url", &sqlite])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    server.stop();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
    }
    std::fs::copy(&backup, &file).unwrap();
    let server = Instance::start(dir.path(), port, &sqlite, &[]);

    b.add_mood(4, "after the restore");
    sync(&b, None);
    let pulled = sync(&a, None);
    assert_eq!(pulled["pulled"], 1, "{pulled}");
    assert_same(&a, &b, 3);
    server.stop();
}

#[test]
fn a_postgres_dump_restores_and_devices_converge() {
    if !tool("pg_dump") || !tool("pg_restore") {
        return;
    }
    let Some(pg) = postgres_database() else { return };
    let Some(restored) = postgres_database() else { return };
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = Instance::start(dir.path(), port, &pg.url, &[]);
    let url = format!("http://127.0.0.1:{port}");
    let (a, b) = (Device::new("a"), Device::new("b"));
    let account = account_name();
    enable(&a, None, &url, &account, true);
    a.add_mood(1, "in the dump");
    sync(&a, None);
    enable(&b, None, &url, &account, false);
    sync(&b, None);

    // docs/self-hosting.md: pg_dump while serving, pg_restore into an empty database.
    let dump = dir.path().join("sealsync.dump");
    let output = Command::new("pg_dump")
        .args(["--format=custom", "--no-owner", "--file"])
        .arg(&dump)
        .arg(&pg.url)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    server.stop();
    let output = Command::new("pg_restore")
        .args(["--no-owner", "--exit-on-error", "--dbname", &restored.url])
        .arg(&dump)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let server = Instance::start(dir.path(), port, &restored.url, &[]);

    a.add_activity("after the restore");
    sync(&a, None);
    let pulled = sync(&b, None);
    assert_eq!(pulled["pulled"], 1, "{pulled}");
    assert_same(&a, &b, 2);
    server.stop();
}
