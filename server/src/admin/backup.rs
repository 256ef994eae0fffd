//! `sealsync-server backup --to FILE`: an online, consistent copy of the
//! embedded SQLite database, taken with `VACUUM INTO` while the server keeps
//! serving (it reads one snapshot; writers are not blocked in WAL mode).
//!
//! The copy is written beside the target under a temporary name that only
//! the owner may read (it holds auth-key and token hashes), checked with
//! `PRAGMA integrity_check`, flushed to disk, and only then linked to the
//! name asked for, so a backup file that exists is a whole one. An existing
//! file is never overwritten.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use sqlx::SqlitePool;

use super::{AdminError, open_existing_sqlite};
use crate::config::DatabaseUrl;

/// What a backup wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    /// The backup file.
    pub file: PathBuf,
    /// Accounts in it.
    pub accounts: i64,
    /// Envelopes in it.
    pub envelopes: i64,
    /// Its size.
    pub bytes: u64,
}

/// Backs up the database `url` names to `to`.
pub async fn backup(url: &DatabaseUrl, to: &Path) -> Result<BackupReport, AdminError> {
    let DatabaseUrl::Sqlite(url) = url else { return Err(AdminError::PostgresBackup) };
    if to.exists() {
        return Err(AdminError::BackupExists(to.to_owned()));
    }
    let pool = open_existing_sqlite(url).await?;
    let partial = partial_name(to);
    let result = write_checked(&pool, &partial, to).await;
    pool.close().await;
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

/// `DIR/.NAME.partial`, beside the target so the final link stays on one file system.
fn partial_name(to: &Path) -> PathBuf {
    let name = to.file_name().map_or_else(|| "backup".into(), |n| n.to_string_lossy().into_owned());
    to.with_file_name(format!(".{name}.partial"))
}

async fn write_checked(pool: &SqlitePool, partial: &Path, to: &Path) -> Result<BackupReport, AdminError> {
    let io = |what: &'static str, path: &Path| {
        let path = path.to_owned();
        move |source| AdminError::Io { what, path, source }
    };
    // An empty file of the owner's alone: VACUUM INTO fills an empty file,
    // keeping its permissions.
    let mut create = OpenOptions::new();
    create.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut create, 0o600);
    drop(create.open(partial).map_err(io("cannot create", partial))?);
    let target = partial.to_str().ok_or_else(|| AdminError::Io {
        what: "cannot use the path",
        path: partial.to_owned(),
        source: std::io::Error::other("it is not valid UTF-8"),
    })?;
    sqlx::query("VACUUM INTO ?1").bind(target).execute(pool).await?;

    let (accounts, envelopes) = check(partial).await?;
    let file = OpenOptions::new().read(true).open(partial).map_err(io("cannot reopen", partial))?;
    file.sync_all().map_err(io("cannot flush", partial))?;
    let bytes = file.metadata().map_err(io("cannot read the size of", partial))?.len();
    drop(file);
    // A hard link never replaces a file that appeared meanwhile.
    std::fs::hard_link(partial, to).map_err(|source| match source.kind() {
        std::io::ErrorKind::AlreadyExists => AdminError::BackupExists(to.to_owned()),
        _ => AdminError::Io { what: "cannot name the backup", path: to.to_owned(), source },
    })?;
    std::fs::remove_file(partial).map_err(io("cannot remove", partial))?;
    if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
        // The new name is durable once its directory is.
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(BackupReport { file: to.to_owned(), accounts, envelopes, bytes })
}

/// Opens the written copy on its own and checks it: SQLite's integrity check,
/// then the counts the report shows.
async fn check(partial: &Path) -> Result<(i64, i64), AdminError> {
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(partial).create_if_missing(false);
    let copy = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect_with(options).await?;
    let verdict: Vec<(String,)> = sqlx::query_as("PRAGMA integrity_check").fetch_all(&copy).await?;
    if verdict.len() != 1 || verdict[0].0 != "ok" {
        copy.close().await;
        let text = verdict.into_iter().map(|(line,)| line).collect::<Vec<_>>().join("; ");
        return Err(AdminError::Corrupt(text));
    }
    let (accounts,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM accounts").fetch_one(&copy).await?;
    let (envelopes,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM envelopes").fetch_one(&copy).await?;
    copy.close().await;
    Ok((accounts, envelopes))
}
