//! Every HTTP error is a JSON problem document (RFC 9457) with a stable,
//! machine-readable `code`; clients branch on the code, people read `detail`.
//! Details never contain tokens, keys or envelope bytes.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::store::StoreError;

/// An error answer.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code, e.g. `invalid_token`.
    pub code: &'static str,
    /// One sentence for a person.
    pub detail: String,
    /// Seconds to wait, for 429.
    pub retry_after: Option<u64>,
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    code: &'a str,
    detail: &'a str,
}

impl ApiError {
    /// An error with a status, code and detail.
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self { status, code, detail: detail.into(), retry_after: None }
    }

    /// 400 with a specific code.
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    /// 401: no `Authorization` header.
    pub fn missing_token() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "missing_token", "this endpoint needs an Authorization: Bearer token")
    }

    /// 401: unknown, malformed or revoked token.
    pub fn invalid_token() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the device token is not valid (unknown, or its account was deleted)",
        )
    }

    /// 401: the token is a revoked device's. An unknown token (its account
    /// deleted, with every device row) stays `invalid_token`.
    pub fn device_revoked() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "device_revoked", "this device was revoked")
    }

    /// 401: wrong account name or auth key (deliberately indistinguishable).
    pub fn invalid_credentials() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_credentials", "unknown account or wrong passphrase")
    }

    /// 413 with a specific code.
    pub fn too_large(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, code, detail)
    }

    /// 429 with `Retry-After`.
    pub fn rate_limited(retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after.max(1)),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many attempts from this address; retry later",
            )
        }
    }

    /// 429 with `Retry-After`: the account's budget of auth-key checks is
    /// spent, from whatever address (the same answer for a right key).
    pub fn account_rate_limited(retry_after: u64) -> Self {
        Self { detail: "too many attempts for this account; retry later".to_owned(), ..Self::rate_limited(retry_after) }
    }

    /// 404 for an unknown path.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
    }

    /// 503: the database cannot answer now (its connections lost, busy past
    /// the timeout, or the server shutting down); the request may be repeated.
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "database_unavailable",
            "the database is unavailable; try again later",
        )
    }

    /// 500; the cause goes to the log, not to the client.
    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the server failed; try again later")
    }
}

/// Whether Postgres refused a write for want of disk space (`disk_full`,
/// SQLSTATE 53100).
fn postgres_disk_full(error: &sqlx::Error) -> bool {
    error.as_database_error().and_then(|db| db.code()).is_some_and(|code| code == "53100")
}

/// SQLite's result code of an error sqlx reports, as rusqlite names it (the
/// pool and the push writer drive the same SQLite).
fn sqlite_code(error: &sqlx::Error) -> Option<rusqlite::ErrorCode> {
    let db = error.as_database_error()?;
    db.try_downcast_ref::<sqlx::sqlite::SqliteError>()?;
    let code = db.code()?.parse::<i32>().ok()?;
    Some(rusqlite::ffi::Error::new(code).code)
}

/// The answer to a failed SQLite statement, from either driver: a full disk
/// is 507, the write lock taken past the busy timeout 503 (the request may
/// be repeated), anything else 500.
fn sqlite_answer(code: Option<rusqlite::ErrorCode>) -> ApiError {
    match code {
        Some(rusqlite::ErrorCode::DiskFull) => ApiError::insufficient_storage(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => ApiError::unavailable(),
        _ => ApiError::internal(),
    }
}

/// Whether Postgres ended the connection under the request (its backend
/// terminated, the server shutting down or restarting: SQLSTATE class 08 and
/// 57P01–57P03): the transaction was rolled back, and the request may be
/// repeated as it is. The pool drops the broken connection.
fn connection_lost(error: &sqlx::Error) -> bool {
    let Some(db) = error.as_database_error() else { return false };
    db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
        .is_some_and(|e| e.code().starts_with("08") || matches!(e.code(), "57P01" | "57P02" | "57P03"))
}

impl ApiError {
    /// 507: the server's disk is full. Nothing of the request was stored;
    /// reads still work, and the client keeps its changes and retries later.
    pub fn insufficient_storage() -> Self {
        Self::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "storage_full",
            "the server has no space left to store this; nothing was stored, try again later",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::AccountExists(what) => {
                Self::new(StatusCode::CONFLICT, "account_exists", format!("an account with this {what} already exists"))
            }
            StoreError::DeviceExists => {
                Self::new(StatusCode::CONFLICT, "device_exists", "this device id is already registered on the account")
            }
            StoreError::AccountNotFound => Self::invalid_token(),
            StoreError::Database(e) => {
                tracing::error!(error = %e, "database error");
                if let Some(code) = sqlite_code(&e) {
                    return sqlite_answer(Some(code));
                }
                if postgres_disk_full(&e) {
                    return Self::insufficient_storage();
                }
                if connection_lost(&e) {
                    return Self::unavailable();
                }
                match e {
                    sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => Self::unavailable(),
                    _ => Self::internal(),
                }
            }
            StoreError::Sqlite(e) => {
                tracing::error!(error = %e, "database error");
                sqlite_answer(e.sqlite_error_code())
            }
            StoreError::Closed => Self::unavailable(),
            StoreError::Panicked => Self::internal(),
            StoreError::Inconsistent(why) => {
                tracing::error!(why, "inconsistent database");
                Self::internal()
            }
            StoreError::Migrate(e) => {
                tracing::error!(error = %e, "migration error");
                Self::internal()
            }
            StoreError::Io(e) => {
                tracing::error!(error = %e, "database file error");
                Self::internal()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = Problem {
            kind: format!("urn:sealsync:problem:{}", self.code),
            title: self.status.canonical_reason().unwrap_or("Error"),
            status: self.status.as_u16(),
            code: self.code,
            detail: &self.detail,
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
