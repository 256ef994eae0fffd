//! The command line: flags with `SEALSYNC_*` environment equivalents (clap),
//! and `--config FILE` beneath both (crate::config_file).
//! A malformed or conflicting setting stops the server at start with a
//! message naming the setting.

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use sealsync_envelope::dto::ServerLimits;

use crate::app::{Registration, Settings};

/// The server's command line.
#[derive(Debug, Parser)]
#[command(name = "sealsync-server", version, about = "Zero-knowledge sync server for sealsync")]
pub struct Cli {
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Settings.
    #[command(flatten)]
    pub config: Config,
}

/// Subcommands.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Apply migrations, then serve (the default).
    Serve,
    /// Apply migrations and exit.
    Migrate,
    // Operator commands (crate::admin).
    /// Write an online, consistent copy of the SQLite database to a new file.
    Backup(crate::admin::BackupArgs),
    /// Copy every row of a SQLite database into an empty Postgres database
    /// (run with the server stopped).
    Copy(crate::admin::CopyArgs),
    /// List accounts: id, created, devices, envelopes, bytes stored, last
    /// activity (never names or anything sealed).
    Accounts(crate::admin::AccountsArgs),
    /// Delete an account and everything it stored (asks first; --yes for scripts).
    DeleteAccount(crate::admin::DeleteAccountArgs),
    /// Show, or set in the database, whether registration is open; running
    /// servers follow it without a restart.
    Registration(crate::admin::RegistrationArgs),
    /// Show the schema version applied and the one this binary expects.
    Schema,
}

