//! The application: shared state, and the router with its middleware (the
//! serve loop is in `serve.rs`).

use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Extension, Router};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use sealsync_envelope::dto::ServerLimits;
use tower_governor::GovernorLayer;
use tower_governor::governor::GovernorConfigBuilder;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use crate::error::ApiError;
use crate::guard::{ClientAddr, ClientKey, SecretGuard, resolve_client_addr};
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

/// The `server_settings` row of `sealsync-server registration`.
pub const REGISTRATION_SETTING: &str = "registration";

/// Settings that shape the router, from the command line or a test.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Whether registration is open.
    pub registration: Registration,
    /// Limits enforced and advertised.
    pub limits: ServerLimits,
    /// Longest a request may take.
    pub request_timeout: Duration,
    /// Requests to the account endpoints (register, login parameters, login)
    /// per client address per minute (sustained); the same again, counted
    /// apart, for auth-key checks (login, account deletion).
    pub auth_per_minute: u32,
    /// Requests a client address may burst before the rate applies.
    pub auth_burst: u32,
    /// Take the client address from `X-Forwarded-For`/`Forwarded` (only behind
    /// a proxy that sets them; otherwise clients could pick their own).
    pub trust_forwarded_for: bool,
    /// Auth-key checks one account may take in a burst, whatever the address.
    pub account_auth_burst: u32,
    /// Time for one auth-key check of an account's budget to refill.
    pub account_auth_interval: Duration,
    /// Longest a connection may take to send a request's header, counted from
    /// when the server starts waiting for it: on a new connection, and after
    /// each answer on a kept-alive one (so it is also the idle timeout).
    pub header_read_timeout: Duration,
    /// Most client connections open at once; more wait in the listen queue.
    pub max_http_connections: usize,
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
            account_auth_burst: 10,
            account_auth_interval: Duration::from_secs(600),
            header_read_timeout: Duration::from_secs(10),
            max_http_connections: 512,
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

impl<S: Store> App<S> {
    /// Whether registration is open now: the operator's stored setting
    /// (`sealsync-server registration`), read on every call so running
    /// servers follow it without a restart, else the command line's.
    pub async fn registration_now(&self) -> Result<Registration, StoreError> {
        Ok(match self.store.setting(REGISTRATION_SETTING).await?.as_deref() {
            Some("open") => Registration::Open,
            Some("closed") => Registration::Closed,
            _ => self.registration,
        })
    }
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
        .route("/v1/meta", get(routes::meta::meta::<S>))
        .route("/v1/devices", get(routes::devices::list::<S>))
        .route("/v1/devices/{id}", delete(routes::devices::revoke::<S>))
        .route("/v1/devices/{id}/name", put(routes::devices::rename::<S>))
        .route("/v1/sync/push", post(routes::sync::push::<S>))
        .route("/v1/sync/pull", get(routes::sync::pull::<S>))
        .route("/v1/sync/log/renew", post(routes::log::renew::<S>))
        .route("/v1/account", delete(routes::accounts::delete::<S>))
        .route("/v1/keys", get(routes::keys::keys::<S>));
    let auth = Router::new()
        .route("/v1/accounts", post(routes::accounts::register::<S>))
        .route("/v1/login/params", post(routes::accounts::login_params::<S>))
        .route("/v1/login", post(routes::accounts::login::<S>))
        // Every endpoint that checks an auth key or the recovery key's.
        .route("/v1/keys/unlock", post(routes::keys::unlock::<S>))
        .route("/v1/account/passphrase", post(routes::keys::change_passphrase::<S>))
        .route("/v1/account/recovery", put(routes::keys::set_recovery::<S>))
        .route("/v1/account/rotate", post(routes::keys::rotate::<S>))
        .route("/v1/recover/keys", post(routes::keys::recover_keys::<S>))
        .route("/v1/recover", post(routes::keys::recover::<S>));
    let (auth, address_limiter) = rate_limited(auth, (settings.auth_per_minute, settings.auth_burst));
    let pairings = routes::pairings::routes::<S>(settings.pairing_ttl);
    let (pairings, pairing_limiter) = rate_limited(pairings, (settings.pairing_per_minute, settings.pairing_burst));
    let guard = SecretGuard::new(settings);
    forget_full_budgets(
        Arc::downgrade(&guard),
        vec![Arc::downgrade(&address_limiter), Arc::downgrade(&pairing_limiter)],
    );

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
        .layer(Extension(guard))
        .layer(axum::middleware::from_fn_with_state(settings.trust_forwarded_for, resolve_client_addr))
        .layer(axum::middleware::from_fn(record_metrics))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, settings.request_timeout))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        ))
}

/// A request's log span: its method and route (the matched pattern, e.g.
/// `/v1/devices/{id}`), never its query, headers or body, so a log line
/// carries no token, pairing id or cursor; the response line adds the status.
fn request_span(request: &Request) -> tracing::Span {
    let route = request.extensions().get::<MatchedPath>().map_or("(unmatched)", MatchedPath::as_str);
    tracing::info_span!("request", method = %request.method(), route = %route)
}

/// The limiter of [`rate_limited`], keyed by client address.
type AddressLimiter = governor::DefaultKeyedRateLimiter<ClientAddr>;

/// Per-client-address rate limit of `(per_minute, burst)` on a group of
/// endpoints (the account endpoints; the pairing endpoints, in a bucket of
/// their own), answering 429 with `Retry-After` as a problem document;
/// returns the routes and their limiter.
fn rate_limited<S: Store>(
    routes: Router<App<S>>,
    (per_minute, burst): (u32, u32),
) -> (Router<App<S>>, Arc<AddressLimiter>) {
    let period = Duration::from_millis(60_000 / u64::from(per_minute.max(1)));
    let config = GovernorConfigBuilder::default()
        .key_extractor(ClientKey)
        .period(period)
        .burst_size(burst.max(1))
        .finish()
        .expect("period and burst are non-zero");
    let limiter = config.limiter().clone();
    let routes = routes.layer(GovernorLayer::new(config).error_handler(|error| {
        match error {
            tower_governor::GovernorError::TooManyRequests { wait_time, .. } => {
                ApiError::rate_limited(wait_time).into_response()
            }
            _ => ApiError::bad_request("unknown_client_address", "the client address could not be determined")
                .into_response(),
        }
    }));
    (routes, limiter)
}

/// Every minute, until the router is dropped, forgets the client addresses and
/// accounts whose budgets are full again, so the limiters' memory holds only
/// recent callers.
fn forget_full_budgets(guard: Weak<SecretGuard>, limiters: Vec<Weak<AddressLimiter>>) {
    tokio::spawn(async move {
        let mut every_minute = tokio::time::interval(Duration::from_secs(60));
        every_minute.tick().await;
        loop {
            every_minute.tick().await;
            let Some(guard) = guard.upgrade() else { return };
            guard.forget_full_budgets();
            for addresses in limiters.iter().filter_map(Weak::upgrade) {
                addresses.retain_recent();
                addresses.shrink_to_fit();
            }
        }
    });
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
