//! Request and response bodies: CBOR for sync, JSON for accounts and devices.
//! Both extractors check the content type and the size cap before parsing, and
//! turn every failure into a problem document.

use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::app::App;
use crate::error::ApiError;
use crate::store::Store;

/// Largest JSON body (account and device requests are small).
pub const MAX_JSON_BYTES: usize = 64 * 1024;

/// A CBOR request or response body (`application/cbor`).
#[derive(Debug, Clone)]
pub struct Cbor<T>(pub T);

/// A JSON request body (`application/json`); responses use `axum::Json`.
#[derive(Debug, Clone)]
pub struct Json<T>(pub T);

fn require_content_type(req: &Request, expected: &'static str) -> Result<(), ApiError> {
    let actual = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = actual.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case(expected) {
        Ok(())
    } else {
        Err(ApiError::new(
            axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("expected Content-Type: {expected}"),
        ))
    }
}

async fn read_body(req: Request, limit: usize) -> Result<axum::body::Bytes, ApiError> {
    let too_large = || ApiError::too_large("body_too_large", format!("the request body exceeds {limit} bytes"));
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(too_large());
    }
    axum::body::to_bytes(req.into_body(), limit).await.map_err(|_| too_large())
}

impl<S: Store, T: DeserializeOwned> FromRequest<App<S>> for Cbor<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, app: &App<S>) -> Result<Self, Self::Rejection> {
        require_content_type(&req, "application/cbor")?;
        let limit = usize::try_from(app.limits.max_request_bytes).unwrap_or(usize::MAX);
        let bytes = read_body(req, limit).await?;
        sealsync_envelope::dto::from_cbor(&bytes, limit)
            .map(Cbor)
            .map_err(|e| ApiError::bad_request("malformed_cbor", format!("the CBOR body is invalid: {e}")))
    }
}

impl<S: Store, T: DeserializeOwned> FromRequest<App<S>> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &App<S>) -> Result<Self, Self::Rejection> {
        require_content_type(&req, "application/json")?;
        let bytes = read_body(req, MAX_JSON_BYTES).await?;
        serde_json::from_slice(&bytes)
            .map(Json)
            .map_err(|e| ApiError::bad_request("malformed_json", format!("the JSON body is invalid: {e}")))
    }
}

impl<T: Serialize> IntoResponse for Cbor<T> {
    fn into_response(self) -> Response {
        let mut response = sealsync_envelope::dto::to_cbor(&self.0).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/cbor"));
        response
    }
}
