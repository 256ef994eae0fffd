//! End-to-end harness: the real `sealsync-server` binary on a loopback port
//! over a real database (a fresh SQLite file, or a fresh Postgres database per
//! test), and devices that are nothing but data directories driven through
//! the real `sealsync` binary, exactly as a user types the commands.
//!
//! Postgres comes from `DATABASE_URL` (default: the local server). If it is
//! unreachable the Postgres half of each test is skipped with a NOTICE on
//! stderr, except under `CI=true`, where that is a failure.
#![allow(dead_code)] // not every test uses every helper

pub mod hostile;

use std::fs::File;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use sealsync_testkit::ScratchPostgres;
use serde_json::Value;
use sqlx::Connection;

/// The CLI under test.
pub const CLI: &str = env!("CARGO_BIN_EXE_sealsync");

/// The passphrase every test account uses unless it says otherwise.
pub const PASSPHRASE: &str = "correct horse battery staple, end to end";

/// Longest a single CLI invocation may take before the test calls it hung.
const CLI_TIMEOUT: Duration = Duration::from_secs(90);

// ---------------------------------------------------------------------------
// Building and locating the server binary
// ---------------------------------------------------------------------------

/// `target/<profile>/sealsync-server`, built (once per test binary) with
/// `cargo build -p sealsync-server` in the profile this test was built in.
/// The server crate is not a dependency of the client, so cargo does not
/// build it for us; the build is quick when it is up to date.
pub fn server_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let exe = std::env::current_exe().expect("the test binary knows where it is");
        // target/<profile>/deps/e2e-xxxx -> target/<profile>
        let profile_dir = exe.parent().and_then(Path::parent).expect("the test binary lives in target/<profile>/deps");
        let profile = profile_dir.file_name().and_then(|n| n.to_str()).unwrap_or("debug").to_owned();
        let target_dir = profile_dir.parent().expect("target/<profile> has a parent");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let mut build = Command::new(cargo);
        build
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["build", "--quiet", "-p", "sealsync-server", "--bin", "sealsync-server", "--target-dir"])
            .arg(target_dir);
        match profile.as_str() {
            "debug" => {}
            "release" => {
                build.arg("--release");
            }
            other => {
                build.args(["--profile", other]);
            }
        }
        let output = build.stdin(Stdio::null()).output().expect("cargo runs");
        assert!(
            output.status.success(),
            "cargo build -p sealsync-server failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let binary = profile_dir.join(format!("sealsync-server{}", std::env::consts::EXE_SUFFIX));
        assert!(binary.exists(), "{} was not built", binary.display());
        binary
    })
}

// ---------------------------------------------------------------------------
// Databases
// ---------------------------------------------------------------------------

/// Which database the server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A scratch Postgres database for one test, or `None` to skip (see sealsync-testkit).
pub fn postgres_database() -> Option<ScratchPostgres> {
    block_on(ScratchPostgres::for_test("client end-to-end suite"))
}

/// Runs a future to completion on a runtime of its own (tests are synchronous).
pub fn block_on<F: std::future::Future + Send + 'static>(future: F) -> F::Output
where
    F::Output: Send + 'static,
{
    // A thread of its own, so this works from anywhere (even inside a runtime or a Drop).
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime").block_on(future)
    })
    .join()
    .expect("the database helper thread does not panic")
}

/// One row of the server's `envelopes` table.
#[derive(Debug, Clone)]
pub struct StoredEnvelope {
    pub record: String,
    pub device: String,
    pub device_seq: i64,
    pub server_seq: u64,
    pub bytes: Vec<u8>,
}

/// The server's database, as a test inspects (and tampers with) it.
pub enum ServerDb {
    Sqlite { path: PathBuf, url: String },
    Postgres(ScratchPostgres),
}

/// Runs `$body` with `$conn` a fresh connection to the server's database,
/// whichever backend it is (the body is compiled once per backend).
macro_rules! with_conn {
    ($db:expr, |$conn:ident| $body:expr) => {{
        let url = $db.url().to_owned();
        let sqlite = matches!($db, ServerDb::Sqlite { .. });
        block_on(async move {
            if sqlite {
                let mut $conn = sqlx::SqliteConnection::connect(&url).await.expect("open the server's SQLite file");
                let out = $body;
                let _ = $conn.close().await;
                out
            } else {
                let mut $conn = sqlx::PgConnection::connect(&url).await.expect("connect to the server's database");
                let out = $body;
                let _ = $conn.close().await;
                out
            }
        })
    }};
}

