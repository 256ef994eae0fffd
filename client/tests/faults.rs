//! Faults, end to end: the real `sealsync` CLI on several devices against the
//! real `sealsync-server` binary over SQLite and Postgres, with the faults a
//! real deployment sees injected for real: the server restored from an older
//! backup (the SQLite file copied back; a `pg_dump` restored with
//! `pg_restore`), Postgres connections terminated mid-sync, a client killed
//! at every step of a sync, full disks on either side, and device clocks
//! that jump. Each test asserts that no acknowledged write is lost or
//! duplicated and that the devices converge.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use common::{Backend, Device, Server, ServerDb, account_name, assert_converged, find, sync_all};
use serde_json::Value;

on_both_backends!(
    a_server_restored_from_an_older_backup_is_noticed_and_healed,
    a_sync_aborted_at_every_step_resumes_and_loses_nothing,
    a_full_client_disk_fails_clearly_and_loses_nothing,
    clock_jumps_lose_nothing_and_the_user_is_told,
);

// ---------------------------------------------------------------------------
// Backups, taken and restored the way an operator would
// ---------------------------------------------------------------------------

/// A copy of the server's database taken while it runs.
struct Backup {
    _dir: tempfile::TempDir,
    file: PathBuf,
}

/// SQLite: an online, consistent copy (`VACUUM INTO`); Postgres: `pg_dump`
/// in its custom format.
fn back_up(server: &Server) -> Backup {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup");
    match &server.db {
        ServerDb::Sqlite { url, .. } => {
            let (url, target) = (url.clone(), file.display().to_string());
            common::block_on(async move {
                use sqlx::Connection;
                let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
                sqlx::query("VACUUM INTO ?1").bind(target).execute(&mut conn).await.unwrap();
                conn.close().await.unwrap();
            });
        }
        ServerDb::Postgres(db) => {
            let status = Command::new("pg_dump").args(["--format=custom", "--file"]).arg(&file).arg(&db.url).status();
            assert!(status.expect("pg_dump runs").success(), "pg_dump failed");
        }
    }
    Backup { _dir: dir, file }
}

