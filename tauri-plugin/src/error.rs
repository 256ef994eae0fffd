//! The one error shape every command rejects with: `{ code, message }`,
//! with `code` a stable snake_case string a front end branches on.

use sealsync_client::ClientError;
use serde::Serialize;

/// What a command's promise rejects with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error, ts_rs::TS)]
#[error("{message}")]
pub struct PluginError {
    /// Stable: `wrong_passphrase`, `offline`, `rate_limited`, `revoked`,
    /// `not_enabled`, `already_enabled`, `weak_passphrase`, `invalid_input`,
    /// `not_found`, `server_refused`, `needs_unlock`, `sync_busy`,
    /// `internal`, or another [`ClientError::code`].
    pub code: String,
    /// A sentence for the user.
    pub message: String,
}

impl PluginError {
    /// Bad arguments from the front end.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self { code: "invalid_input".into(), message: message.into() }
    }

    /// The plugin itself failed (its thread stopped).
    pub fn internal(message: impl Into<String>) -> Self {
        Self { code: "internal".into(), message: message.into() }
    }
}

impl From<ClientError> for PluginError {
    fn from(error: ClientError) -> Self {
        let code = match &error {
            ClientError::Network(_) => "offline",
            ClientError::Server { status: 429, .. } => "rate_limited",
            ClientError::Server { .. } => "server_refused",
            ClientError::SignedOut => "revoked",
            ClientError::SyncDisabled => "not_enabled",
            ClientError::SyncAlreadyEnabled { .. } => "already_enabled",
            ClientError::Invalid(_) | ClientError::InvalidServerUrl(_) => "invalid_input",
            ClientError::Storage(_) | ClientError::Migration(_) | ClientError::Io { .. } => "internal",
            other => other.code(),
        };
        Self { code: code.into(), message: error.to_string() }
    }
}