impl ServerDb {
    pub fn url(&self) -> &str {
        match self {
            ServerDb::Sqlite { url, .. } => url,
            ServerDb::Postgres(db) => &db.url,
        }
    }

    /// Envelope rows the server holds (every account).
    pub fn envelope_rows(&self) -> i64 {
        with_conn!(self, |conn| {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM envelopes").fetch_one(&mut conn).await.unwrap()
        })
    }

    /// Distinct records among the server's envelopes.
    pub fn distinct_records(&self) -> i64 {
        with_conn!(self, |conn| {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(DISTINCT record_id) FROM envelopes")
                .fetch_one(&mut conn)
                .await
                .unwrap()
        })
    }

    /// The highest server_seq assigned (the single account's counter).
    pub fn account_seq(&self) -> i64 {
        with_conn!(self, |conn| {
            sqlx::query_scalar::<_, i64>("SELECT COALESCE(MAX(seq), 0) FROM accounts")
                .fetch_one(&mut conn)
                .await
                .unwrap()
        })
    }

    /// Devices revoked (every account).
    pub fn revoked_devices(&self) -> i64 {
        with_conn!(self, |conn| {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM devices WHERE revoked_at IS NOT NULL")
                .fetch_one(&mut conn)
                .await
                .unwrap()
        })
    }

    /// Devices registered (every account, revoked or not).
    pub fn device_rows(&self) -> i64 {
        with_conn!(self, |conn| {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM devices").fetch_one(&mut conn).await.unwrap()
        })
    }

    /// Flips the last byte (inside the AEAD tag) of the envelope stored at
    /// the highest server_seq; returns that server_seq.
    pub fn tamper_newest_envelope(&self) -> u64 {
        with_conn!(self, |conn| {
            let (account, seq, mut bytes): (uuid::Uuid, i64, Vec<u8>) = sqlx::query_as(
                "SELECT account_id, server_seq, envelope FROM envelopes ORDER BY server_seq DESC LIMIT 1",
            )
            .fetch_one(&mut conn)
            .await
            .unwrap();
            *bytes.last_mut().expect("envelopes are not empty") ^= 0x01;
            let updated = sqlx::query("UPDATE envelopes SET envelope = $1 WHERE account_id = $2 AND server_seq = $3")
                .bind(bytes)
                .bind(account)
                .bind(seq)
                .execute(&mut conn)
                .await
                .unwrap();
            assert_eq!(updated.rows_affected(), 1);
            seq as u64
        })
    }

    /// The stored envelope of `record` (the single device that wrote it): its device_seq and bytes.
    pub fn envelope_of(&self, record: &str) -> (i64, Vec<u8>) {
        let record = uuid::Uuid::parse_str(record).unwrap();
        with_conn!(self, |conn| {
            sqlx::query_as::<_, (i64, Vec<u8>)>("SELECT device_seq, envelope FROM envelopes WHERE record_id = $1")
                .bind(record)
                .fetch_one(&mut conn)
                .await
                .unwrap()
        })
    }

    /// What a malicious relay could do: replace the new device's SPAKE2
    /// message of every open pairing with one of its own.
    pub fn substitute_pairing_message(&self, message: Vec<u8>) {
        with_conn!(self, |conn| {
            let updated = sqlx::query("UPDATE pairings SET new_message = $1 WHERE state = 'open'")
                .bind(message)
                .execute(&mut conn)
                .await
                .unwrap();
            assert_eq!(updated.rows_affected(), 1, "one open pairing");
        })
    }

    /// What a malicious server could do: put an older envelope of `record`
    /// back in place of the newer one, at a new, higher server_seq (so every
    /// device pulls it). Returns that server_seq.
    pub fn roll_back(&self, record: &str, device_seq: i64, envelope: Vec<u8>) -> u64 {
        let record = uuid::Uuid::parse_str(record).unwrap();
        with_conn!(self, |conn| {
            let seq: i64 = sqlx::query_scalar("UPDATE accounts SET seq = seq + 1 RETURNING seq")
                .fetch_one(&mut conn)
                .await
                .unwrap();
            let updated = sqlx::query(
                "UPDATE envelopes SET device_seq = $1, envelope = $2, server_seq = $3 WHERE record_id = $4",
            )
            .bind(device_seq)
            .bind(envelope)
            .bind(seq)
            .bind(record)
            .execute(&mut conn)
            .await
            .unwrap();
            assert_eq!(updated.rows_affected(), 1);
            seq as u64
        })
    }

