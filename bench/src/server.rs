//! The server under test: this same binary re-run with `--serve`, so it is a
//! separate process (its peak memory is its own) on a loopback port.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sealsync_server::store::Store;
use sealsync_server::store::postgres::PgStore;
use sealsync_server::store::sqlite::SqliteStore;
use sealsync_server::{Settings, router, serve};

use crate::memory::Sampler;

/// Runs the server in this process until stdin closes (the `--serve` mode).
pub fn run(database_url: &str, bind: &str) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a Tokio runtime");
    runtime.block_on(async {
        // Many clients share one loopback address: the per-address account
        // rate limit would throttle the benchmark's own set-up.
        let settings = Settings { auth_per_minute: 60_000, auth_burst: 10_000, ..Settings::default() };
        if database_url.starts_with("postgres") {
            start(PgStore::connect(database_url, 16).await.expect("Postgres"), &settings, bind).await;
        } else {
            start(SqliteStore::connect(database_url, 8).await.expect("SQLite"), &settings, bind).await;
        }
    });
}

async fn start<S: Store>(store: S, settings: &Settings, bind: &str) {
    store.migrate().await.expect("migrations");
    let app = router(store, settings).await.expect("router");
    let listener = tokio::net::TcpListener::bind(bind).await.expect("bind");
    let stdin_closed = async {
        let _ = tokio::task::spawn_blocking(|| std::io::copy(&mut std::io::stdin(), &mut std::io::sink())).await;
    };
    serve(listener, app, stdin_closed).await.expect("serve");
}

/// A server child process.
pub struct Server {
    child: Child,
    pub url: String,
    /// Its memory, sampled from the start.
    pub memory: Sampler,
}

impl Server {
    /// Starts `current_exe --serve DB --bind ADDR` and waits until it listens.
    pub async fn start(database_url: &str) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let bind = format!("127.0.0.1:{port}");
        let child = Command::new(std::env::current_exe().unwrap())
            .args(["--serve", database_url, "--bind", &bind])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the server process");
        let url = format!("http://{bind}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if listening(&bind).await {
                break;
            }
            assert!(Instant::now() < deadline, "the server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let memory = Sampler::start(child.id());
        Server { child, url, memory }
    }

    /// The server process's id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// The server binds only after its migrations, so a connection means ready.
async fn listening(bind: &str) -> bool {
    tokio::net::TcpStream::connect(bind).await.is_ok()
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