/// Stops the server, puts the backup in place of its database (SQLite: the
/// file copied back, its WAL dropped; Postgres: `pg_restore --clean`), and
/// starts it again on the restored database.
fn restore(server: &mut Server, backup: &Backup) {
    server.kill();
    match &server.db {
        ServerDb::Sqlite { path, .. } => {
            for suffix in ["-wal", "-shm"] {
                let _ = std::fs::remove_file(with_suffix(path, suffix));
            }
            std::fs::copy(&backup.file, path).unwrap();
        }
        ServerDb::Postgres(db) => {
            let output = Command::new("pg_restore")
                .args(["--clean", "--if-exists", "--no-owner", "--single-transaction", "--dbname"])
                .arg(&db.url)
                .arg(&backup.file)
                .output()
                .expect("pg_restore runs");
            assert!(output.status.success(), "pg_restore failed: {}", String::from_utf8_lossy(&output.stderr));
        }
    }
    server.restart();
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn notes(device: &Device) -> Vec<String> {
    let mut notes: Vec<String> =
        device.list("mood").iter().map(|m| m["note"].as_str().unwrap_or_default().to_owned()).collect();
    notes.sort();
    notes
}

// ---------------------------------------------------------------------------
// 1. The server restored from an older backup
// ---------------------------------------------------------------------------

/// Three devices. After the backup, phone and laptop each write and sync
/// (their writes are acknowledged, and each pulls the other's). The server
/// is then restored: both writes are gone from it, and their positions are
/// free. The tablet, which saw neither, writes first and takes those very
/// positions (and more), so no cursor is ahead of the server's head any more:
/// only the device marks show the loss. Every device must notice, say so,
/// send back what the server lost, and all must end with every write. A
/// fourth device (a watch) wrote after the backup and never syncs again:
/// the others hold its change above the server's mark for it forever, which
/// must not make them find the loss again and renew the log in turn.
fn a_server_restored_from_an_older_backup_is_noticed_and_healed(mut server: Server) {
    let account = account_name();
    let (phone, laptop, tablet) = (Device::new("phone"), Device::new("laptop"), Device::new("tablet"));
    let watch = Device::new("watch");
    phone.enable(&server, &account, true);
    laptop.enable(&server, &account, false);
    tablet.enable(&server, &account, false);
    watch.enable(&server, &account, false);
    let before = phone.add_mood(4, "before the backup");
    let edited = phone.add_mood(5, "edited after the backup");
    watch.add_mood(3, "watch, before the backup");
    watch.sync();
    sync_all(&[&phone, &laptop, &tablet], 1);

    let backup = back_up(&server);

    phone.add_mood(6, "phone, after the backup");
    phone.run(&["mood", "edit", &edited, "--note", "the edit after the backup"]);
    phone.sync();
    laptop.add_mood(7, "laptop, after the backup");
    laptop.sync();
    watch.add_mood(8, "watch, after the backup, then never again");
    watch.sync();
    phone.sync();
    laptop.sync();
    assert_eq!(notes(&phone), notes(&laptop));
    let acknowledged = notes(&phone);
    assert_eq!(acknowledged.len(), 6);

    restore(&mut server, &backup);

    // The tablet saw nothing after the backup: for it the log is whole. Its
    // writes take the positions the lost writes had, and beyond.
    for i in 0..4 {
        tablet.add_mood(1, &format!("tablet, after the restore {i}"));
    }
    let first = tablet.sync();
    assert!(first.get("restored").is_none(), "the tablet lost nothing and saw nothing lost: {first}");

    // The laptop holds its own acknowledged write and the phone's, which the
    // server lost: it notices, has the log renewed and sends everything back.
    let healed = laptop.sync();
    let restored = &healed["restored"];
    assert!(restored.is_object(), "the laptop did not notice the restore: {healed}");
    assert!(restored["evidence"].as_str().unwrap().contains("server"), "{restored}");
    assert_eq!(restored["resent"], 6, "every record of the laptop is sent again: {restored}");
    // The phone sees the renewed log identity and heals too; killed right
    // after it queued everything again, it finishes at the next sync.
    sync_aborted_after(&phone, "healing");
    phone.sync();
    // The tablet heals as well, and the person is told, in plain words.
    let tablet_says = tablet.run(&["sync", "now"]);
    assert!(tablet_says.contains("restored from an older backup"), "the tablet printed: {tablet_says}");

    // Everyone converges on every write, the lost ones included, and
    // further rounds find nothing more to heal, though the watch's mark on
    // the server stays below the change the others hold from it.
    let last = sync_all(&[&phone, &laptop, &tablet], 3);
    for summary in &last {
        assert!(summary.get("restored").is_none(), "healing did not settle: {summary}");
    }
    assert_converged(&[&phone, &laptop, &tablet]);
    let all = notes(&phone);
    assert_eq!(all.len(), 10, "every write, nothing duplicated: {all:#?}");
    for note in &acknowledged {
        assert!(all.contains(note), "the acknowledged write {note:?} was lost: {all:#?}");
    }
    let moods = phone.list("mood");
    assert_eq!(find(&moods, &before)["note"], "before the backup");
    assert_eq!(find(&moods, &edited)["note"], "the edit after the backup", "the edit the server lost came back");
    // Nothing merged twice or set aside along the way.
    for device in [&phone, &laptop, &tablet] {
        let status: Value = device.status();
        assert_eq!(status["quarantined"].as_array().map_or(0, Vec::len), 0, "[{}] {status}", device.name);
    }
}

// ---------------------------------------------------------------------------
// 2. The CLI killed at every step of a sync
// ---------------------------------------------------------------------------

/// The steps of a sync the test-only hook can end the CLI after
/// (`SEALSYNC_FAULT=after:STEP`, debug builds; `client/src/sync/fault.rs`).
const STEPS: [&str; 5] = ["pushed", "acknowledged", "pulled", "merged", "finished"];

/// Runs `sync now` with the fault hook armed at `step`, and checks that it
/// was ended there (SIGABRT, the CLI's last words naming the step).
fn sync_aborted_after(device: &Device, step: &str) {
    let output = device
        .command(&["sync", "now", "--json"])
        .env("SEALSYNC_FAULT", format!("after:{step}"))
        .output()
        .expect("the CLI starts");
    assert_eq!(
        output.status.signal(),
        Some(6),
        "[{}] sync was not aborted after {step}: {}\n{}",
        device.name,
        output.status,
        common::text(&output.stderr)
    );
    assert!(common::text(&output.stderr).contains(&format!("aborting after {step}")));
}

/// At each step the phone has a new record and an edit to push and the
/// laptop's new record to pull; the CLI dies right after the step, then
/// syncs normally. Every record arrives once, the edit wins everywhere,
/// nothing is quarantined, and the journal opens every time.
fn a_sync_aborted_at_every_step_resumes_and_loses_nothing(server: Server) {
    let account = account_name();
    let (phone, laptop) = (Device::new("phone"), Device::new("laptop"));
    phone.enable(&server, &account, true);
    laptop.enable(&server, &account, false);
    let edited = phone.add_mood(3, "edited at every step");
    sync_all(&[&phone, &laptop], 1);
    let mut expected = 1;
    for step in STEPS {
        laptop.add_mood(4, &format!("laptop before {step}"));
        laptop.sync();
        phone.add_mood(5, &format!("phone before {step}"));
        phone.run(&["mood", "edit", &edited, "--note", &format!("edit before {step}")]);
        expected += 2;

        sync_aborted_after(&phone, step);
        // The journal opens and holds every local record, and the laptop's
        // once the page holding it was merged.
        let merged = matches!(step, "merged" | "finished") as usize;
        assert_eq!(phone.list("mood").len(), expected - 1 + merged, "[phone] after an abort at {step}");

        sync_all(&[&phone, &laptop, &phone], 1);
        assert_converged(&[&phone, &laptop]);
        let moods = phone.list("mood");
        assert_eq!(moods.len(), expected, "after an abort at {step}: {moods:#?}");
        assert_eq!(find(&moods, &edited)["note"], format!("edit before {step}"), "after an abort at {step}");
        for device in [&phone, &laptop] {
            let status = device.status();
            assert_eq!(status["pending"], 0, "[{}] after an abort at {step}: {status}", device.name);
            assert_eq!(status["quarantined"].as_array().map_or(0, Vec::len), 0, "[{}] {status}", device.name);
        }
    }
    // The server holds each record once per device that wrote it: no
    // duplicate from a re-sent batch.
    assert_eq!(server.db.distinct_records(), expected as i64);
}

// ---------------------------------------------------------------------------
// 3. Postgres connections terminated under pushes and pulls
// ---------------------------------------------------------------------------

/// Terminates every backend of one database, over and over, from its own
/// thread, until dropped (only this test's database: other tests share the
/// cluster). Counts what it terminated.
struct Terminator {
    stop: Arc<AtomicBool>,
    terminated: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Terminator {
    fn start(database_url: &str) -> Terminator {
        let name = database_url.rsplit('/').next().unwrap().split('?').next().unwrap().to_owned();
        let (stop, terminated) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
        let (flag, count) = (stop.clone(), terminated.clone());
        let thread = std::thread::spawn(move || {
            common::block_on(async move {
                use sqlx::Connection;
                let mut admin = sqlx::PgConnection::connect(&sealsync_testkit::admin_url()).await.unwrap();
                while !flag.load(Ordering::Relaxed) {
                    let n: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE datname = $1 AND pid <> pg_backend_pid()) AS t",
                    )
                    .bind(&name)
                    .fetch_one(&mut admin)
                    .await
                    .unwrap();
                    count.fetch_add(n as u64, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(120)).await;
                }
                let _ = admin.close().await;
            })
        });
        Terminator { stop, terminated, thread: Some(thread) }
    }

    fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap();
        self.terminated.load(Ordering::Relaxed)
    }
}