    /// Every stored envelope of `account`, in log order.
    pub fn envelopes(&self, account: &str) -> Vec<StoredEnvelope> {
        let account = uuid::Uuid::parse_str(account).unwrap();
        with_conn!(self, |conn| {
            sqlx::query_as::<_, (uuid::Uuid, uuid::Uuid, i64, i64, Vec<u8>)>(
                "SELECT record_id, device_id, device_seq, server_seq, envelope FROM envelopes \
                 WHERE account_id = $1 ORDER BY server_seq",
            )
            .bind(account)
            .fetch_all(&mut conn)
            .await
            .unwrap()
            .into_iter()
            .map(|(record, device, device_seq, server_seq, bytes)| StoredEnvelope {
                record: record.to_string(),
                device: device.to_string(),
                device_seq,
                server_seq: server_seq as u64,
                bytes,
            })
            .collect()
        })
    }

    /// What a malicious server could do: replace the bytes it serves at
    /// `server_seq` of `account`, in place (the row's other columns stay).
    pub fn overwrite(&self, account: &str, server_seq: u64, bytes: Vec<u8>) {
        let account = uuid::Uuid::parse_str(account).unwrap();
        with_conn!(self, |conn| {
            let updated = sqlx::query("UPDATE envelopes SET envelope = $1 WHERE account_id = $2 AND server_seq = $3")
                .bind(bytes)
                .bind(account)
                .bind(server_seq as i64)
                .execute(&mut conn)
                .await
                .unwrap();
            assert_eq!(updated.rows_affected(), 1, "an envelope at {server_seq}");
        })
    }

    /// What a malicious server could do: serve `bytes` (any envelope: one of
    /// this account's, an older one, another account's) in `account`'s log at
    /// a new, higher server_seq, in place of whatever it stored for the
    /// envelope's (record, device). Returns that server_seq.
    pub fn plant(&self, account: &str, bytes: Vec<u8>) -> u64 {
        let account = uuid::Uuid::parse_str(account).unwrap();
        let header = sealsync_envelope::Envelope::decode(&bytes).expect("a well-formed envelope").header;
        let (record, device, device_seq) = (header.record_id.0, header.device_id.0, header.device_seq.0 as i64);
        with_conn!(self, |conn| {
            let seq: i64 = sqlx::query_scalar("UPDATE accounts SET seq = seq + 1 WHERE id = $1 RETURNING seq")
                .bind(account)
                .fetch_one(&mut conn)
                .await
                .unwrap();
            sqlx::query(
                "INSERT INTO envelopes (account_id, record_id, device_id, device_seq, server_seq, envelope) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (account_id, record_id, device_id) \
                 DO UPDATE SET device_seq = excluded.device_seq, server_seq = excluded.server_seq, \
                 envelope = excluded.envelope",
            )
            .bind(account)
            .bind(record)
            .bind(device)
            .bind(device_seq)
            .bind(seq)
            .bind(bytes)
            .execute(&mut conn)
            .await
            .unwrap();
            seq as u64
        })
    }

