//! Operator commands that work on the database directly, with the server
//! stopped or running beside them: `backup` (an online, consistent copy of
//! the embedded SQLite database), `copy` (moving every row from SQLite to
//! Postgres, cursors included, so devices continue without noticing),
//! `accounts` and `delete-account`, `registration` and `schema`. Each lives
//! in its own module; none knows HTTP.

pub mod accounts;
pub mod backup;
pub mod copy;
pub mod registration;
pub mod schema;

use std::path::PathBuf;

use clap::Args;

/// Arguments of `sealsync-server backup`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct BackupArgs {
    /// The backup file to write; it must not exist yet.
    #[arg(long, value_name = "FILE")]
    pub to: PathBuf,
}

/// Arguments of `sealsync-server copy`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct CopyArgs {
    /// The SQLite database to copy from (`sqlite://FILE`); it must exist.
    #[arg(long, value_name = "URL")]
    pub from: String,
    /// The Postgres database to copy into (`postgres://USER@HOST/DB`); it
    /// must be empty (freshly created, or migrated and never served).
    #[arg(long, value_name = "URL", required_unless_present = "to_file", conflicts_with = "to_file")]
    pub to: Option<String>,
    /// A file holding the target's URL (keeps its password out of the process list).
    #[arg(long, value_name = "FILE")]
    pub to_file: Option<PathBuf>,
}

/// Arguments of `sealsync-server accounts`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct AccountsArgs {
    /// One JSON array (times in Unix milliseconds) instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `sealsync-server delete-account`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct DeleteAccountArgs {
    /// The account's id, as `accounts` lists it.
    #[arg(value_name = "ACCOUNT_ID")]
    pub account: String,
    /// Do not ask for confirmation (scripts); without it, a terminal is needed.
    #[arg(long)]
    pub yes: bool,
}

/// Arguments of `sealsync-server registration`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct RegistrationArgs {
    /// open, closed, or unset (the flag applies again); none: show the state.
    #[arg(value_enum)]
    pub change: Option<registration::RegistrationChange>,
}

/// What an operator command can fail with; every message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The backup file is already there.
    #[error("{0} already exists; refusing to overwrite it: choose a new file name")]
    BackupExists(PathBuf),
    /// Backing up a Postgres database is pg_dump's job.
    #[error(
        "backup writes a copy of the embedded SQLite database only; for Postgres use \
         `pg_dump --format=custom --file FILE DATABASE` and `pg_restore` (docs/self-hosting.md, \"Backups and restore\")"
    )]
    PostgresBackup,
    /// A file operation failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The SQLite database named does not exist.
    #[error("the SQLite database {0} does not exist")]
    MissingDatabase(String),
    /// The freshly written backup failed SQLite's integrity check.
    #[error("the backup failed SQLite's integrity check ({0}); it was not kept")]
    Corrupt(String),
    /// `copy` was given the wrong kinds of database.
    #[error("copy moves an embedded SQLite database into Postgres: --from must be sqlite://FILE and --to postgres://…")]
    CopyDirection,
    /// The target database already holds data.
    #[error("the target database is not empty (table {table} has {rows} rows); copy needs a fresh database")]
    TargetNotEmpty {
        /// The first table found with rows.
        table: String,
        /// How many.
        rows: i64,
    },
    /// The two schemas do not match (a table or column missing on one side).
    #[error("the schemas do not match: {0}")]
    SchemaMismatch(String),
    /// A value could not be carried over as is.
    #[error("table {table}, column {column}: {why}")]
    Value {
        /// Table.
        table: String,
        /// Column.
        column: String,
        /// What is wrong with it.
        why: String,
    },
    /// After the copy, the two databases disagree on a table's row count.
    #[error("after the copy, table {table} has {source_rows} rows in SQLite but {target_rows} in Postgres")]
    CountMismatch {
        /// Table.
        table: String,
        /// Rows in the source.
        source_rows: i64,
        /// Rows in the target.
        target_rows: i64,
    },
    /// Not an account id.
    #[error("{0:?} is not an account id (a UUID, as `sealsync-server accounts` lists it)")]
    BadAccountId(String),
    /// No account has that id.
    #[error("there is no account {0}")]
    NoSuchAccount(String),
    /// The operator did not confirm a deletion.
    #[error("{0}")]
    NotConfirmed(&'static str),
    /// The database is not at this binary's schema.
    #[error(
        "the database schema is at version {applied} but this binary expects {expected}: run `sealsync-server \
         migrate` with the binary that matches the running server first (`sealsync-server schema` shows both)"
    )]
    SchemaNotCurrent {
        /// Applied (`none`: never migrated).
        applied: String,
        /// Expected.
        expected: i64,
    },
    /// The store failed.
    #[error("{0}")]
    Store(#[from] crate::store::StoreError),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Opens an existing SQLite database (never creating one) for an operator command.
pub(crate) async fn open_existing_sqlite(url: &str) -> Result<sqlx::SqlitePool, AdminError> {
    use std::str::FromStr as _;
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)?
        .create_if_missing(false)
        .busy_timeout(std::time::Duration::from_secs(10));
    if !options.get_filename().exists() {
        return Err(AdminError::MissingDatabase(options.get_filename().display().to_string()));
    }
    Ok(sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect_with(options).await?)
}

/// Runs an operator command that works through the store (`accounts`,
/// `delete-account`, `registration`, `schema`), printing its report;
/// `None` for the other commands. Only `schema` works on a database that is
/// not at this binary's schema; none of them migrates.
pub async fn run_on_store<S: crate::store::Store>(
    store: &S,
    command: &crate::config::Command,
    registration_flag: crate::app::Registration,
) -> Option<Result<(), AdminError>> {
    use crate::config::Command;
    let result = async {
        let report = match command {
            Command::Schema => schema::schema(store).await?,
            Command::Accounts(args) => {
                schema::require_current(store).await?;
                accounts::list(store, args.json).await?
            }
            Command::DeleteAccount(args) => {
                schema::require_current(store).await?;
                let gone = accounts::delete(store, &args.account, args.yes).await?;
                format!("account {} deleted ({} devices, {} envelopes)", gone.id, gone.devices, gone.envelopes)
            }
            Command::Registration(args) => {
                schema::require_current(store).await?;
                registration::registration(store, args.change, registration_flag).await?
            }
            _ => return Ok(None),
        };
        println!("{}", report.trim_end());
        Ok(Some(()))
    };
    result.await.transpose()
}
