//! `/metrics` on a listener of its own (`--metrics-bind`, off by default),
//! never on the API's: a server reachable from the internet does not show
//! its activity to strangers whatever its proxy does. The listener may also
//! require a bearer token (`--metrics-token-file`), for a scraper on another
//! machine. It serves `/metrics` and nothing else, and logs no request.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::auth::{hashes_match, token_hash};
use crate::routes;

/// The metrics listener's router; `token` is the bearer token it requires, if any.
pub fn router(token: Option<&str>) -> Router {
    crate::app::metrics_handle();
    let expected = token.map(|t| Arc::new(token_hash(t)));
    Router::new()
        .route("/metrics", get(routes::meta::metrics))
        .fallback(|| async { StatusCode::NOT_FOUND })
        .layer(axum::middleware::from_fn_with_state(expected, require_token))
}

/// Answers 401 unless the request carries the expected bearer token
/// (compared as hashes, in constant time).
async fn require_token(State(expected): State<Option<Arc<[u8; 32]>>>, request: Request, next: Next) -> Response {
    if let Some(expected) = expected {
        let presented = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if !presented.is_some_and(|p| hashes_match(&token_hash(p), &expected)) {
            return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")]).into_response();
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use tower::ServiceExt;

    use super::*;

    async fn status(router: Router, path: &str, bearer: Option<&str>) -> StatusCode {
        let mut request = axum::http::Request::get(path);
        if let Some(bearer) = bearer {
            request = request.header(header::AUTHORIZATION, format!("Bearer {bearer}"));
        }
        router.oneshot(request.body(Body::empty()).unwrap()).await.unwrap().status()
    }

    #[tokio::test]
    async fn a_token_when_set_is_required() {
        let open = router(None);
        assert_eq!(status(open.clone(), "/metrics", None).await, StatusCode::OK);
        assert_eq!(status(open, "/v1/meta", None).await, StatusCode::NOT_FOUND, "metrics only");
        let guarded = router(Some("s3cret-token"));
        assert_eq!(status(guarded.clone(), "/metrics", None).await, StatusCode::UNAUTHORIZED);
        assert_eq!(status(guarded.clone(), "/metrics", Some("wrong")).await, StatusCode::UNAUTHORIZED);
        assert_eq!(status(guarded, "/metrics", Some("s3cret-token")).await, StatusCode::OK);
    }
}
