//! `sealsync-bench`: how fast sync is for the people who use it — a new
//! device's first sync, one edit showing up, many devices at once — measured
//! beside what the database and the AEAD can do on the same machine.
//!
//! ```sh
//! cargo run --release -p sealsync-bench -- --backend sqlite      # or --backend postgres
//! ```
//!
//! Prints a table and writes the same figures as JSON (`--json FILE`).
//! Upload and bootstrap are medians over `--runs`; latencies are percentiles
//! over every sample.

mod cli;
mod cpu;
mod limits;
mod memory;
mod server;
mod workloads;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
enum Backend {
    Sqlite,
    Postgres,
}

/// Sync benchmarks with real clients and a real server on a loopback port.
#[derive(Debug, Parser)]
#[command(name = "sealsync-bench")]
struct Args {
    /// The server's database.
    #[arg(long, value_enum, default_value = "sqlite")]
    backend: Backend,
    /// Postgres server to create a scratch database on (default: DATABASE_URL, else the local one).
    #[arg(long, env = "DATABASE_URL", default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    postgres: String,
    /// Records in the upload and bootstrap workloads.
    #[arg(long, default_value_t = 100_000)]
    records: usize,
    /// Records stored for the second incremental measurement (0: skip).
    #[arg(long, default_value_t = 1_000_000)]
    large: usize,
    /// Repetitions of upload and bootstrap (the median is reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Edit-then-sync round trips per incremental measurement. A p99 of 200
    /// samples is their second slowest, and on a shared machine it moved
    /// between 0.9x and 1.6x from run to run; 1,000 give it ten samples.
    #[arg(long, default_value_t = 1_000)]
    incremental_runs: usize,
    /// Accounts (of two devices each) in the concurrency workload (0: skip).
    #[arg(long, default_value_t = 200)]
    accounts: usize,
    /// Length of the concurrency workload.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// A `sealsync` binary to time on the same upload and bootstrap (and on
    /// idle syncs), beside the library (default: skip).
    #[arg(long)]
    cli: Option<PathBuf>,
    /// Where to write the figures as JSON.
    #[arg(long, default_value = "bench-results.json")]
    json: PathBuf,
    /// Internal: run as the server process on this database URL.
    #[arg(long, hide = true)]
    serve: Option<String>,
    /// Internal: the server's listen address.
    #[arg(long, hide = true)]
    bind: Option<String>,
}