    /// Rows that name `account` (a UUID), in every table of the server's
    /// schema: `accounts` by its `id`, every other table by its `account_id`
    /// column. A table with neither must be one known to hold no account's
    /// data, so a new table cannot escape the count.
    pub fn rows_of_account(&self, account: &str) -> i64 {
        let account = uuid::Uuid::parse_str(account).expect("an account id");
        let sqlite = matches!(self, ServerDb::Sqlite { .. });
        with_conn!(self, |conn| {
            let columns: Vec<(String, String)> = if sqlite {
                sqlx::query_as(
                    "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p \
                     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'",
                )
                .fetch_all(&mut conn)
                .await
                .unwrap()
            } else {
                sqlx::query_as(
                    "SELECT c.table_name::text, c.column_name::text FROM information_schema.columns c \
                     JOIN information_schema.tables t ON t.table_name = c.table_name AND t.table_schema = c.table_schema \
                     WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'",
                )
                .fetch_all(&mut conn)
                .await
                .unwrap()
            };
            let mut tables: Vec<&str> = columns.iter().map(|(t, _)| t.as_str()).collect();
            tables.sort_unstable();
            tables.dedup();
            let mut rows = 0;
            for table in tables {
                let has = |column: &str| columns.iter().any(|(t, c)| t == table && c == column);
                let column = match table {
                    "accounts" => "id",
                    _ if has("account_id") => "account_id",
                    "server_secrets" | "server_settings" | "_sqlx_migrations" => continue,
                    other => panic!("table {other} has no account_id column: does it hold account data?"),
                };
                let count = format!("SELECT COUNT(*) FROM \"{table}\" WHERE {column} = $1");
                let n: i64 =
                    sqlx::query_scalar(sqlx::AssertSqlSafe(count)).bind(account).fetch_one(&mut conn).await.unwrap();
                rows += n;
            }
            rows
        })
    }

    /// Everything the database holds, as bytes to search: for SQLite the
    /// database file with its `-wal` and `-shm` files; for Postgres every row
    /// of every table in the schema rendered as text (bytea as `\x` hex).
    pub fn everything(&self) -> Vec<u8> {
        match self {
            ServerDb::Sqlite { path, .. } => {
                let mut all = Vec::new();
                for suffix in ["", "-wal", "-shm", "-journal"] {
                    let file = PathBuf::from(format!("{}{suffix}", path.display()));
                    if let Ok(bytes) = std::fs::read(&file) {
                        all.extend_from_slice(&bytes);
                    }
                }
                assert!(!all.is_empty(), "the server's SQLite file exists");
                all
            }
            ServerDb::Postgres(_) => with_conn!(self, |conn| {
                let tables: Vec<String> = sqlx::query_scalar(
                    "SELECT table_name::text FROM information_schema.tables \
                     WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
                )
                .fetch_all(&mut conn)
                .await
                .unwrap();
                assert!(tables.iter().any(|t| t == "envelopes"), "{tables:?}");
                let mut all = Vec::new();
                for table in tables {
                    let select = format!("SELECT t::text FROM \"{table}\" t");
                    let rows: Vec<String> =
                        sqlx::query_scalar(sqlx::AssertSqlSafe(select)).fetch_all(&mut conn).await.unwrap();
                    for row in rows {
                        all.extend_from_slice(table.as_bytes());
                        all.extend_from_slice(row.as_bytes());
                        all.push(b'\n');
                    }
                }
                all
            }),
        }
    }
}

// ---------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------

/// A running `sealsync-server` on a loopback port; killed when dropped.
pub struct Server {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    pub backend: Backend,
    bind: String,
    child: Option<Child>,
    log_path: PathBuf,
    /// Settings on top of the ones every test server gets (see [`Server::start_with`]).
    env: Vec<(String, String)>,
    // Dropped after the child is killed (field order): the database, then the directory.
    pub db: ServerDb,
    dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `GET path` over plain HTTP/1.1; the status code and body, or `None` if unreachable.
pub fn http_get(bind: &str, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&bind.parse().ok()?, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {bind}\r\nConnection: close\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Some((status, body))
}

impl Server {
    /// Starts a server on a fresh database of `backend`; `None` when that is
    /// Postgres and Postgres is unreachable outside CI (the test is skipped).
    pub fn start(backend: Backend) -> Option<Server> {
        Self::start_with(backend, &[])
    }

    /// [`Server::start`] with extra `SEALSYNC_*` settings (they win over the defaults here).
    pub fn start_with(backend: Backend, env: &[(&str, &str)]) -> Option<Server> {
        let binary = server_binary();
        let dir = tempfile::tempdir().unwrap();
        let db = match backend {
            Backend::Sqlite => {
                let path = dir.path().join("server.db");
                ServerDb::Sqlite { url: format!("sqlite://{}", path.display()), path }
            }
            Backend::Postgres => ServerDb::Postgres(postgres_database()?),
        };
        assert!(binary.exists());
        let bind = format!("127.0.0.1:{}", free_port());
        let mut server = Server {
            url: format!("http://{bind}"),
            backend,
            bind,
            child: None,
            log_path: dir.path().join("server.log"),
            env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            db,
            dir,
        };
        server.spawn();
        Some(server)
    }