/// `sync now` until it succeeds (a sync may give up while the database is
/// gone: the CLI retries each request a few times, then reports); at most
/// `attempts` runs.
fn sync_until_done(device: &Device, attempts: usize) -> usize {
    for attempt in 1..=attempts {
        let output = device.output(&["sync", "now", "--json"], None);
        if output.status.success() {
            return attempt;
        }
        let said = common::text(&output.stderr);
        assert!(
            said.contains("database") || said.contains("server") || said.contains("network"),
            "[{}] a sync failed for another reason than the database: {said}",
            device.name
        );
    }
    panic!("[{}] no sync succeeded in {attempts} attempts", device.name);
}

/// Three devices write and sync at once, round after round, while every
/// connection of the server's database is terminated every 120
/// milliseconds. Afterwards, with the same server process, every write is
/// there once, the log's positions run 1..=head without a gap (each record
/// was written once, so each took exactly one position), and the devices
/// converge.
#[test]
fn postgres_connections_terminated_mid_sync_lose_skip_and_duplicate_nothing() {
    let Some(server) = Server::start(Backend::Postgres) else { return };
    let account = account_name();
    let devices = [Device::new("phone"), Device::new("laptop"), Device::new("tablet")];
    devices[0].enable(&server, &account, true);
    for device in &devices[1..] {
        device.enable(&server, &account, false);
    }
    let terminator = Terminator::start(server.db.url());
    const ROUNDS: usize = 3;
    const PER_ROUND: usize = 8;
    for round in 0..ROUNDS {
        for device in &devices {
            for i in 0..PER_ROUND {
                device.add_mood(1 + (i % 10) as u8, &format!("{} round {round} #{i}", device.name));
            }
        }
        std::thread::scope(|scope| {
            for device in &devices {
                scope.spawn(move || sync_until_done(device, 20));
            }
        });
    }
    let terminated = terminator.stop();
    assert!(terminated > 0, "no connection was terminated: the test injected nothing");

    // The same server process serves on, no restart: the pool drops each
    // connection Postgres ended as it finds it (a request on one is answered
    // 503 and may be repeated), and /health is soon 200 again.
    let healthy = (0..100).any(|_| {
        let ok = common::http_get(server.bind(), "/health").is_some_and(|(status, _)| status == 200);
        if !ok {
            std::thread::sleep(Duration::from_millis(50));
        }
        ok
    });
    assert!(healthy, "the server did not recover:\n{}", server.log());
    let refs: Vec<&Device> = devices.iter().collect();
    sync_all(&refs, 2);
    assert_converged(&refs);
    let total = devices.len() * ROUNDS * PER_ROUND;
    assert_eq!(devices[0].list("mood").len(), total, "a write was lost or duplicated");
    let account_id = devices[0].status()["account_id"].as_str().unwrap().to_owned();
    let positions: Vec<u64> = server.db.envelopes(&account_id).iter().map(|e| e.server_seq).collect();
    assert_eq!(positions, (1..=total as u64).collect::<Vec<_>>(), "positions skipped or given twice");
    assert_eq!(server.db.account_seq(), total as i64);
    eprintln!("terminated {terminated} backend(s)");
}

