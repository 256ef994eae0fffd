//! `sealsync-server [serve|migrate] [flags]`: see `--help` and README.md.

use std::process::ExitCode;

use clap::Parser;
use sealsync_server::config::{Cli, Command, Config, DatabaseUrl, LogFormat};
use sealsync_server::store::Store;
use sealsync_server::store::postgres::PgStore;
use sealsync_server::store::sqlite::SqliteStore;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.config.log_format);
    let command = cli.command.unwrap_or(Command::Serve);
    let config = cli.config;
    let result = match &config.database_url {
        DatabaseUrl::Postgres(url) => match PgStore::connect(url, config.max_connections).await {
            Ok(store) => run(store, command, &config).await,
            Err(e) => Err(format!("cannot connect to Postgres: {e}")),
        },
        DatabaseUrl::Sqlite(url) => match SqliteStore::connect(url, config.max_connections).await {
            Ok(store) => run(store, command, &config).await,
            Err(e) => Err(format!("cannot open the SQLite database {url}: {e}")),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("sealsync-server: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run<S: Store>(store: S, command: Command, config: &Config) -> Result<(), String> {
    store.migrate().await.map_err(|e| e.to_string())?;
    tracing::info!(database = store.backend(), "migrations applied");
    if command == Command::Migrate {
        return Ok(());
    }
    let router = sealsync_server::router(store, &config.settings()).await.map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.bind))?;
    tracing::info!(address = %config.bind, registration = ?config.registration, "sealsync-server listening");
    sealsync_server::serve(listener, router, shutdown_signal()).await.map_err(|e| e.to_string())?;
    tracing::info!("shut down");
    Ok(())
}

/// Resolves on ctrl-c or SIGTERM; requests in flight then finish.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutdown requested; finishing requests in flight");
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_env("SEALSYNC_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