impl Command {
    /// Commands that work through the store without migrating it (crate::admin::run_on_store).
    pub fn is_operator(&self) -> bool {
        matches!(self, Self::Accounts(_) | Self::DeleteAccount(_) | Self::Registration(_) | Self::Schema)
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Settings, each a flag and an environment variable.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// A TOML file of settings, keys named as these flags without the dashes
    /// (deploy/sealsync-server.toml); flags and environment variables override it.
    #[arg(long, env = "SEALSYNC_CONFIG", value_name = "FILE", global = true)]
    pub config: Option<std::path::PathBuf>,
    /// Address to listen on.
    #[arg(long, env = "SEALSYNC_BIND", default_value = "127.0.0.1:8787", global = true)]
    pub bind: SocketAddr,
    /// `sqlite://FILE` (created if missing) or `postgres://USER@HOST/DB`.
    #[arg(long, env = "SEALSYNC_DATABASE_URL", default_value = "sqlite://sealsync.db", global = true)]
    pub database_url: DatabaseUrl,
    /// A file holding the database URL (keeps a password out of the
    /// environment and the process list); see crate::secret_file.
    #[arg(long, env = "SEALSYNC_DATABASE_URL_FILE", value_name = "FILE", global = true)]
    pub database_url_file: Option<std::path::PathBuf>,
    /// Whether anyone may create an account.
    #[arg(long, env = "SEALSYNC_REGISTRATION", value_enum, default_value = "open", global = true)]
    pub registration: Registration,
    /// Longest a request may take, in seconds.
    #[arg(long, env = "SEALSYNC_REQUEST_TIMEOUT_SECS", default_value_t = 30, global = true,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub request_timeout_secs: u64,
    /// Account-endpoint requests (register, login parameters, login) per client
    /// address per minute; auth-key checks (login, account deletion) are
    /// counted apart at the same rate. An IPv6 address counts by its /64.
    #[arg(long, env = "SEALSYNC_AUTH_RATE_PER_MINUTE", default_value_t = 30, global = true,
          value_parser = clap::value_parser!(u32).range(1..=60_000))]
    pub auth_rate_per_minute: u32,
    /// Of those, how many a client address may make in a burst.
    #[arg(long, env = "SEALSYNC_AUTH_BURST", default_value_t = 10, global = true,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub auth_burst: u32,
    /// Auth-key checks (login, account deletion) one account may take in a
    /// burst, from any number of addresses.
    #[arg(long, env = "SEALSYNC_ACCOUNT_AUTH_BURST", default_value_t = 10, global = true,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub account_auth_burst: u32,
    /// Auth-key checks per account per hour once the burst is spent, from any
    /// number of addresses (the budget refills at this rate).
    #[arg(long, env = "SEALSYNC_ACCOUNT_AUTH_PER_HOUR", default_value_t = 6, global = true,
          value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub account_auth_per_hour: u32,
    /// Longest a connection may take to send a request header, in seconds;
    /// also how long an idle (kept-alive or silent) connection stays open.
    #[arg(long, env = "SEALSYNC_HEADER_READ_TIMEOUT_SECS", default_value_t = 10, global = true,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_read_timeout_secs: u64,
    /// Most client connections open at once; more wait in the listen queue.
    /// Keep it below the open-file limit (ulimit -n, LimitNOFILE): see README.
    #[arg(long, env = "SEALSYNC_MAX_HTTP_CONNECTIONS", default_value_t = 512, global = true,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_http_connections: u32,
    /// Seconds a device-linking pairing lives after it is opened.
    #[arg(long, env = "SEALSYNC_PAIRING_TTL_SECS", default_value_t = 600, global = true,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub pairing_ttl_secs: u64,
    /// Requests to the pairing endpoints per client address per minute.
    #[arg(long, env = "SEALSYNC_PAIRING_RATE_PER_MINUTE", default_value_t = 120, global = true,
          value_parser = clap::value_parser!(u32).range(1..=60_000))]
    pub pairing_rate_per_minute: u32,
    /// Pairing requests a client address may make in a burst.
    #[arg(long, env = "SEALSYNC_PAIRING_BURST", default_value_t = 20, global = true,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub pairing_burst: u32,
    /// Take client addresses from X-Forwarded-For (only behind a proxy that sets it).
    #[arg(long, env = "SEALSYNC_TRUST_FORWARDED_FOR", global = true)]
    pub trust_forwarded_for: bool,
    /// Database connections in the pool.
    #[arg(long, env = "SEALSYNC_MAX_CONNECTIONS", default_value_t = 16, global = true,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub max_connections: u32,
    /// Most envelope bytes one account may store.
    #[arg(long, env = "SEALSYNC_MAX_ACCOUNT_BYTES", default_value_t = ServerLimits::default().max_account_bytes,
          global = true)]
    pub max_account_bytes: u64,
    /// Most envelopes in one push. Every server accepts at least 500
    /// (PROTOCOL.md §9), so clients send that many without asking.
    #[arg(long, env = "SEALSYNC_MAX_ENVELOPES_PER_PUSH",
          default_value_t = ServerLimits::default().max_envelopes_per_push, global = true,
          value_parser = clap::value_parser!(u32)
              .range(i64::from(ServerLimits::GUARANTEED_ENVELOPES_PER_PUSH)..=10_000))]
    pub max_envelopes_per_push: u32,
    /// Where to serve Prometheus metrics (`/metrics`), apart from the API:
    /// an address such as 127.0.0.1:9787, or `off`. Never on --bind.
    #[arg(long, env = "SEALSYNC_METRICS_BIND", value_name = "ADDRESS|off", default_value = "off", global = true)]
    pub metrics_bind: MetricsBind,
    /// A file holding a bearer token the metrics listener then requires (for a
    /// scraper on another machine); see crate::metrics.
    #[arg(long, env = "SEALSYNC_METRICS_TOKEN_FILE", value_name = "FILE", global = true)]
    pub metrics_token_file: Option<std::path::PathBuf>,
    /// Log format.
    #[arg(long, env = "SEALSYNC_LOG_FORMAT", value_enum, default_value = "text", global = true)]
    pub log_format: LogFormat,
}