/// Every figure of a run, as written to JSON.
#[derive(Debug, Default, Serialize)]
struct Results {
    backend: Option<Backend>,
    records: usize,
    runs: usize,
    upload_records_per_s: f64,
    bootstrap_records_per_s: f64,
    unlock_new_account_s: f64,
    unlock_join_s: f64,
    incremental_p50_ms: f64,
    incremental_p99_ms: f64,
    incremental_pair_p50_ms: f64,
    incremental_pair_p99_ms: f64,
    bulk_create_records_per_s: f64,
    large_records: usize,
    large_upload_records_per_s: Option<f64>,
    large_incremental_p50_ms: Option<f64>,
    large_incremental_p99_ms: Option<f64>,
    concurrency_devices: usize,
    concurrency_syncs_per_s: Option<f64>,
    concurrency_p99_ms: Option<f64>,
    concurrency_errors: Option<u64>,
    /// How all cores' time split during it, in percent: the clients (this
    /// process), the server, everything else busy (the database), idle.
    concurrency_cpu_clients_pct: Option<f64>,
    concurrency_cpu_server_pct: Option<f64>,
    concurrency_cpu_other_pct: Option<f64>,
    concurrency_cpu_idle_pct: Option<f64>,
    /// The server's peak resident memory during the concurrency workload
    /// (MiB), and its anonymous and file-backed (SQLite's mmap window) parts.
    server_peak_rss_mib: Option<f64>,
    server_peak_anon_mib: Option<f64>,
    server_peak_file_mib: Option<f64>,
    raw_aead_records_per_s: f64,
    raw_insert_records_per_s: f64,
    cli_upload_records_per_s: Option<f64>,
    cli_bootstrap_records_per_s: Option<f64>,
    cli_idle_sync_p50_ms: Option<f64>,
    library_idle_sync_p50_ms: Option<f64>,
    /// A new device's first `sync now` through the CLI with `large_records`
    /// stored: records/s and the CLI's peak memory (MiB).
    large_cli_bootstrap_records_per_s: Option<f64>,
    large_cli_bootstrap_peak_rss_mib: Option<f64>,
    large_cli_bootstrap_peak_anon_mib: Option<f64>,
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn percentile(latencies: &[Duration], p: f64) -> f64 {
    let mut ms: Vec<f64> = latencies.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    let rank = ((p * ms.len() as f64).ceil() as usize).clamp(1, ms.len());
    ms[rank - 1]
}

fn rate(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}

/// The server's database: a SQLite file in a scratch directory, or a scratch
/// Postgres database (dropped afterwards).
struct Database {
    url: String,
    _postgres: Option<sealsync_testkit::ScratchPostgres>,
    _dir: tempfile::TempDir,
}

impl Database {
    async fn create(backend: Backend, postgres: &str) -> Database {
        let dir = tempfile::tempdir().unwrap();
        match backend {
            Backend::Sqlite => Database {
                url: format!("sqlite://{}", dir.path().join("server.db").display()),
                _postgres: None,
                _dir: dir,
            },
            Backend::Postgres => {
                let scratch = sealsync_testkit::ScratchPostgres::create_on(postgres, "sealsync_bench")
                    .await
                    .unwrap_or_else(|e| panic!("Postgres is unreachable: {e}"));
                Database { url: scratch.url.clone(), _postgres: Some(scratch), _dir: dir }
            }
        }
    }
}

fn main() {
    let args = Args::parse();
    if let Some(database_url) = &args.serve {
        server::run(database_url, args.bind.as_deref().unwrap_or("127.0.0.1:0"));
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a Tokio runtime");
    let results = runtime.block_on(run(&args));
    print(&args, &results);
    std::fs::write(&args.json, serde_json::to_string_pretty(&results).unwrap() + "\n").expect("write the JSON");
    println!("\nfigures written to {}", args.json.display());
}

async fn run(args: &Args) -> Results {
    let database = Database::create(args.backend, &args.postgres).await;
    let server = server::Server::start(&database.url).await;
    let scratch = tempfile::tempdir().unwrap();
    let mut results =
        Results { backend: Some(args.backend), records: args.records, runs: args.runs, ..Results::default() };

    let (mut uploads, mut bootstraps, mut unlock_new, mut unlock_join) = (vec![], vec![], vec![], vec![]);
    let mut kept = None;
    for run in 0..args.runs.max(1) {
        let account = format!("bench-{run}-{}@bench.example", uuid::Uuid::new_v4().simple());
        eprintln!("run {}: filling a device with {} records", run + 1, args.records);
        let (mut first, moods, unlock) =
            workloads::filled_device(&scratch.path().join(format!("up{run}")), &server.url, &account, args.records)
                .await;
        unlock_new.push(unlock.as_secs_f64());
        eprintln!("run {}: uploading", run + 1);
        let upload = workloads::sync(&mut first).await;
        uploads.push(rate(args.records, upload));
        let (mut second, unlock) =
            workloads::device(&scratch.path().join(format!("boot{run}")), &server.url, &account, false).await;
        unlock_join.push(unlock.as_secs_f64());
        eprintln!("run {}: bootstrapping a new device", run + 1);
        let bootstrap = workloads::sync(&mut second).await;
        bootstraps.push(rate(args.records, bootstrap));
        let received = second.list::<sealsync_client::Mood>(false).unwrap().len()
            + second.list::<sealsync_client::Assessment>(false).unwrap().len()
            + second.list::<sealsync_client::Activity>(false).unwrap().len()
            + second.list::<sealsync_client::Schedule>(false).unwrap().len();
        assert_eq!(received, args.records, "the new device has every record");
        eprintln!("run {}: upload {:.0} rec/s, bootstrap {:.0} rec/s", run + 1, uploads[run], bootstraps[run]);
        kept = Some((first, second, moods, account));
    }
    results.upload_records_per_s = median(uploads);
    results.bootstrap_records_per_s = median(bootstraps);
    results.unlock_new_account_s = median(unlock_new);
    results.unlock_join_s = median(unlock_join);

    let (mut device, mut other, mut moods, account) = kept.expect("at least one run");
    eprintln!("incremental at {} records", args.records);
    let latencies = workloads::incremental(&mut device, &moods, args.incremental_runs).await;
    results.incremental_p50_ms = percentile(&latencies, 0.50);
    results.incremental_p99_ms = percentile(&latencies, 0.99);
    eprintln!("incremental, two devices taking turns");
    let latencies = workloads::incremental_pair(&mut device, &mut other, &moods, args.incremental_runs).await;
    results.incremental_pair_p50_ms = percentile(&latencies, 0.50);
    results.incremental_pair_p99_ms = percentile(&latencies, 0.99);
    drop(other);

    eprintln!("bulk local writes: {} moods through Journal::create_many", args.records);
    let bulk = workloads::bulk_create(&scratch.path().join("bulk"), args.records, 10_000);
    results.bulk_create_records_per_s = rate(args.records, bulk);

    if let Some(cli) = &args.cli {
        eprintln!("the CLI: upload and bootstrap of {} records, then idle syncs", args.records);
        let figures = cli::measure(cli, scratch.path(), &server.url, args.records, 20).await;
        results.cli_upload_records_per_s = Some(rate(args.records, figures.upload));
        results.cli_bootstrap_records_per_s = Some(rate(args.records, figures.bootstrap));
        results.cli_idle_sync_p50_ms = Some(percentile(&figures.idle, 0.50));
        let mut idle = vec![];
        for _ in 0..20 {
            idle.push(workloads::sync(&mut device).await);
        }
        results.library_idle_sync_p50_ms = Some(percentile(&idle, 0.50));
    }

    if args.large > args.records {
        let more = args.large - args.records;
        eprintln!("growing to {} records", args.large);
        moods.extend(workloads::fill(&mut device, more, args.records));
        let upload = workloads::sync(&mut device).await;
        results.large_records = args.large;
        results.large_upload_records_per_s = Some(rate(more, upload));
        eprintln!("incremental at {} records", args.large);
        let latencies = workloads::incremental(&mut device, &moods, args.incremental_runs).await;
        results.large_incremental_p50_ms = Some(percentile(&latencies, 0.50));
        results.large_incremental_p99_ms = Some(percentile(&latencies, 0.99));
        if let Some(cli) = &args.cli {
            eprintln!("the CLI: a new device's first sync of {} records", args.large);
            let (took, memory) = cli::bootstrap(cli, &scratch.path().join("cli-large"), &server.url, &account).await;
            results.large_cli_bootstrap_records_per_s = Some(rate(args.large, took));
            results.large_cli_bootstrap_peak_rss_mib = memory.map(|m| m.rss_mib);
            results.large_cli_bootstrap_peak_anon_mib = memory.map(|m| m.anon_mib);
        }
    }

    if args.accounts > 0 {
        server.memory.reset();
        eprintln!("concurrency: {} accounts x 2 devices for {} s", args.accounts, args.seconds);
        let load =
            workloads::concurrency(&scratch.path().join("load"), &server.url, args.accounts, args.seconds, || {
                cpu::read(server.pid())
            })
            .await;
        if let Some(split) = load.cpu {
            results.concurrency_cpu_clients_pct = Some(split.clients);
            results.concurrency_cpu_server_pct = Some(split.server);
            results.concurrency_cpu_other_pct = Some(split.other);
            results.concurrency_cpu_idle_pct = Some(split.idle);
        }
        results.concurrency_devices = args.accounts * 2;
        results.concurrency_syncs_per_s = Some(load.syncs as f64 / load.elapsed.as_secs_f64());
        results.concurrency_p99_ms = (!load.latencies.is_empty()).then(|| percentile(&load.latencies, 0.99));
        results.concurrency_errors = Some(load.errors);
        let memory = server.memory.peak();
        results.server_peak_rss_mib = memory.map(|m| m.rss_mib);
        results.server_peak_anon_mib = memory.map(|m| m.anon_mib);
        results.server_peak_file_mib = memory.map(|m| m.file_mib);
    }

    eprintln!("limits: raw AEAD and raw insert");
    results.raw_aead_records_per_s = rate(args.records, limits::aead(args.records, 512));
    results.raw_insert_records_per_s =
        rate(args.records, sealsync_testkit::raw_insert(&database.url, args.records, 620).await);

    drop(server);
    drop(database);
    results
}

fn print(args: &Args, r: &Results) {
    let ratio = |v: f64| format!("{:.0}% of raw insert", 100.0 * v / r.raw_insert_records_per_s);
    let row = |name: &str, value: String, target: &str, note: String| {
        println!("{name:<34} {value:>24}  {target:<22} {note}");
    };
    println!("\nsealsync-bench: backend {:?}, {} records, median of {} runs\n", args.backend, r.records, r.runs);
    row("workload", "figure".into(), "target", String::new());
    row("upload", format!("{:.0} rec/s", r.upload_records_per_s), ">= 0.7x raw insert", ratio(r.upload_records_per_s));
    row(
        "bootstrap (new device)",
        format!("{:.0} rec/s", r.bootstrap_records_per_s),
        ">= 0.8x raw insert",
        ratio(r.bootstrap_records_per_s),
    );
    row(
        "unlock: new account / join",
        format!("{:.2} s / {:.2} s", r.unlock_new_account_s, r.unlock_join_s),
        "",
        "Argon2id m=64MiB t=3 + one request".into(),
    );
    row(
        &format!("incremental p50 / p99 @{}", r.records),
        format!("{:.1} / {:.1} ms", r.incremental_p50_ms, r.incremental_p99_ms),
        "p99 < 25 ms",
        String::new(),
    );
    row(
        "incremental, two devices p50 / p99",
        format!("{:.1} / {:.1} ms", r.incremental_pair_p50_ms, r.incremental_pair_p99_ms),
        "",
        "each sync also receives the other device's edit".into(),
    );
    row(
        "bulk local writes (create_many)",
        format!("{:.0} rec/s", r.bulk_create_records_per_s),
        ">= 100,000 rec/s",
        "moods, 10,000 per call, sync off".into(),
    );
    if let (Some(p50), Some(p99)) = (r.large_incremental_p50_ms, r.large_incremental_p99_ms) {
        row(
            &format!("incremental p50 / p99 @{}", r.large_records),
            format!("{p50:.1} / {p99:.1} ms"),
            "p99 <= 1.2x the above",
            format!("{:.2}x", p99 / r.incremental_p99_ms),
        );
    }
    if let Some(rate) = r.large_upload_records_per_s {
        row("upload while growing", format!("{rate:.0} rec/s"), "", String::new());
    }
    if let Some(syncs) = r.concurrency_syncs_per_s {
        row(
            &format!("concurrency ({} devices)", r.concurrency_devices),
            format!("{syncs:.0} syncs/s"),
            ">= 2,500 syncs/s",
            format!(
                "p99 {:.1} ms, {} errors",
                r.concurrency_p99_ms.unwrap_or(f64::NAN),
                r.concurrency_errors.unwrap_or(0)
            ),
        );
        row(
            "server peak memory under that load",
            format!(
                "{:.0} MiB anon / {:.0} MiB rss",
                r.server_peak_anon_mib.unwrap_or(f64::NAN),
                r.server_peak_rss_mib.unwrap_or(f64::NAN)
            ),
            "anon <= 64 MiB",
            format!(
                "{:.0} MiB file-backed (mapped files: SQLite's mmap window)",
                r.server_peak_file_mib.unwrap_or(f64::NAN)
            ),
        );
        if let (Some(clients), Some(server), Some(other), Some(idle)) = (
            r.concurrency_cpu_clients_pct,
            r.concurrency_cpu_server_pct,
            r.concurrency_cpu_other_pct,
            r.concurrency_cpu_idle_pct,
        ) {
            row(
                "CPU during that load",
                format!("{clients:.0}% / {server:.0}% / {other:.0}%"),
                "clients / server / db",
                format!("{idle:.0}% idle; shares of all cores' time"),
            );
        }
    }
    if let (Some(up), Some(boot), Some(idle), Some(lib)) =
        (r.cli_upload_records_per_s, r.cli_bootstrap_records_per_s, r.cli_idle_sync_p50_ms, r.library_idle_sync_p50_ms)
    {
        row("CLI upload / bootstrap", format!("{up:.0} / {boot:.0} rec/s"), "within 10% of the above", String::new());
        row("idle sync now: CLI / library p50", format!("{idle:.1} / {lib:.1} ms"), "", "per-invocation cost".into());
    }
    if let (Some(rate), Some(rss), Some(anon)) =
        (r.large_cli_bootstrap_records_per_s, r.large_cli_bootstrap_peak_rss_mib, r.large_cli_bootstrap_peak_anon_mib)
    {
        row(
            &format!("CLI bootstrap @{}", r.large_records),
            format!("{rate:.0} rec/s"),
            "rss <= 200 MiB",
            format!("peak {rss:.0} MiB rss, {anon:.0} MiB anon"),
        );
    }
    row("raw XChaCha20-Poly1305 (512 B)", format!("{:.0} rec/s", r.raw_aead_records_per_s), "limit", String::new());
    row("raw sqlx insert (620 B rows)", format!("{:.0} rec/s", r.raw_insert_records_per_s), "limit", String::new());
}
