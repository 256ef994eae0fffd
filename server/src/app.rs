//! The application: shared state, the router with its middleware, and the
//! serve loop with graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use sealsync_envelope::dto::ServerLimits;
use tower_governor::GovernorLayer;
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::key_extractor::{KeyExtractor, PeerIpKeyExtractor, SmartIpKeyExtractor};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use crate::error::ApiError;
use crate::routes;
use crate::store::{Store, StoreError};

/// Whether anyone may create an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Registration {
    /// `POST /v1/accounts` is open.
    Open,
    /// Only existing accounts can sign in (new devices still can).
    Closed,
}

/// Settings that shape the router, from the command line or a test.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Whether registration is open.
    pub registration: Registration,
    /// Limits enforced and advertised.
    pub limits: ServerLimits,
    /// Longest a request may take.
    pub request_timeout: Duration,
    /// Register and login attempts per client address per minute (sustained).
    pub auth_per_minute: u32,
    /// Attempts a client address may burst before the rate applies.
    pub auth_burst: u32,
    /// Take the client address from `X-Forwarded-For`/`Forwarded` (only behind
    /// a proxy that sets them; otherwise clients could pick their own).
    pub trust_forwarded_for: bool,
    /// How long a device-linking pairing lives after it is opened.
    pub pairing_ttl: Duration,
    /// Requests to the pairing endpoints per client address per minute
    /// (sustained; both devices of a linking poll them).
    pub pairing_per_minute: u32,
    /// Pairing requests a client address may burst before the rate applies.
    pub pairing_burst: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            registration: Registration::Open,
            limits: ServerLimits::default(),
            request_timeout: Duration::from_secs(30),
            auth_per_minute: 30,
            auth_burst: 10,
            trust_forwarded_for: false,
            pairing_ttl: Duration::from_secs(600),
            pairing_per_minute: 120,
            pairing_burst: 20,
        }
    }
}

/// State every handler sees.
#[derive(Debug, Clone)]
pub struct App<S> {
    /// The database.
    pub store: S,
    /// Limits enforced and advertised.
    pub limits: ServerLimits,
    /// Whether registration is open.
    pub registration: Registration,
    /// Key of the deterministic fake salt seeds for unknown account names.
    pub fake_seed_key: Arc<[u8; 32]>,
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    i64::try_from(sealsync_envelope::UnixMillis::now().0).unwrap_or(i64::MAX)
}

/// The process-wide Prometheus recorder (the `metrics` facade has one global
/// recorder, so every server in a process, tests included, shares it).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new().install_recorder().expect("no other metrics recorder is installed in this process")
        })
        .clone()
}

/// Builds the application over a migrated store.
pub async fn router<S: Store>(store: S, settings: &Settings) -> Result<Router, StoreError> {
    let fake_seed_key = Arc::new(store.server_secret("fake-salt-seed").await?);
    let app = App { store, limits: settings.limits, registration: settings.registration, fake_seed_key };
    metrics_handle();

    let open = Router::new()
        .route("/health", get(routes::meta::health::<S>))
        .route("/metrics", get(routes::meta::metrics))
        .route("/v1/meta", get(routes::meta::meta::<S>))
        .route("/v1/devices", get(routes::devices::list::<S>))
        .route("/v1/devices/{id}", delete(routes::devices::revoke::<S>))
        .route("/v1/devices/{id}/name", put(routes::devices::rename::<S>))
        .route("/v1/sync/push", post(routes::sync::push::<S>))
        .route("/v1/sync/pull", get(routes::sync::pull::<S>))
        .route("/v1/account", delete(routes::accounts::delete::<S>));
    let auth = Router::new()
        .route("/v1/accounts", post(routes::accounts::register::<S>))
        .route("/v1/login/params", post(routes::accounts::login_params::<S>))
        .route("/v1/login", post(routes::accounts::login::<S>));
    let (auth_rate, pairing_rate) =
        ((settings.auth_per_minute, settings.auth_burst), (settings.pairing_per_minute, settings.pairing_burst));
    let pairings = routes::pairings::routes::<S>(settings.pairing_ttl);
    let (auth, pairings) = if settings.trust_forwarded_for {
        (rate_limited(auth, SmartIpKeyExtractor, auth_rate), rate_limited(pairings, SmartIpKeyExtractor, pairing_rate))
    } else {
        (rate_limited(auth, PeerIpKeyExtractor, auth_rate), rate_limited(pairings, PeerIpKeyExtractor, pairing_rate))
    };

    Ok(open
        .merge(auth)
        .merge(pairings)
        .fallback(|| async { ApiError::not_found() })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this endpoint does not take that method",
            )
        })
        .with_state(app)
        .layer(axum::middleware::from_fn(record_metrics))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, settings.request_timeout))
        .layer(TraceLayer::new_for_http().on_response(DefaultOnResponse::new().level(tracing::Level::INFO))))
}

/// Per-client-address rate limit of `(per_minute, burst)` on a group of
/// endpoints (the account endpoints; the pairing endpoints, in a bucket of
/// their own), answering 429 with `Retry-After` as a problem document.
fn rate_limited<S: Store, K>(routes: Router<App<S>>, key: K, (per_minute, burst): (u32, u32)) -> Router<App<S>>
where
    K: KeyExtractor + Send + Sync + 'static,
    K::Key: Send + Sync,
{
    let period = Duration::from_millis(60_000 / u64::from(per_minute.max(1)));
    let config = GovernorConfigBuilder::default()
        .key_extractor(key)
        .period(period)
        .burst_size(burst.max(1))
        .finish()
        .expect("period and burst are non-zero");
    routes.layer(GovernorLayer::new(config).error_handler(|error| {
        match error {
            tower_governor::GovernorError::TooManyRequests { wait_time, .. } => {
                ApiError::rate_limited(wait_time).into_response()
            }
            _ => ApiError::bad_request("unknown_client_address", "the client address could not be determined")
                .into_response(),
        }
    }))
}

/// Counts requests and their latency by route and status for `/metrics`.
async fn record_metrics(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_owned();
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("sealsync_http_requests_total", "method" => method, "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("sealsync_http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// Serves until `shutdown` resolves, then finishes the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}