    /// Starts the process (again) on the same database and port, and waits
    /// until `/health` answers 200.
    fn spawn(&mut self) {
        assert!(self.child.is_none(), "the server is already running");
        let log = File::options().create(true).append(true).open(&self.log_path).unwrap();
        let mut command = Command::new(server_binary());
        for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("SEALSYNC_")) {
            command.env_remove(key);
        }
        command
            .current_dir(self.dir.path())
            .args(["--bind", &self.bind, "--database-url", self.db.url()])
            // Debug-level logs: even these must never carry journal content.
            .env("SEALSYNC_LOG", "debug")
            // Tests sign in more often than a person would.
            .env("SEALSYNC_AUTH_RATE_PER_MINUTE", "600")
            .env("SEALSYNC_AUTH_BURST", "100")
            // Clients ask for the push limit before a large upload: the
            // smallest a server may set keeps the cut-off tests' uploads
            // several batches long.
            .env("SEALSYNC_MAX_ENVELOPES_PER_PUSH", "500")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        let mut child = command.spawn().expect("the server binary starts");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some((200, _)) = http_get(&self.bind, "/health") {
                break;
            }
            if let Some(status) = child.try_wait().unwrap() {
                panic!("the server exited early with {status}:\n{}", self.log());
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the server did not become healthy:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        self.child = Some(child);
    }

    /// SIGKILL: no graceful shutdown, requests in flight are cut off.
    pub fn kill(&mut self) {
        let mut child = self.child.take().expect("the server is running");
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
    }

    /// Starts the server again on the same database and port.
    pub fn restart(&mut self) {
        self.spawn();
    }

    /// `host:port` it listens on.
    pub fn bind(&self) -> &str {
        &self.bind
    }

