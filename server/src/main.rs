//! `sealsync-server [serve|migrate|backup|copy|accounts|delete-account|registration|schema] [flags]`: see `--help`,
//! README.md and docs/self-hosting.md.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use sealsync_server::config::{Cli, Command, Config, DatabaseUrl, LogFormat, MetricsBind};
use sealsync_server::store::Store;
use sealsync_server::store::postgres::PgStore;
use sealsync_server::store::sqlite::SqliteStore;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    if let Some(help) = migrate_help() {
        println!("{help}");
        return ExitCode::SUCCESS;
    }
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let parsed =
        Cli::command().try_get_matches_from(&args).and_then(|matches| Ok((Cli::from_arg_matches(&matches)?, matches)));
    let (mut cli, matches) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            let _ = e.print();
            if let Some(variable) = env_source(&e) {
                eprintln!("(that value came from the environment variable {variable})");
            }
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    // The file fills what the command line and environment left unset;
    // `matches` stay those of the command line and environment alone.
    if let Some(path) = cli.config.config.clone() {
        match sealsync_server::config_file::apply(&path, &args, &matches) {
            Ok((from_file, _)) => cli = from_file,
            Err(e) => {
                eprintln!("sealsync-server: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    init_logging(cli.config.log_format);
    if let Err(e) = sealsync_server::secret_file::apply(&mut cli.config, &matches) {
        eprintln!("sealsync-server: {e}");
        return ExitCode::FAILURE;
    }
    let command = cli.command.unwrap_or(Command::Serve);
    let config = cli.config;
    if let Some(result) = admin(&command, &config).await {
        return match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("sealsync-server: {message}");
                ExitCode::FAILURE
            }
        };
    }
    // An operator command never creates the SQLite database it is pointed at.
    if command.is_operator()
        && let DatabaseUrl::Sqlite(url) = &config.database_url
        && let Some(missing) = missing_sqlite(url)
    {
        eprintln!("sealsync-server: the SQLite database {missing} does not exist (check --database-url)");
        return ExitCode::FAILURE;
    }
    let result = match &config.database_url {
        DatabaseUrl::Postgres(url) => match PgStore::connect(url, config.max_connections).await {
            Ok(store) => run(store, command, &config).await,
            Err(e) => Err(postgres_error(url, &e)),
        },
        DatabaseUrl::Sqlite(url) => match SqliteStore::connect(url, config.max_connections).await {
            Ok(store) => {
                let result = run(store.clone(), command, &config).await;
                // After the last request: the main file alone is then complete.
                match (result, store.checkpoint_and_close().await) {
                    (Ok(()), Err(e)) => Err(format!("cannot checkpoint the SQLite database: {e}")),
                    (result, _) => result,
                }
            }
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

/// Runs an operator command (`backup`, `copy`); `None` for the others.
async fn admin(command: &Command, config: &Config) -> Option<Result<(), String>> {
    use sealsync_server::admin;
    match command {
        Command::Backup(args) => Some(match admin::backup::backup(&config.database_url, &args.to).await {
            Ok(report) => {
                println!(
                    "backup written to {}: {} accounts, {} envelopes, {} bytes",
                    report.file.display(),
                    report.accounts,
                    report.envelopes,
                    report.bytes
                );
                Ok(())
            }
            Err(e) => Err(e.to_string()),
        }),
        Command::Copy(args) => Some(
            async {
                let from: DatabaseUrl = args.from.parse().map_err(|e| format!("--from: {e}"))?;
                let to = match (&args.to, &args.to_file) {
                    (Some(url), _) => url.clone(),
                    (None, Some(file)) => {
                        sealsync_server::secret_file::read("--to-file", file).map_err(|e| e.to_string())?
                    }
                    (None, None) => return Err("copy needs --to or --to-file".to_owned()),
                };
                let to: DatabaseUrl = to.parse().map_err(|e| format!("--to: {e}"))?;
                let report = admin::copy::copy(&from, &to).await.map_err(|e| e.to_string())?;
                for (table, rows) in &report.tables {
                    println!("{table}: {rows} rows");
                }
                println!("copy complete: point --database-url at the Postgres database and start the server");
                Ok::<(), String>(())
            }
            .await,
        ),
        _ => None,
    }
}

async fn run<S: Store>(store: S, command: Command, config: &Config) -> Result<(), String> {
    if let Some(result) = sealsync_server::admin::run_on_store(&store, &command, config.registration).await {
        return result.map_err(|e| e.to_string());
    }
    store.migrate().await.map_err(|e| e.to_string())?;
    tracing::info!(database = store.backend(), "migrations applied");
    if command == Command::Migrate {
        return Ok(());
    }
    let settings = config.settings();
    check_open_file_limit(settings.max_http_connections, config.max_connections);
    let router = sealsync_server::router(store, &settings).await.map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.bind))?;
    let metrics = serve_metrics(config).await?;
    tracing::info!(
        address = %config.bind,
        registration = ?config.registration,
        max_http_connections = settings.max_http_connections,
        "sealsync-server listening"
    );
    let served = sealsync_server::serve_with(listener, router, &settings, shutdown_signal()).await;
    if let Some(metrics) = metrics {
        metrics.abort();
    }
    served.map_err(|e| e.to_string())?;
    tracing::info!("shut down");
    Ok(())
}

/// Starts the metrics listener (`--metrics-bind`), if one is asked for; it
/// runs until aborted.
async fn serve_metrics(config: &Config) -> Result<Option<tokio::task::JoinHandle<()>>, String> {
    const TOKEN_FILE: &str = "--metrics-token-file / SEALSYNC_METRICS_TOKEN_FILE";
    let token = match &config.metrics_token_file {
        Some(path) => Some(sealsync_server::secret_file::read(TOKEN_FILE, path).map_err(|e| e.to_string())?),
        None => None,
    };
    let MetricsBind::At(address) = config.metrics_bind else {
        if token.is_some() {
            return Err(format!("{TOKEN_FILE} is set but --metrics-bind is off: set both, or neither"));
        }
        return Ok(None);
    };
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| format!("cannot listen on --metrics-bind {address}: {e}"))?;
    let router = sealsync_server::metrics::router(token.as_deref());
    tracing::info!(address = %address, token = token.is_some(), "serving /metrics");
    Ok(Some(tokio::spawn(async move {
        if let Err(e) = sealsync_server::serve(listener, router, std::future::pending()).await {
            tracing::warn!(error = %e, "the metrics listener stopped");
        }
    })))
}

/// Warns at start when the process's open-file limit (`ulimit -n`, systemd's
/// `LimitNOFILE=`) is below what the connection cap and the database pool may
/// use: past it, accepting fails with "Too many open files" (the server then
/// pauses and retries, but it is a misconfiguration). Each pooled database
/// connection may hold three files (SQLite: the database, its WAL and its
/// shared memory), and the process needs a few dozen of its own.
fn check_open_file_limit(max_http_connections: usize, max_connections: u32) {
    let needed = max_http_connections as u64 + 3 * u64::from(max_connections) + 64;
    if let Some(limit) = open_file_limit()
        && limit < needed
    {
        tracing::warn!(
            limit,
            needed,
            "the open-file limit (ulimit -n) is below what --max-http-connections {max_http_connections} and \
             --max-connections {max_connections} may need; raise it (systemd: LimitNOFILE=) or lower \
             --max-http-connections"
        );
    }
}

/// The soft limit on open files, from `/proc/self/limits` (Linux; `None`
/// elsewhere, or when it is unlimited or unreadable).
fn open_file_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// The file of a SQLite URL, if it does not exist.
fn missing_sqlite(url: &str) -> Option<String> {
    use std::str::FromStr as _;
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url).ok()?;
    let file = options.get_filename();
    (!file.exists()).then(|| file.display().to_string())
}