// ---------------------------------------------------------------------------
// 4. The server's disk full (SQLite)
// ---------------------------------------------------------------------------

/// A `sealsync-server` on SQLite whose data directory is a 4 MiB tmpfs of its
/// own: `unshare -rm` gives the process a user and mount namespace, where it
/// may mount one. The test reaches the tmpfs through `/proc/PID/root`.
struct ServerOnTmpfs {
    url: String,
    bind: String,
    child: std::process::Child,
    mount: tempfile::TempDir,
    _log: tempfile::NamedTempFile,
}

/// Whether this machine lets an unprivileged process mount a tmpfs in a user
/// and mount namespace of its own (`unshare -rm`). If not, the disk-full
/// tests are skipped with a NOTICE, except under `CI=true`, where that is a
/// failure.
fn can_mount_tmpfs() -> bool {
    let works = Command::new("unshare")
        .args([
            "-rm",
            "sh",
            "-c",
            "d=$(mktemp -d) && mount -t tmpfs -o size=64k tmpfs \"$d\"; r=$?; rmdir \"$d\"; exit $r",
        ])
        .status()
        .is_ok_and(|s| s.success());
    if !works {
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "unshare -rm cannot mount a tmpfs here and CI=true");
        eprintln!("NOTICE: unshare -rm cannot mount a tmpfs here: the disk-full test is skipped");
    }
    works
}