    /// Everything the server process(es) wrote to stdout and stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

// ---------------------------------------------------------------------------
// Devices
// ---------------------------------------------------------------------------

/// A device: a data directory, driven through the `sealsync` binary.
pub struct Device {
    pub name: &'static str,
    dir: tempfile::TempDir,
}

/// A unique account name.
pub fn account_name() -> String {
    format!("e2e-{}@example.org", uuid::Uuid::new_v4().simple())
}

/// The trimmed output of a finished CLI run, as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim().to_owned()
}

impl Device {
    pub fn new(name: &'static str) -> Device {
        Device { name, dir: tempfile::tempdir().unwrap() }
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `sealsync --data-dir DIR ARGS…` with a clean environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(CLI);
        for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("SEALSYNC_")) {
            command.env_remove(key);
        }
        command
            .arg("--data-dir")
            .arg(self.dir.path())
            .args(args)
            .env("HOME", self.dir.path())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// Starts a CLI run without waiting for it.
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args).spawn().expect("the CLI starts")
    }

    /// Runs the CLI with `stdin` fed to it; kills it (and fails) if it hangs.
    pub fn output(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut command = self.command(args);
        if stdin.is_some() {
            command.stdin(Stdio::piped());
        }
        let mut child = command.spawn().expect("the CLI starts");
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().unwrap();
            // The CLI may refuse before it reads its input: a broken pipe is not the test's failure.
            let _ = pipe.write_all(input.as_bytes());
            drop(pipe);
        }
        wait_output(child, args)
    }

    /// Runs the CLI, asserts it succeeded, returns its trimmed stdout.
    pub fn run(&self, args: &[&str]) -> String {
        let output = self.output(args, None);
        assert!(
            output.status.success(),
            "[{}] sealsync {} failed ({}):\n{}",
            self.name,
            args.join(" "),
            output.status,
            text(&output.stderr)
        );
        text(&output.stdout)
    }

    /// Runs the CLI, asserts it failed with one sentence on stderr, returns it.
    pub fn run_fail(&self, args: &[&str]) -> String {
        let output = self.output(args, None);
        expect_failure(self.name, args, &output)
    }

    /// `sync enable` with the passphrase on stdin; returns the raw output.
    pub fn try_enable(&self, server: &Server, account: &str, passphrase: &str, new: bool) -> Output {
        self.try_enable_at(&server.url, account, passphrase, new)
    }

    /// `sync enable` against a server URL (e.g. a proxy's), the passphrase on stdin; the raw output.
    pub fn try_enable_at(&self, url: &str, account: &str, passphrase: &str, new: bool) -> Output {
        let mut args = vec!["sync", "enable", "--server", url, "--account", account, "--passphrase-stdin"];
        if new {
            args.push("--new");
        }
        self.output(&args, Some(&format!("{passphrase}\n")))
    }

    /// Turns sync on with [`PASSPHRASE`] (creating the account if `new`).
    pub fn enable(&self, server: &Server, account: &str, new: bool) {
        self.enable_at(&server.url, account, new);
    }

    /// Turns sync on with [`PASSPHRASE`] against a server URL (e.g. a [`Proxy`]'s).
    pub fn enable_at(&self, url: &str, account: &str, new: bool) {
        let mut args = vec!["sync", "enable", "--server", url, "--account", account, "--passphrase-stdin"];
        if new {
            args.push("--new");
        }
        let output = self.output(&args, Some(&format!("{PASSPHRASE}\n")));
        assert!(
            output.status.success(),
            "[{}] sync enable failed ({}):\n{}",
            self.name,
            output.status,
            text(&output.stderr)
        );
    }

    /// `sync now --json`: the summary.
    pub fn sync(&self) -> Value {
        let out = self.run(&["sync", "now", "--json"]);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("[{}] sync now --json printed {out:?}: {e}", self.name))
    }

    /// `sync status --json`.
    pub fn status(&self) -> Value {
        let out = self.run(&["sync", "status", "--json"]);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("[{}] sync status --json printed {out:?}: {e}", self.name))
    }

    /// `KIND list --json --include-deleted`, sorted by id.
    pub fn list(&self, kind: &str) -> Vec<Value> {
        let out = self.run(&[kind, "list", "--json", "--include-deleted"]);
        let value: Value = serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("[{}] {kind} list --json printed {out:?}: {e}", self.name));
        let mut records = match value {
            Value::Array(records) => records,
            other => panic!("[{}] {kind} list --json is not an array: {other}", self.name),
        };
        records.sort_by(|a, b| id_of(a).cmp(id_of(b)));
        records
    }

    /// `KIND show ID --json`.
    pub fn show(&self, kind: &str, id: &str) -> Value {
        let out = self.run(&[kind, "show", id, "--json"]);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("[{}] {kind} show --json printed {out:?}: {e}", self.name))
    }

    /// Every kind's list, in [`KINDS`] order.
    pub fn snapshot(&self) -> Vec<Vec<Value>> {
        KINDS.iter().map(|kind| self.list(kind)).collect()
    }

    /// Runs an `add` command and returns the new id it printed.
    pub fn add(&self, args: &[&str]) -> String {
        let id = self.run(args);
        assert!(
            uuid::Uuid::parse_str(&id).is_ok(),
            "[{}] sealsync {} printed {id:?}, not an id",
            self.name,
            args.join(" ")
        );
        id
    }

    pub fn add_mood(&self, score: u8, note: &str) -> String {
        self.add(&["mood", "add", "--score", &score.to_string(), "--note", note])
    }

    pub fn add_assessment(&self, kind: &str, answers: &str) -> String {
        self.add(&["assessment", "add", "--kind", kind, "--answers", answers])
    }

    pub fn add_activity(&self, name: &str) -> String {
        self.add(&["activity", "add", "--name", name])
    }

    pub fn add_schedule(&self, activity: &str, every: &str, at: &str) -> String {
        self.add(&["schedule", "add", "--activity", activity, "--every", every, "--at", at, "--tz", "Europe/Berlin"])
    }
}

// ---------------------------------------------------------------------------
// A proxy that can lose an answer
// ---------------------------------------------------------------------------