/// Why Postgres could not be used, naming the host and database (never the
/// URL, which may carry a password), and what to do.
fn postgres_error(url: &str, error: &sealsync_server::store::StoreError) -> String {
    use sealsync_server::store::StoreError;
    let options: Option<sqlx::postgres::PgConnectOptions> = url.parse().ok();
    let (host, port, database) = options.as_ref().map_or(("?".to_owned(), 0, "?".to_owned()), |o| {
        (o.get_host().to_owned(), o.get_port(), o.get_database().unwrap_or("postgres").to_owned())
    });
    match error {
        StoreError::Database(sqlx::Error::Database(db)) if db.code().as_deref() == Some("3D000") => format!(
            "the database {database:?} does not exist on Postgres at {host}:{port}; create it first (e.g. \
             `createdb -h {host} -p {port} {database}`, or `CREATE DATABASE {database};` in psql), then run again"
        ),
        StoreError::Database(sqlx::Error::PoolTimedOut | sqlx::Error::Io(_)) => {
            format!("cannot reach Postgres at {host}:{port} (gave up after 5 s): is it running, and is the host right?")
        }
        other => format!("cannot connect to Postgres at {host}:{port} (database {database:?}): {other}"),
    }
}

/// `migrate --help` lists only what migrate uses (the other settings are
/// global flags of `serve`, and clap would list them all).
fn migrate_help() -> Option<String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let asks = args.iter().any(|a| a == "--help" || a == "-h");
    if !asks || args.iter().find(|a| !a.starts_with('-')).map(String::as_str) != Some("migrate") {
        return None;
    }
    const USED: &[&str] =
        &["config", "database_url", "database_url_file", "max_connections", "log_format", "help", "version"];
    let mut command = <Cli as clap::CommandFactory>::command();
    command.build();
    let migrate = command.find_subcommand_mut("migrate")?.clone();
    let mut migrate = migrate
        .bin_name("sealsync-server migrate")
        .mut_args(|a| if USED.contains(&a.get_id().as_str()) { a } else { a.hide(true) });
    Some(migrate.render_help().to_string())
}

/// The environment variable a refused value came from, if it did: clap's
/// message names only the flag, which the operator did not type.
fn env_source(error: &clap::Error) -> Option<String> {
    let clap::error::ContextValue::String(arg) = error.get(clap::error::ContextKind::InvalidArg)? else {
        return None;
    };
    let flag = arg.split_whitespace().next()?.to_owned();
    let typed = std::env::args().any(|a| a == flag || a.starts_with(&format!("{flag}=")));
    let command = <Cli as clap::CommandFactory>::command();
    let variable = command
        .get_arguments()
        .find(|a| a.get_long().is_some_and(|long| format!("--{long}") == flag))?
        .get_env()?
        .to_string_lossy()
        .into_owned();
    (!typed && std::env::var_os(&variable).is_some()).then_some(variable)
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
    // Colour only on a terminal: a log file or journald gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
