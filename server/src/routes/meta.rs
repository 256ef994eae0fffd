//! `GET /health`, `GET /v1/meta` and `GET /metrics`.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use sealsync_crypto::ProtocolVersion;
use sealsync_envelope::dto::MetaResponse;

use crate::app::{App, Registration, metrics_handle};
use crate::error::ApiError;
use crate::store::Store;

/// `GET /health`: 200 when the database answers.
pub async fn health<S: Store>(State(app): State<App<S>>) -> Result<impl IntoResponse, ApiError> {
    app.store.ping().await?;
    Ok(Json(serde_json::json!({ "status": "ok", "database": app.store.backend() })))
}

/// `GET /v1/meta`: versions, suites, limits and whether registration is open.
pub async fn meta<S: Store>(State(app): State<App<S>>) -> Json<MetaResponse> {
    Json(MetaResponse {
        server_version: env!("CARGO_PKG_VERSION").to_owned(),
        protocol_versions: vec![ProtocolVersion::LATEST.get()],
        envelope_versions: vec![sealsync_envelope::VERSION],
        suites: vec![sealsync_envelope::SUITE],
        // A database error here is answered by /health; meta falls back to the flag.
        registration_open: app.registration_now().await.unwrap_or(app.registration) == Registration::Open,
        limits: app.limits,
    })
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics() -> impl IntoResponse {
    let handle = metrics_handle();
    handle.run_upkeep();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], handle.render())
}