/// A TCP proxy in front of the server that passes everything through, or,
/// when armed, lets one request of a given kind reach the server and then
/// cuts the connection as soon as the server starts answering: the server
/// has done the work (committed the push, read the page), the device never
/// hears about it. From then on the proxy refuses connections, as a dead
/// server would, until [`Proxy::open`].
pub struct Proxy {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    shared: Arc<ProxyShared>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProxyMode {
    Pass,
    /// Cut the answer to the `n`th request from now starting with this.
    Cut(&'static str, usize),
    /// Cut: refuse everything.
    Down,
}

struct ProxyShared {
    upstream: String,
    mode: Mutex<ProxyMode>,
    fired: Condvar,
    stop: AtomicBool,
    /// After the cut, pass again rather than go down (see [`Proxy::cut_once`]).
    reopen: AtomicBool,
    listen: String,
}

impl Proxy {
    pub fn new(server: &Server) -> Proxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let listen = listener.local_addr().unwrap().to_string();
        let shared = Arc::new(ProxyShared {
            upstream: server.bind().to_owned(),
            mode: Mutex::new(ProxyMode::Pass),
            fired: Condvar::new(),
            stop: AtomicBool::new(false),
            reopen: AtomicBool::new(false),
            listen: listen.clone(),
        });
        let accept = shared.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if accept.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                if *accept.mode.lock().unwrap() == ProxyMode::Down {
                    continue; // dropped: the connection closes at once
                }
                let Ok(upstream) = TcpStream::connect(&accept.upstream) else { continue };
                let shared = accept.clone();
                std::thread::spawn(move || pump_connection(client, upstream, shared));
            }
        });
        Proxy { url: format!("http://{listen}"), shared }
    }

    /// Arms the proxy: the answer to the `nth` request from now (1: the
    /// next) whose first line starts with `request` (e.g.
    /// `POST /v1/sync/push`) is cut.
    pub fn cut_nth(&self, request: &'static str, nth: usize) {
        assert!(nth >= 1);
        self.shared.reopen.store(false, Ordering::SeqCst);
        *self.shared.mode.lock().unwrap() = ProxyMode::Cut(request, nth);
    }

    /// Like [`Proxy::cut_nth`], but the proxy passes everything again right
    /// after the cut: an answer lost once, which the client's retry survives.
    pub fn cut_once(&self, request: &'static str, nth: usize) {
        assert!(nth >= 1);
        self.shared.reopen.store(true, Ordering::SeqCst);
        *self.shared.mode.lock().unwrap() = ProxyMode::Cut(request, nth);
    }

    /// Waits until the armed cut happened; false on timeout.
    pub fn wait_cut(&self, timeout: Duration) -> bool {
        let mode = self.shared.mode.lock().unwrap();
        let (mode, _) = self.shared.fired.wait_timeout_while(mode, timeout, |m| *m != ProxyMode::Down).unwrap();
        *mode == ProxyMode::Down
    }

    /// Passes everything through again.
    pub fn open(&self) {
        *self.shared.mode.lock().unwrap() = ProxyMode::Pass;
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(&self.shared.listen); // wakes the accept loop
    }
}

fn pump_connection(client: TcpStream, upstream: TcpStream, shared: Arc<ProxyShared>) {
    let watching = Arc::new(AtomicBool::new(false));
    let (mut client_read, mut upstream_write) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
    let (to_upstream, watch) = (shared.clone(), watching.clone());
    let requests = std::thread::spawn(move || {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let read = match client_read.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(read) => read,
            };
            {
                let mut mode = to_upstream.mode.lock().unwrap();
                if let ProxyMode::Cut(request, nth) = *mode
                    && buffer[..read].starts_with(request.as_bytes())
                {
                    if nth == 1 {
                        watch.store(true, Ordering::SeqCst);
                    } else {
                        *mode = ProxyMode::Cut(request, nth - 1);
                    }
                }
            }
            if upstream_write.write_all(&buffer[..read]).is_err() {
                break;
            }
        }
        let _ = upstream_write.shutdown(std::net::Shutdown::Write);
    });
    let (mut upstream_read, mut client_write) = (upstream, client);
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = match upstream_read.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        if watching.load(Ordering::SeqCst) {
            let mut mode = shared.mode.lock().unwrap();
            if matches!(*mode, ProxyMode::Cut(_, 1)) {
                // The server answered: it did the work. The device never hears of it.
                *mode = match shared.reopen.load(Ordering::SeqCst) {
                    true => ProxyMode::Pass,
                    false => ProxyMode::Down,
                };
                shared.fired.notify_all();
                drop(mode);
                let _ = client_write.shutdown(std::net::Shutdown::Both);
                let _ = upstream_read.shutdown(std::net::Shutdown::Both);
                break;
            }
        }
        if client_write.write_all(&buffer[..read]).is_err() {
            break;
        }
    }
    let _ = client_write.shutdown(std::net::Shutdown::Both);
    let _ = upstream_read.shutdown(std::net::Shutdown::Both);
    let _ = requests.join();
}