impl Config {
    /// The router settings these flags describe.
    pub fn settings(&self) -> Settings {
        Settings {
            registration: self.registration,
            limits: ServerLimits {
                max_account_bytes: self.max_account_bytes,
                max_envelopes_per_push: self.max_envelopes_per_push,
                ..ServerLimits::default()
            },
            request_timeout: Duration::from_secs(self.request_timeout_secs),
            auth_per_minute: self.auth_rate_per_minute,
            auth_burst: self.auth_burst,
            trust_forwarded_for: self.trust_forwarded_for,
            account_auth_burst: self.account_auth_burst,
            account_auth_interval: Duration::from_secs(3600 / u64::from(self.account_auth_per_hour.max(1))),
            header_read_timeout: Duration::from_secs(self.header_read_timeout_secs),
            max_http_connections: self.max_http_connections as usize,
            pairing_ttl: Duration::from_secs(self.pairing_ttl_secs),
            pairing_per_minute: self.pairing_rate_per_minute,
            pairing_burst: self.pairing_burst,
        }
    }
}

/// Where `/metrics` is served, if anywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsBind {
    /// Not served.
    Off,
    /// On its own listener at this address.
    At(SocketAddr),
}

impl FromStr for MetricsBind {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        if value == "off" {
            return Ok(Self::Off);
        }
        value.parse().map(Self::At).map_err(|_| "expected an address such as 127.0.0.1:9787, or off".to_owned())
    }
}

/// Which database, by URL scheme.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// `postgres://` or `postgresql://`.
    Postgres(String),
    /// `sqlite:`.
    Sqlite(String),
}

// Never print the URL itself: it may carry a password.
impl core::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Postgres(_) => f.write_str("DatabaseUrl::Postgres(..)"),
            Self::Sqlite(url) => write!(f, "DatabaseUrl::Sqlite({url:?})"),
        }
    }
}

impl FromStr for DatabaseUrl {
    type Err = String;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
        match scheme {
            "postgres" | "postgresql" => Ok(Self::Postgres(url.to_owned())),
            "sqlite" if url.len() > "sqlite:".len() => Ok(Self::Sqlite(url.to_owned())),
            "sqlite" => Err("a sqlite URL needs a file, e.g. sqlite://sealsync.db".to_owned()),
            _ => Err(format!(
                "unsupported database URL scheme {scheme:?}: use sqlite://FILE or postgres://USER@HOST/DATABASE"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_serve_sqlite_on_loopback() {
        let cli = Cli::try_parse_from(["sealsync-server"]).unwrap();
        assert_eq!(cli.command, None);
        assert_eq!(cli.config.bind, "127.0.0.1:8787".parse().unwrap());
        assert_eq!(cli.config.database_url, DatabaseUrl::Sqlite("sqlite://sealsync.db".into()));
        assert_eq!(cli.config.registration, Registration::Open);
        let settings = cli.config.settings();
        assert_eq!(settings.account_auth_burst, Settings::default().account_auth_burst);
        assert_eq!(settings.account_auth_interval, Settings::default().account_auth_interval);
        assert_eq!(settings.header_read_timeout, Settings::default().header_read_timeout);
        assert_eq!(settings.max_http_connections, Settings::default().max_http_connections);
    }

    #[test]
    fn malformed_settings_fail_with_the_setting_named() {
        for args in [
            &["sealsync-server", "--database-url", "mysql://x"][..],
            &["sealsync-server", "--bind", "localhost"],
            &["sealsync-server", "--registration", "maybe"],
            &["sealsync-server", "--auth-burst", "0"],
            &["sealsync-server", "--account-auth-burst", "0"],
            &["sealsync-server", "--account-auth-per-hour", "0"],
            &["sealsync-server", "--header-read-timeout-secs", "0"],
            &["sealsync-server", "--max-http-connections", "0"],
            &["sealsync-server", "migrate", "--database-url", "sqlite:"],
        ] {
            let error = Cli::try_parse_from(args).unwrap_err().to_string();
            assert!(error.contains(&args[args.len() - 2][2..]) || error.contains(args[args.len() - 2]), "{error}");
        }
    }

    #[test]
    fn database_url_debug_hides_credentials() {
        let url: DatabaseUrl = "postgres://user:secret@db/sealsync".parse().unwrap();
        assert!(!format!("{url:?}").contains("secret"));
    }
}