impl ServerOnTmpfs {
    fn start() -> ServerOnTmpfs {
        let mount = tempfile::tempdir().unwrap();
        let log = tempfile::NamedTempFile::new().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let bind = format!("127.0.0.1:{port}");
        let database = format!("sqlite://{}/server.db", mount.path().display());
        let mut command = Command::new("unshare");
        command
            .args(["-rm", "sh", "-c", "mount -t tmpfs -o size=4m tmpfs \"$1\" && shift && exec \"$@\"", "sh"])
            .arg(mount.path())
            .arg(common::server_binary())
            .args(["--bind", &bind, "--database-url", &database])
            .env("SEALSYNC_AUTH_RATE_PER_MINUTE", "600")
            .env("SEALSYNC_AUTH_BURST", "100")
            .stdin(std::process::Stdio::null())
            .stdout(log.reopen().unwrap())
            .stderr(log.reopen().unwrap());
        let mut child = command.spawn().expect("unshare runs");
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while common::http_get(&bind, "/health").map(|(status, _)| status) != Some(200) {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("the server on a tmpfs exited with {status}: {}", std::fs::read_to_string(log.path()).unwrap());
            }
            assert!(std::time::Instant::now() < deadline, "the server on a tmpfs did not start");
            std::thread::sleep(Duration::from_millis(25));
        }
        ServerOnTmpfs { url: format!("http://{bind}"), bind, child, mount, _log: log }
    }

    /// A path inside its tmpfs, as this process sees it.
    fn inside(&self, name: &str) -> PathBuf {
        PathBuf::from(format!("/proc/{}/root{}/{name}", self.child.id(), self.mount.path().display()))
    }

    /// Fills the tmpfs to the last byte with a file; returns its size.
    fn fill(&self) -> u64 {
        use std::io::Write;
        let mut filler = std::fs::File::create(self.inside("filler")).expect("the tmpfs is reachable");
        let chunk = vec![0u8; 4096];
        let mut written = 0;
        loop {
            match filler.write(&chunk) {
                Ok(0) => break,
                Ok(n) => written += n as u64,
                Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
                Err(e) => panic!("filling the tmpfs: {e}"),
            }
        }
        written
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self._log.path()).unwrap_or_default()
    }

    fn free(&self) {
        std::fs::remove_file(self.inside("filler")).unwrap();
    }
}

