//! Connections from hostile or careless peers (issue 12, items 8 and 9): a
//! header trickled line by line, connections that send nothing, keep-alive
//! connections left idle, and more idle connections than the server takes at
//! once. Raw TCP on loopback against the real server. The database plays no
//! part in these, so they run on SQLite only.

mod common;

use std::time::{Duration, Instant};

use common::TestServer;
use sealsync_server::Settings;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The header-read (and idle) timeout these servers use.
const TIMEOUT: Duration = Duration::from_secs(2);

fn short_timeouts() -> Settings {
    Settings { header_read_timeout: TIMEOUT, ..Settings::default() }
}

async fn connect(server: &TestServer) -> TcpStream {
    TcpStream::connect(server.base.trim_start_matches("http://")).await.unwrap()
}

/// Waits until the server closes `stream` (end of file or a reset), at most
/// `within`; returns how long that took, or `None` if it stayed open.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buffer = [0u8; 4096];
    loop {
        let left = within.checked_sub(started.elapsed())?;
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {} // A response (e.g. 408); keep reading until the close.
        }
    }
}

/// One `GET /health` on `stream`; the status line of the answer.
async fn health_on(stream: &mut TcpStream) -> String {
    stream.write_all(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n").await.unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buffer).await.unwrap();
        assert!(n > 0, "closed before answering: {}", String::from_utf8_lossy(&answer));
        answer.extend_from_slice(&buffer[..n]);
    }
    String::from_utf8_lossy(&answer).lines().next().unwrap().to_owned()
}

/// Issue 12, item 8: a client that sends one header line every second never
/// finishes its header; it used to be served (held open) indefinitely. Now
/// the header-read timeout closes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_trickled_line_by_line_is_cut_off() {
    let server = TestServer::sqlite(short_timeouts()).await;
    let mut stream = connect(&server).await;
    let started = Instant::now();
    stream.write_all(b"GET /health HTTP/1.1\r\nHost: test\r\n").await.unwrap();
    let mut buffer = [0u8; 1024];
    let closed_after = loop {
        assert!(started.elapsed() < TIMEOUT * 4, "the connection is still open after {:?}", started.elapsed());
        // One more header line a second, as a slowloris client sends them.
        match tokio::time::timeout(Duration::from_secs(1), stream.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => break started.elapsed(),
            Ok(Ok(_)) => {}
            Err(_) => {
                if stream.write_all(b"X-Slow: 1\r\n").await.is_err() {
                    break started.elapsed();
                }
            }
        }
    };
    assert!(closed_after >= TIMEOUT - Duration::from_millis(200), "closed after only {closed_after:?}");
    // The server itself is fine.
    assert_eq!(health_on(&mut connect(&server).await).await, "HTTP/1.1 200 OK");
    server.stop().await;
}

/// A connection that sends nothing, and a keep-alive connection left idle
/// after a request, are closed after the timeout (they held a file
/// descriptor each for as long as the client liked).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed() {
    let server = TestServer::sqlite(short_timeouts()).await;
    let mut silent = connect(&server).await;
    let mut kept_alive = connect(&server).await;
    assert_eq!(health_on(&mut kept_alive).await, "HTTP/1.1 200 OK");
    for (what, stream) in [("silent", &mut silent), ("kept alive", &mut kept_alive)] {
        let closed = closed_within(stream, TIMEOUT * 4).await;
        let closed = closed.unwrap_or_else(|| panic!("the {what} connection is still open"));
        assert!(closed <= TIMEOUT + Duration::from_secs(2), "{what}: {closed:?}");
    }
    server.stop().await;
}

/// Issue 12, item 9: idle connections used to be accepted without limit
/// until the process ran out of file descriptors and stopped answering. Now
/// the server holds at most `max_http_connections`; a connection beyond them
/// waits (in the listen queue, costing the server no descriptor) and is
/// served as soon as an idle one times out, and afterwards the server
/// answers at once again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_wait_and_are_then_served() {
    const CAP: usize = 4;
    let server = TestServer::sqlite(Settings { max_http_connections: CAP, ..short_timeouts() }).await;
    // No idle connection can time out before TIMEOUT after this instant.
    let idle_since = Instant::now();
    let mut idle = Vec::new();
    for _ in 0..CAP {
        idle.push(connect(&server).await);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut waiting = connect(&server).await;
    assert_eq!(health_on(&mut waiting).await, "HTTP/1.1 200 OK");
    let answered = idle_since.elapsed();
    assert!(
        answered >= TIMEOUT - Duration::from_millis(100),
        "answered {answered:?} after the idle connections opened: the server took more than {CAP} at once"
    );
    assert!(answered <= TIMEOUT * 3, "answered only {answered:?} after the idle connections opened");
    for stream in &mut idle {
        assert!(closed_within(stream, Duration::from_secs(1)).await.is_some(), "an idle connection is still open");
    }
    drop(idle);
    // Under the cap again, service is immediate.
    let started = Instant::now();
    assert_eq!(health_on(&mut connect(&server).await).await, "HTTP/1.1 200 OK");
    assert!(started.elapsed() < TIMEOUT, "{:?}", started.elapsed());
    server.stop().await;
}

/// Graceful shutdown still finishes a request in flight and then stops,
/// even with an idle connection open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_idle_connections_and_returns() {
    let server =
        TestServer::sqlite(Settings { header_read_timeout: Duration::from_secs(60), ..Settings::default() }).await;
    let mut idle = connect(&server).await;
    let mut kept_alive = connect(&server).await;
    assert_eq!(health_on(&mut kept_alive).await, "HTTP/1.1 200 OK");
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(10), server.stop()).await.expect("the server stopped");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(closed_within(&mut idle, Duration::from_secs(2)).await.is_some());
    assert!(closed_within(&mut kept_alive, Duration::from_secs(2)).await.is_some());
}
