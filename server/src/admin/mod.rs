//! Operator commands that work on the database directly, with the server
//! stopped or running beside them: `backup` (an online, consistent copy of
//! the embedded SQLite database) and `copy` (moving every row from SQLite to
//! Postgres, cursors included, so devices continue without noticing). Each
//! lives in its own module; neither knows HTTP.

pub mod backup;
pub mod copy;

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
