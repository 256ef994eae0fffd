//! sealsync-server: stores and relays sealed envelopes between one user's
//! devices, and learns nothing else.
//!
//! - [`store`]: the [`store::Store`] trait with Postgres and SQLite backends;
//! - [`app`]: state, router, middleware (rate limits, timeouts, metrics, logs);
//! - [`metrics`]: `/metrics` on its own listener (`--metrics-bind`), with an optional token;
//! - [`serve`]: the accept loop (connection cap, header-read timeout, graceful shutdown);
//! - [`routes`]: the handlers of the HTTP API;
//! - [`auth`], [`body`], [`error`]: tokens, bodies and problem documents;
//! - [`guard`]: client addresses, and the limits on guessing auth keys;
//! - [`wire`]: the JSON bodies as they arrive, and their field checks;
//! - [`config`]: the command line;
//! - [`config_file`]: settings from a TOML file (`--config`), beneath flags and environment;
//! - [`secret_file`]: settings read from files (`SEALSYNC_DATABASE_URL_FILE`);
//! - [`admin`]: operator commands on the database (`backup`, `copy`, `accounts`,
//!   `delete-account`, `registration`, `schema`).
//!
//! The server reads envelope headers (record, device, counter, key id) and
//! never anything inside them; it never logs tokens, keys or ciphertext.
#![forbid(unsafe_code)]

pub mod admin;
pub mod app;
pub mod auth;
pub mod body;
pub mod config;
pub mod config_file;
pub mod error;
pub mod guard;
pub mod metrics;
pub mod routes;
pub mod secret_file;
pub mod serve;
pub mod store;
pub mod wire;

pub use app::{App, Registration, Settings, router};
pub use serve::{serve, serve_with};
