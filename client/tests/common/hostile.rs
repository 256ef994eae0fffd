//! A hostile proxy: an HTTP server on a loopback port that forwards every
//! request to the real server and hands the answer back, except where a test
//! has installed a [`Hook`], which may replace an answer with one of its own
//! (a rewritten session, a pull page whose cursor never advances, ...). The
//! device under test only ever talks to the proxy, exactly as it would talk
//! to a malicious server or a machine in the middle.

use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::oneshot;

use super::Server;

/// One request and the real server's answer to it, as a hook sees them.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Path and query, e.g. `/v1/sync/pull?after=0&limit=1000`.
    pub path: String,
    /// The request body.
    pub request: Vec<u8>,
    /// The server's status.
    pub status: u16,
    /// The server's `Content-Type`.
    pub content_type: String,
    /// The server's body.
    pub body: Vec<u8>,
}

impl Exchange {
    /// The path without its query.
    pub fn route(&self) -> &str {
        self.path.split('?').next().unwrap_or_default()
    }

    /// A decimal query parameter, e.g. `after` of a pull.
    pub fn query_u64(&self, name: &str) -> Option<u64> {
        let query = self.path.split_once('?')?.1;
        query.split('&').find_map(|pair| pair.strip_prefix(name)?.strip_prefix('=')?.parse().ok())
    }
}

/// What the proxy answers instead of the server's answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// Sees every exchange; `Some` replaces the server's answer.
pub type Hook = Arc<dyn Fn(&Exchange) -> Option<Answer> + Send + Sync>;

struct Shared {
    upstream: String,
    http: reqwest::Client,
    hook: Mutex<Option<Hook>>,
    /// Every exchange so far (method and path), for assertions.
    seen: Mutex<Vec<String>>,
}

/// The proxy; stops when dropped.
pub struct HostileProxy {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HostileProxy {
    /// A proxy in front of `server`, passing everything through until a hook is set.
    pub fn new(server: &Server) -> HostileProxy {
        let shared = Arc::new(Shared {
            upstream: format!("http://{}", server.bind()),
            http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
            hook: Mutex::new(None),
            seen: Mutex::new(Vec::new()),
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let state = shared.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let app = axum::Router::new().fallback(forward).with_state(state);
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        HostileProxy { url, shared, stop: Some(stop), thread: Some(thread) }
    }

    /// Installs `hook` (replacing any other).
    pub fn set(&self, hook: impl Fn(&Exchange) -> Option<Answer> + Send + Sync + 'static) {
        *self.shared.hook.lock().unwrap() = Some(Arc::new(hook));
    }

    /// Passes everything through again.
    pub fn honest(&self) {
        *self.shared.hook.lock().unwrap() = None;
    }

    /// `METHOD PATH` of every request so far.
    pub fn seen(&self) -> Vec<String> {
        self.shared.seen.lock().unwrap().clone()
    }
}

impl Drop for HostileProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn forward(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let request_body = axum::body::to_bytes(body, 64 << 20).await.unwrap_or_default();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    shared.seen.lock().unwrap().push(format!("{} {path}", parts.method));
    let mut upstream = shared.http.request(parts.method.clone(), format!("{}{path}", shared.upstream));
    for (name, value) in &parts.headers {
        if name != header::HOST && name != header::CONTENT_LENGTH {
            upstream = upstream.header(name, value);
        }
    }
    let answer = match upstream.body(request_body.clone()).send().await {
        Ok(answer) => answer,
        Err(_) => return StatusCode::BAD_GATEWAY.into_response(),
    };
    let status = answer.status().as_u16();
    let headers = answer.headers().clone();
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let body = answer.bytes().await.unwrap_or_default().to_vec();
    let exchange =
        Exchange { method: parts.method.to_string(), path, request: request_body.to_vec(), status, content_type, body };
    let hook = shared.hook.lock().unwrap().clone();
    if let Some(answer) = hook.and_then(|hook| hook(&exchange)) {
        return respond(answer.status, &answer.content_type, answer.body, None);
    }
    respond(exchange.status, &exchange.content_type, exchange.body, headers.get(header::RETRY_AFTER).cloned())
}

fn respond(status: u16, content_type: &str, body: Vec<u8>, retry_after: Option<HeaderValue>) -> Response {
    let mut response = Response::new(Body::from(Bytes::from(body)));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    if let Ok(value) = HeaderValue::from_str(content_type)
        && !content_type.is_empty()
    {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    if let Some(value) = retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}