impl Drop for ServerOnTmpfs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The server's disk fills up: a push is refused (507 `storage_full`, a
/// problem document the CLI reports) and its changes stay queued; another
/// device still pulls everything acknowledged before; once space returns,
/// the queued changes go up and the devices converge with every record.
#[test]
fn a_full_server_disk_refuses_pushes_keeps_serving_pulls_and_loses_nothing() {
    if !can_mount_tmpfs() {
        return;
    }
    let server = ServerOnTmpfs::start();
    let account = account_name();
    let (phone, laptop) = (Device::new("phone"), Device::new("laptop"));
    phone.enable_at(&server.url, &account, true);
    laptop.enable_at(&server.url, &account, false);
    for i in 0..3 {
        phone.add_mood(5, &format!("before the disk filled {i}"));
    }
    sync_all(&[&phone, &laptop], 1);

    assert!(server.fill() > 0);
    for i in 0..40 {
        phone.add_mood(6, &format!("while the disk is full {i}"));
    }
    let refused = phone.run_fail(&["sync", "now"]);
    assert!(refused.contains("storage_full"), "the phone was told: {refused}\n{}", server.log());
    let pending = phone.status()["pending"].as_u64().unwrap();
    assert!(pending > 0, "nothing stayed queued");

    // Pulls are served; everything acknowledged is there.
    laptop.sync();
    assert_eq!(laptop.list("mood").len(), 3 + 40 - pending as usize, "an acknowledged write is missing");
    assert_eq!(common::http_get(&server.bind, "/health").map(|(status, _)| status), Some(200));

    server.free();
    sync_all(&[&phone, &laptop], 2);
    assert_eq!(phone.status()["pending"], 0);
    assert_converged(&[&phone, &laptop]);
    assert_eq!(laptop.list("mood").len(), 43);
}

// ---------------------------------------------------------------------------
// 5. The device's disk full
// ---------------------------------------------------------------------------

/// A 1 MiB tmpfs in a mount namespace of its own, held by a `sleep` process
/// (`unshare -rm`). The CLI runs inside that namespace (`nsenter`), with the
/// tmpfs as its data directory; this process reaches the files through
/// `/proc/PID/root`.
struct Tmpfs {
    holder: std::process::Child,
    mount: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Tmpfs {
        use std::io::BufRead;
        let mount = tempfile::tempdir().unwrap();
        let script = format!("mount -t tmpfs -o size={size},mode=0700 tmpfs \"$1\" && echo ready && exec sleep 600");
        let mut holder = Command::new("unshare")
            .args(["-rm", "sh", "-c", &script, "sh"])
            .arg(mount.path())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("unshare runs");
        let mut line = String::new();
        std::io::BufReader::new(holder.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready", "the tmpfs was not mounted");
        Tmpfs { holder, mount }
    }

    /// The data directory, as the CLI inside the namespace names it.
    fn dir(&self) -> &Path {
        self.mount.path()
    }

    /// A file in it, as this process reaches it.
    fn outside(&self, name: &str) -> PathBuf {
        PathBuf::from(format!("/proc/{}/root{}/{name}", self.holder.id(), self.mount.path().display()))
    }

    /// Fills it with a file but for `left` bytes: room to open the journal
    /// and read it (SQLite's shared-memory file), none for an edit.
    fn fill_but(&self, left: u64) {
        use std::io::Write;
        let mut filler = std::fs::File::create(self.outside("filler")).unwrap();
        let chunk = vec![0u8; 4096];
        loop {
            match filler.write(&chunk) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
                Err(e) => panic!("filling the tmpfs: {e}"),
            }
        }
        let size = filler.metadata().unwrap().len();
        filler.set_len(size.saturating_sub(left)).unwrap();
    }

    fn free(&self) {
        std::fs::remove_file(self.outside("filler")).unwrap();
    }

