//! The serve loop: accepts TCP connections, at most `max_http_connections` at
//! once, and serves HTTP/1.1 on each with hyper, until shutdown.
//!
//! - **Header-read timeout.** hyper closes a connection that has not sent a
//!   complete request header within `header_read_timeout` of the server
//!   starting to wait for one: on a new connection, and after every answer on a
//!   kept-alive one. So a header trickled line by line (slowloris), a
//!   connection that sends nothing, and an idle keep-alive connection are all
//!   closed after it. hyper needs a timer for this, which `axum::serve` does
//!   not give it; this loop does. A request's body and handling are bounded
//!   apart, by the request timeout (`app::router`).
//! - **Connection cap.** A connection takes a permit before it is accepted, so
//!   beyond the cap new connections wait in the kernel's listen queue, costing
//!   the process no file descriptor, and are accepted as earlier ones close.
//! - **Accept errors.** When accepting fails for want of a resource (`EMFILE`,
//!   `ENFILE`, `ENOBUFS`, ...), the loop logs it and pauses, 10 ms doubling to
//!   1 s while the failures last, instead of retrying at once in a busy loop;
//!   errors about one aborted connection are skipped.
//! - **Graceful shutdown.** When `shutdown` resolves, the loop stops accepting,
//!   idle connections close, and requests in flight finish before it returns.

use std::future::Future;
use std::io;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use crate::app::Settings;

/// Serves with the default connection settings ([`Settings::default`]) until
/// `shutdown` resolves, then finishes the requests in flight.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve_with(listener, router, &Settings::default(), shutdown).await
}

/// Serves with the header-read timeout and connection cap of `settings` until
/// `shutdown` resolves, then stops accepting, closes idle connections and
/// finishes the requests in flight.
pub async fn serve_with(
    listener: TcpListener,
    router: Router,
    settings: &Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(settings.header_read_timeout);
    let permits = Arc::new(Semaphore::new(settings.max_http_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut shutdown = pin!(shutdown);
    let mut pause = Backoff::default();

    loop {
        let permit = tokio::select! {
            biased;
            () = &mut shutdown => break,
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
        };
        let (stream, peer) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => {
                    pause.reset();
                    accepted
                }
                Err(error) if is_one_connections_error(&error) => continue,
                Err(error) => {
                    let wait = pause.next();
                    tracing::warn!(
                        error = %error,
                        pause_ms = wait.as_millis() as u64,
                        "cannot accept connections; pausing (out of file descriptors? see --max-http-connections and \
                         ulimit -n in README)",
                    );
                    tokio::select! {
                        biased;
                        () = &mut shutdown => break,
                        () = tokio::time::sleep(wait) => continue,
                    }
                }
            },
        };

        // What `into_make_service_with_connect_info` would add: the peer address.
        let service = router.clone().map_request(move |mut request: axum::http::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            request
        });
        let connection = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        metrics::gauge!("sealsync_http_connections_open").increment(1.0);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%peer, error = %error, "connection closed with an error");
            }
            metrics::gauge!("sealsync_http_connections_open").decrement(1.0);
            drop(permit);
        });
    }

    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Errors that concern one connection, which went away before it was
/// accepted; the next accept is unaffected.
fn is_one_connections_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}

/// The pause after a failed accept: 10 ms, doubling to 1 s while failures
/// last, back to 10 ms after a success.
#[derive(Debug)]
struct Backoff(Duration);

impl Backoff {
    const FIRST: Duration = Duration::from_millis(10);
    const MOST: Duration = Duration::from_secs(1);

    fn next(&mut self) -> Duration {
        let wait = self.0;
        self.0 = (self.0 * 2).min(Self::MOST);
        wait
    }

    fn reset(&mut self) {
        self.0 = Self::FIRST;
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self(Self::FIRST)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pause_doubles_to_a_second_and_resets() {
        let mut pause = Backoff::default();
        let waits: Vec<u128> = (0..9).map(|_| pause.next().as_millis()).collect();
        assert_eq!(waits, [10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        pause.reset();
        assert_eq!(pause.next(), Duration::from_millis(10));
    }
}
