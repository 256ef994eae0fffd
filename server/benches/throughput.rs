//! Server throughput, alone: push and pull of ~1 KiB envelopes in batches of
//! 500 through real HTTP on loopback, on SQLite and on Postgres, beside a raw
//! sqlx bulk insert of rows of the same shape and size into the same Postgres
//! (`sealsync_testkit::raw_insert`), in one run.
//!
//! `cargo bench -p sealsync-server --bench throughput` (Postgres from
//! `DATABASE_URL`, default the local server; skipped if unreachable).
//! `SEALSYNC_BENCH_ENVELOPES` sets the count (default 20 000), `SEALSYNC_BENCH_RUNS`
//! the repetitions (default 3; the median is reported).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{Account, Device, TestServer};
use sealsync_envelope::RecordId;

const BATCH: usize = 500;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// ~1 KiB sealed envelopes of one device, each a distinct record.
fn envelopes(account: &Account, device: &Device, count: usize) -> Vec<Vec<u8>> {
    let note = "x".repeat(850);
    (0..count).map(|i| account.envelope(device, RecordId::random(), i as u64 + 1, &note)).collect()
}

struct Timing {
    push: Duration,
    pull: Duration,
}

async fn run_server(server: &TestServer, count: usize) -> Timing {
    let (account, device) = server.register().await;
    let all = envelopes(&account, &device, count);
    let started = Instant::now();
    for batch in all.chunks(BATCH) {
        let response = server.push(&device, batch.to_vec()).await;
        assert_eq!(response.results.len(), batch.len());
    }
    let push = started.elapsed();
    let started = Instant::now();
    let (mut cursor, mut pulled) = (0, 0);
    loop {
        let page = server.pull(&device, cursor, 1000).await;
        pulled += page.envelopes.len();
        cursor = page.next_cursor.0;
        if !page.more {
            break;
        }
    }
    assert_eq!(pulled, count);
    Timing { push, pull: started.elapsed() }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn rate(count: usize, d: Duration) -> f64 {
    count as f64 / d.as_secs_f64()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` lists; nothing to list here.
    }
    let count = env_or("SEALSYNC_BENCH_ENVELOPES", 20_000);
    let runs = env_or("SEALSYNC_BENCH_RUNS", 3).max(1);
    let sample = {
        let account = Account::new();
        let device = Device { id: sealsync_envelope::DeviceId::random(), token: String::new() };
        envelopes(&account, &device, 1).remove(0).len()
    };
    println!("server throughput: {count} envelopes of {sample} bytes, batches of {BATCH}, median of {runs} runs");
    println!("{:<28} {:>14} {:>14}", "", "push env/s", "pull env/s");

    let mut sqlite = (vec![], vec![]);
    for _ in 0..runs {
        let server = TestServer::sqlite(Default::default()).await;
        let t = run_server(&server, count).await;
        sqlite.0.push(rate(count, t.push));
        sqlite.1.push(rate(count, t.pull));
        server.stop().await;
    }
    println!("{:<28} {:>14.0} {:>14.0}", "server, SQLite", median(sqlite.0), median(sqlite.1));

    let mut postgres = (vec![], vec![]);
    let mut raw = vec![];
    for _ in 0..runs {
        let Some(server) = TestServer::postgres(Default::default()).await else {
            println!("Postgres unreachable: Postgres rows skipped");
            return;
        };
        let t = run_server(&server, count).await;
        postgres.0.push(rate(count, t.push));
        postgres.1.push(rate(count, t.pull));
        raw.push(rate(count, sealsync_testkit::raw_insert(server.db.url(), count, sample).await));
        server.stop().await;
    }
    let (push, pull, raw) = (median(postgres.0), median(postgres.1), median(raw));
    println!("{:<28} {:>14.0} {:>14.0}", "server, Postgres", push, pull);
    println!("{:<28} {:>14.0} {:>14}", "raw sqlx insert, Postgres", raw, "-");
    println!("server push / raw insert on Postgres: {:.0}%", 100.0 * push / raw);
}