    /// The `sealsync` CLI inside the namespace, on the tmpfs.
    fn cli(&self, args: &[&str]) -> std::process::Output {
        let mut command = Command::new("nsenter");
        for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("SEALSYNC_")) {
            command.env_remove(key);
        }
        command
            .args(["--target", &self.holder.id().to_string(), "--user", "--mount", "--preserve-credentials"])
            .arg(common::CLI)
            .arg("--data-dir")
            .arg(self.dir())
            .args(args)
            .env("HOME", self.dir())
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = command.spawn().expect("nsenter runs");
        if args.contains(&"--passphrase-stdin") {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(format!("{}\n", common::PASSPHRASE).as_bytes()).unwrap();
        }
        drop(child.stdin.take());
        common::wait_output(child, args)
    }

    fn cli_ok(&self, args: &[&str]) -> String {
        let output = self.cli(args);
        assert!(output.status.success(), "sealsync {} failed: {}", args.join(" "), common::text(&output.stderr));
        common::text(&output.stdout)
    }

    fn moods(&self) -> Vec<Value> {
        let listed: Value =
            serde_json::from_str(&self.cli_ok(&["mood", "list", "--json", "--include-deleted"])).unwrap();
        let mut moods = listed.as_array().unwrap().clone();
        moods.sort_by(|a, b| common::id_of(a).cmp(common::id_of(b)));
        moods
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

/// The phone's data directory is a 1 MiB tmpfs. Once it is full, an edit
/// fails with one clear sentence and saves nothing; the journal still opens
/// with every record it had; a sync either fails as clearly or succeeds;
/// once space returns, sync resumes, both devices converge on every record,
/// and the journal passes SQLite's integrity check.
fn a_full_client_disk_fails_clearly_and_loses_nothing(server: Server) {
    if !can_mount_tmpfs() {
        return;
    }
    let phone = Tmpfs::mount("1m");
    let laptop = Device::new("laptop");
    let account = account_name();
    phone.cli_ok(&["sync", "enable", "--server", &server.url, "--account", &account, "--passphrase-stdin", "--new"]);
    laptop.enable(&server, &account, false);
    for i in 0..5 {
        phone.cli_ok(&["mood", "add", "--score", "5", "--note", &format!("before the disk filled {i}")]);
    }
    phone.cli_ok(&["sync", "now"]);
    let before = phone.moods();

    phone.fill_but(40 << 10);
    let long_note = "a long note ".repeat(300);
    let output = phone.cli(&["mood", "add", "--score", "4", "--note", &long_note]);
    let refused = common::expect_failure("phone", &["mood", "add"], &output);
    assert!(refused.contains("disk holding the journal is full"), "the phone said: {refused}");
    assert_eq!(phone.moods(), before, "the journal lost or half-saved a record");

    // A sync with something to pull while the disk is full: clear failure or success.
    laptop.add_mood(7, "from the laptop while the phone's disk is full");
    laptop.sync();
    let during = phone.cli(&["sync", "now"]);
    if !during.status.success() {
        let said = common::expect_failure("phone", &["sync", "now"], &during);
        assert!(said.contains("full"), "the phone said: {said}");
    }
    assert!(phone.moods().len() >= before.len());

    phone.free();
    phone.cli_ok(&["mood", "add", "--score", "4", "--note", &long_note]);
    phone.cli_ok(&["sync", "now"]);
    laptop.sync();
    phone.cli_ok(&["sync", "now"]);
    let on_phone = phone.moods();
    assert_eq!(on_phone, laptop.list("mood"), "the devices did not converge");
    assert_eq!(on_phone.len(), before.len() + 2, "a record was lost or duplicated");

    let copy = tempfile::tempdir().unwrap();
    std::fs::copy(phone.outside("journal.db"), copy.path().join("journal.db")).unwrap();
    let journal = rusqlite::Connection::open(copy.path().join("journal.db")).unwrap();
    let check: String = journal.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
}

// ---------------------------------------------------------------------------
// 6. A device's clock jumps
// ---------------------------------------------------------------------------

const DAY_MS: i64 = 86_400_000;

/// `sealsync ARGS` on `device` with its clock moved by `skew_ms` (the
/// test-only `SEALSYNC_FAULT_CLOCK_SKEW_MS`, debug builds).
fn at_skew(device: &Device, skew_ms: i64, args: &[&str]) -> std::process::Output {
    let child =
        device.command(args).env("SEALSYNC_FAULT_CLOCK_SKEW_MS", skew_ms.to_string()).spawn().expect("the CLI starts");
    common::wait_output(child, args)
}

fn at_skew_ok(device: &Device, skew_ms: i64, args: &[&str]) -> String {
    let output = at_skew(device, skew_ms, args);
    assert!(
        output.status.success(),
        "[{}] sealsync {} at skew {skew_ms} failed: {}",
        device.name,
        args.join(" "),
        common::text(&output.stderr)
    );
    common::text(&output.stdout)
}

/// The phone's clock jumps three days forward (beyond the 24-hour bound of
/// PROTOCOL.md §5) while it edits, then back. Its changes are deferred on the
/// laptop, not dropped, and the laptop is told; back on the right time the
/// phone refuses new edits (its clock is behind what it already stamped)
/// with a clear sentence, keeps syncing, and loses nothing; once the laptop's
/// clock reaches those stamps, the deferred changes apply, the edit stamped
/// later wins everywhere and the losing edit is in the conflict log.
fn clock_jumps_lose_nothing_and_the_user_is_told(server: Server) {
    let account = account_name();
    let (phone, laptop) = (Device::new("phone"), Device::new("laptop"));
    phone.enable(&server, &account, true);
    laptop.enable(&server, &account, false);
    let shared = phone.add_mood(5, "as it was");
    sync_all(&[&phone, &laptop], 1);

    // Forward by three days: edit one record, make another.
    let ahead = 3 * DAY_MS;
    at_skew_ok(&phone, ahead, &["mood", "edit", &shared, "--note", "from three days ahead"]);
    let future = at_skew_ok(&phone, ahead, &["mood", "add", "--score", "6", "--note", "made three days ahead"]);
    at_skew_ok(&phone, ahead, &["sync", "now"]);

    // The laptop keeps them aside and says so.
    let told = laptop.run(&["sync", "now"]);
    assert!(told.contains("2 change(s) from another device are stamped more than 24 hours ahead"), "{told}");
    let status = laptop.status();
    let deferred: Vec<&Value> =
        status["quarantined"].as_array().unwrap().iter().filter(|q| q["deferred"] == true).collect();
    assert_eq!(deferred.len(), 2, "{status}");
    assert!(laptop.list("mood").iter().all(|m| common::id_of(m) != future));
    laptop.run(&["mood", "edit", &shared, "--note", "the laptop's edit"]);
    laptop.sync();

    // The phone's clock is right again, three days behind its own stamps:
    // an edit is refused (PROTOCOL.md §5 `local_clock_behind`), said plainly.
    let refused = phone.run_fail(&["mood", "add", "--score", "3", "--note", "after the clock came back"]);
    assert!(refused.contains("clock is") && refused.contains("behind"), "the phone said: {refused}");
    // It keeps syncing: the laptop's edit loses to the later stamp, into the log.
    phone.sync();
    assert_eq!(find(&phone.list("mood"), &shared)["note"], "from three days ahead");

    // Backwards by days on the laptop: its edits are refused, nothing changes.
    let back = at_skew(&laptop, -5 * DAY_MS, &["mood", "edit", &shared, "--note", "five days back"]);
    let said = common::expect_failure("laptop", &["mood", "edit"], &back);
    assert!(said.contains("behind"), "the laptop said: {said}");

    // Three days later (the laptop's clock reaches the stamps): everything applies.
    at_skew_ok(&laptop, ahead, &["sync", "now"]);
    at_skew_ok(&phone, ahead, &["sync", "now"]);
    assert_converged(&[&phone, &laptop]);
    let moods = laptop.list("mood");
    assert_eq!(moods.len(), 2, "{moods:#?}");
    assert_eq!(find(&moods, &shared)["note"], "from three days ahead");
    assert_eq!(find(&moods, &future)["note"], "made three days ahead");
    let remaining = laptop.status();
    assert!(
        remaining["quarantined"].as_array().unwrap().is_empty(),
        "the deferred changes were not all applied: {remaining}"
    );
    // The losing edit is kept in the conflict log, not silently dropped.
    let log = laptop.run(&["mood", "conflicts", &shared, "--json"]);
    assert!(log.contains("the laptop's edit"), "the losing edit is missing from the conflict log: {log}");
}
