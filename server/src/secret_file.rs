//! Secrets read from files (the `_FILE` convention of container images and
//! systemd's `LoadCredential=`): `SEALSYNC_DATABASE_URL_FILE=/run/secrets/db`
//! (or `--database-url-file`) keeps a database password out of the
//! environment, out of `ps` and out of `systemctl show`.
//!
//! A setting given both directly and by file is refused rather than one
//! silently winning; an unreadable or empty file is refused with its path
//! named (never its content).

use std::path::{Path, PathBuf};

use clap::ArgMatches;
use clap::parser::ValueSource;

use crate::config::{Config, DatabaseUrl};

/// Why a secret file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SecretFileError {
    /// The setting was given directly too.
    #[error("{setting} is set both directly and by {file_setting}: set only one")]
    BothSet {
        /// The direct setting, e.g. `--database-url / SEALSYNC_DATABASE_URL`.
        setting: &'static str,
        /// The file setting.
        file_setting: &'static str,
    },
    /// The file could not be read.
    #[error("cannot read {file_setting} {path}: {source}")]
    Unreadable {
        /// The file setting.
        file_setting: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is empty (or only whitespace).
    #[error("{file_setting} {path} is empty")]
    Empty {
        /// The file setting.
        file_setting: &'static str,
        /// The file.
        path: PathBuf,
    },
    /// The file's content is not a valid value of the setting.
    #[error("{file_setting} {path}: {why}")]
    Invalid {
        /// The file setting.
        file_setting: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong (never the content).
        why: String,
    },
}

/// Reads a secret: the file's content without its trailing newline.
pub fn read(file_setting: &'static str, path: &Path) -> Result<String, SecretFileError> {
    let content = std::fs::read_to_string(path).map_err(|source| SecretFileError::Unreadable {
        file_setting,
        path: path.to_owned(),
        source,
    })?;
    let value = content.trim_end_matches(['\n', '\r']).to_owned();
    if value.trim().is_empty() {
        return Err(SecretFileError::Empty { file_setting, path: path.to_owned() });
    }
    Ok(value)
}

/// Applies `database_url_file` to `config`; `matches` tells whether the
/// database URL was given directly (on the command line or in the environment)
/// rather than left at its default.
pub fn apply(config: &mut Config, matches: &ArgMatches) -> Result<(), SecretFileError> {
    const FILE_SETTING: &str = "--database-url-file / SEALSYNC_DATABASE_URL_FILE";
    let Some(path) = config.database_url_file.clone() else { return Ok(()) };
    if given_directly(matches, "database_url") {
        return Err(SecretFileError::BothSet {
            setting: "--database-url / SEALSYNC_DATABASE_URL",
            file_setting: FILE_SETTING,
        });
    }
    let url = read(FILE_SETTING, &path)?;
    config.database_url = url.parse::<DatabaseUrl>().map_err(|why| SecretFileError::Invalid {
        file_setting: FILE_SETTING,
        path: path.clone(),
        why,
    })?;
    Ok(())
}

/// Whether the argument `id` came from the command line or the environment,
/// in the top-level matches or a subcommand's (global arguments land in the
/// subcommand's when given after it).
pub(crate) fn given_directly(matches: &ArgMatches, id: &str) -> bool {
    let direct =
        |m: &ArgMatches| matches!(m.value_source(id), Some(ValueSource::CommandLine | ValueSource::EnvVariable));
    direct(matches) || matches.subcommand().is_some_and(|(_, sub)| direct(sub))
}