/// The four record kinds, as the CLI names them.
pub const KINDS: [&str; 4] = ["mood", "assessment", "activity", "schedule"];

pub fn id_of(record: &Value) -> &str {
    record["id"].as_str().unwrap_or_else(|| panic!("a record without an id: {record}"))
}

/// The record with `id` in a sorted list.
pub fn find<'a>(records: &'a [Value], id: &str) -> &'a Value {
    records.iter().find(|r| id_of(r) == id).unwrap_or_else(|| panic!("no record {id} in {records:#?}"))
}

/// Whether a listed record is deleted; a deleted one must have no content
/// left, only its id and times.
pub fn is_deleted(record: &Value) -> bool {
    let deleted = !record["deleted_at"].is_null();
    if deleted {
        let mut keys: Vec<&str> = record.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["created_at", "deleted_at", "hlc", "id", "updated_at"],
            "a deleted record keeps content: {record}"
        );
    }
    deleted
}

/// Waits for a CLI run, killing it if it takes longer than [`CLI_TIMEOUT`].
pub fn wait_output(child: Child, args: &[&str]) -> Output {
    wait_output_within(child, args, CLI_TIMEOUT)
}

/// Waits for a CLI run, killing it (and failing) if it takes longer than `timeout`.
pub fn wait_output_within(child: Child, args: &[&str], timeout: Duration) -> Output {
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(timeout) {
        Ok(output) => output.expect("waiting for the CLI"),
        Err(_) => {
            // Ours, by its id.
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
            panic!("sealsync {} did not finish within {timeout:?}", args.join(" "));
        }
    }
}

/// Asserts a failed run: non-zero exit, nothing on stdout, one sentence on stderr.
pub fn expect_failure(device: &str, args: &[&str], output: &Output) -> String {
    let stderr = text(&output.stderr);
    assert!(
        !output.status.success(),
        "[{device}] sealsync {} succeeded but should have failed; stdout: {}",
        args.join(" "),
        text(&output.stdout)
    );
    assert!(!stderr.is_empty(), "[{device}] sealsync {} failed without saying why", args.join(" "));
    assert_eq!(
        stderr.lines().count(),
        1,
        "[{device}] sealsync {}: the error is not one line:\n{stderr}",
        args.join(" ")
    );
    stderr
}

/// Syncs every device `rounds` times, round-robin; returns the last round's summaries.
pub fn sync_all(devices: &[&Device], rounds: usize) -> Vec<Value> {
    let mut last = Vec::new();
    for _ in 0..rounds {
        last = devices.iter().map(|d| d.sync()).collect();
    }
    last
}

/// Runs `sync now` on every device at the same time; each must succeed.
pub fn sync_concurrently(devices: &[&Device]) -> Vec<Value> {
    let args = ["sync", "now", "--json"];
    let running: Vec<Child> = devices.iter().map(|d| d.spawn(&args)).collect();
    running
        .into_iter()
        .zip(devices)
        .map(|(child, device)| {
            let output = wait_output(child, &args);
            assert!(output.status.success(), "[{}] concurrent sync failed: {}", device.name, text(&output.stderr));
            serde_json::from_slice(&output.stdout).unwrap()
        })
        .collect()
}

/// Asserts every device holds exactly the same records of every kind.
pub fn assert_converged(devices: &[&Device]) -> Vec<Vec<Value>> {
    let first = devices[0].snapshot();
    for device in &devices[1..] {
        let other = device.snapshot();
        for (k, kind) in KINDS.iter().enumerate() {
            assert_eq!(
                first[k], other[k],
                "{kind} lists differ between {} and {}\n{}: {:#?}\n{}: {:#?}",
                devices[0].name, device.name, devices[0].name, first[k], device.name, other[k]
            );
        }
    }
    first
}

/// Runs each scenario against SQLite and, when reachable, Postgres:
/// `on_both_backends!(scenario_a, scenario_b)` with `fn scenario_a(server: Server)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn sqlite() {
                let server = $crate::common::Server::start($crate::common::Backend::Sqlite)
                    .expect("SQLite is always available");
                super::$name(server);
            }

            #[test]
            fn postgres() {
                if let Some(server) = $crate::common::Server::start($crate::common::Backend::Postgres) {
                    super::$name(server);
                }
            }
        }
    )*};
}
