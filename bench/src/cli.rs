//! The `sealsync` CLI timed on the same work as the harness (`--cli PATH`):
//! a new account's first `sync now` (upload), a new device's first `sync now`
//! (bootstrap), and a `sync now` with nothing to do, which is the CLI's
//! per-invocation cost (process start, key file, database open, HTTP client)
//! plus one request. The journals are made through the library, so only the
//! syncs run through the binary.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::memory::{Memory, Sampler};
use crate::workloads;

/// What the CLI measured.
pub struct CliFigures {
    pub upload: Duration,
    pub bootstrap: Duration,
    /// `sync now` with nothing to push or pull, every run.
    pub idle: Vec<Duration>,
}

/// Runs `sealsync --data-dir DIR sync now --json` and times it.
fn sync_now(cli: &Path, dir: &Path) -> Duration {
    sync_now_sampled(cli, dir).0
}

/// Runs `sealsync --data-dir DIR sync now --json`; its time and peak memory.
fn sync_now_sampled(cli: &Path, dir: &Path) -> (Duration, Option<Memory>) {
    let started = Instant::now();
    let child = Command::new(cli)
        .args(["--data-dir", &dir.display().to_string(), "sync", "now", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the sealsync binary runs");
    let memory = Sampler::start(child.id());
    let output = child.wait_with_output().expect("the sealsync binary runs");
    let elapsed = started.elapsed();
    assert!(output.status.success(), "sealsync sync now failed: {}", String::from_utf8_lossy(&output.stderr));
    (elapsed, memory.peak())
}

/// A new device's first `sync now` through the CLI on an account that
/// already holds many records: its time and the CLI's peak memory.
pub async fn bootstrap(cli: &Path, dir: &Path, server: &str, account: &str) -> (Duration, Option<Memory>) {
    let (device, _) = workloads::device(dir, server, account, false).await;
    drop(device);
    sync_now_sampled(cli, dir)
}

/// One upload and one bootstrap of `records` through the CLI, then `idle_runs`
/// idle syncs.
pub async fn measure(cli: &Path, root: &Path, server: &str, records: usize, idle_runs: usize) -> CliFigures {
    let account = format!("bench-cli-{}@bench.example", uuid::Uuid::new_v4().simple());
    let (up_dir, boot_dir) = (root.join("cli-up"), root.join("cli-boot"));
    let (first, _, _) = workloads::filled_device(&up_dir, server, &account, records).await;
    drop(first);
    let upload = sync_now(cli, &up_dir);
    let (second, _) = workloads::device(&boot_dir, server, &account, false).await;
    drop(second);
    let bootstrap = sync_now(cli, &boot_dir);
    let idle = (0..idle_runs).map(|_| sync_now(cli, &boot_dir)).collect();
    CliFigures { upload, bootstrap, idle }
}
