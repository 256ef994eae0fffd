//! The configuration file: `--config FILE` (or `SEALSYNC_CONFIG`), TOML, one
//! top-level key per setting, named exactly as its long flag without the
//! dashes (`max-connections = 16`, `trust-forwarded-for = true`).
//! deploy/sealsync-server.toml lists every key with its default.
//!
//! Precedence: command-line flag > environment variable > file > default. The
//! file fills only the settings that were not given directly (the same test
//! secret_file uses), and its values go through the flags' own parsers, so a
//! range or format is checked in one place whichever way a value arrives.
//! An unknown key, or a value its flag would refuse, stops the server with the
//! key and the file named (never a value: a file may hold a database URL).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::{ArgAction, ArgMatches, CommandFactory, FromArgMatches};

use crate::config::Cli;
use crate::secret_file::given_directly;

/// Why the configuration file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    /// The file could not be read.
    #[error("cannot read the configuration file {path}: {source}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not TOML.
    #[error("the configuration file {path} is not valid TOML: {why}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// Where and what (the parser's message).
        why: String,
    },
    /// A key that is no setting (a typo, or a setting of another version).
    #[error(
        "the configuration file {path} has an unknown key `{key}`: keys are the long flags without their dashes \
         (deploy/sealsync-server.toml lists them all)"
    )]
    UnknownKey {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
    },
    /// A value its flag refuses.
    #[error("the configuration file {path}, key `{key}`: {why}")]
    BadValue {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
        /// What is wrong.
        why: String,
    },
    /// Both ways of giving the database URL.
    #[error("the configuration file {path} sets both `database-url` and `database-url-file`: set only one")]
    BothDatabaseUrls {
        /// The file.
        path: PathBuf,
    },
}

/// Arguments that are not settings a file may hold.
const NOT_SETTINGS: &[&str] = &["config", "help", "version"];

/// The database URL and its file are one setting for precedence: either given
/// directly overrides both in the file.
const DATABASE_URL: [&str; 2] = ["database_url", "database_url_file"];

/// Reads `path` and returns the command line re-parsed with the file's
/// settings beneath `args` (the process's arguments, program name first) and
/// the environment; `matches` are those of `args` alone.
pub fn apply(path: &Path, args: &[OsString], matches: &ArgMatches) -> Result<(Cli, ArgMatches), ConfigFileError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| ConfigFileError::Unreadable { path: path.to_owned(), source })?;
    apply_text(path, &text, args, matches)
}

/// What is wrong and where (line and column), never the line itself:
/// `toml`'s own message quotes the source line, which may hold the
/// database password.
fn syntax_error(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim_end_matches('\n');
    match error.span() {
        Some(span) => {
            let before = text.get(..span.start).unwrap_or_default();
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message.to_owned(),
    }
}

/// [`apply`] on the file's content.
pub fn apply_text(
    path: &Path,
    text: &str,
    args: &[OsString],
    matches: &ArgMatches,
) -> Result<(Cli, ArgMatches), ConfigFileError> {
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| ConfigFileError::Syntax { path: path.to_owned(), why: syntax_error(text, &e) })?;
    let command = Cli::command();
    let known: Vec<&clap::Arg> = command
        .get_arguments()
        .filter(|a| a.get_long().is_some() && !NOT_SETTINGS.contains(&a.get_id().as_str()))
        .collect();
    let bad = |key: &str, why: String| ConfigFileError::BadValue { path: path.to_owned(), key: key.to_owned(), why };

    if DATABASE_URL.iter().all(|id| table.contains_key(&id.replace('_', "-"))) {
        return Err(ConfigFileError::BothDatabaseUrls { path: path.to_owned() });
    }
    let database_url_given = DATABASE_URL.iter().any(|id| given_directly(matches, id));

    let mut from_file: Vec<OsString> = Vec::new();
    for (key, value) in &table {
        let Some(arg) = known.iter().find(|a| a.get_long() == Some(key.as_str())) else {
            return Err(ConfigFileError::UnknownKey { path: path.to_owned(), key: key.clone() });
        };
        let id = arg.get_id().as_str();
        let flag_args: Vec<OsString> = if matches!(arg.get_action(), ArgAction::SetTrue) {
            match value {
                toml::Value::Boolean(true) => vec![format!("--{key}").into()],
                toml::Value::Boolean(false) => vec![],
                _ => return Err(bad(key, "expected true or false".to_owned())),
            }
        } else {
            let text = match value {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                _ => return Err(bad(key, "expected a string or a whole number".to_owned())),
            };
            vec![format!("--{key}={text}").into()]
        };
        // Checked alone, so a refusal is this key's.
        let mut alone = vec![args.first().cloned().unwrap_or_else(|| "sealsync-server".into())];
        alone.extend(flag_args.iter().cloned());
        if let Err(e) = Cli::command().try_get_matches_from(alone) {
            return Err(bad(key, clap_reason(&e)));
        }
        let overridden = if DATABASE_URL.contains(&id) { database_url_given } else { given_directly(matches, id) };
        if !overridden {
            from_file.extend(flag_args);
        }
    }

    // The file's settings go first, as global flags: the typed ones follow
    // and were not among them.
    let mut merged: Vec<OsString> = args.iter().take(1).cloned().collect();
    merged.extend(from_file);
    merged.extend(args.iter().skip(1).cloned());
    let reparse = |e: clap::Error| bad("(all)", clap_reason(&e));
    let matches = Cli::command().try_get_matches_from(merged).map_err(reparse)?;
    let cli = Cli::from_arg_matches(&matches).map_err(reparse)?;
    Ok((cli, matches))
}

/// What clap found wrong, without its `error:` prefix, usage and hints: the
/// parser's own reason when there is one (it never repeats a whole database
/// URL), otherwise clap's first line (it names the flag).
fn clap_reason(error: &clap::Error) -> String {
    if let Some(source) = std::error::Error::source(error) {
        return source.to_string();
    }
    let rendered = error.render().to_string();
    let first = rendered.lines().next().unwrap_or_default();
    first.strip_prefix("error: ").unwrap_or(first).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    const EXAMPLE: &str = include_str!("../../deploy/sealsync-server.toml");

    fn load(text: &str, extra: &[&str]) -> Result<Cli, ConfigFileError> {
        let mut args: Vec<OsString> = vec!["sealsync-server".into()];
        args.extend(extra.iter().map(OsString::from));
        let matches = Cli::command().try_get_matches_from(&args).unwrap();
        apply_text(Path::new("test.toml"), text, &args, &matches).map(|(cli, _)| cli)
    }

    #[test]
    fn the_shipped_example_is_accepted_and_holds_the_defaults() {
        let from_file = load(EXAMPLE, &[]).unwrap();
        let default = Cli::try_parse_from(["sealsync-server"]).unwrap();
        assert_eq!(format!("{:?}", from_file.config), format!("{:?}", default.config));
    }

    #[test]
    fn the_shipped_example_names_every_setting() {
        let command = Cli::command();
        for arg in command.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            if NOT_SETTINGS.contains(&arg.get_id().as_str()) {
                continue;
            }
            assert!(EXAMPLE.lines().any(|l| l.trim_start_matches("# ").starts_with(&format!("{long} = "))), "{long}");
        }
    }

    /// A broken line is named by its number, never shown: it may hold the
    /// database password.
    #[test]
    fn a_syntax_error_names_the_line_but_never_shows_it() {
        for text in [
            "max-connections = 4\ndatabase-url = \"postgres://sealsync:hunter2@db/sealsync\n",
            "database-url = \"postgres://sealsync:hunter2@db/a\"\ndatabase-url = \"postgres://sealsync:hunter2@db/b\"\n",
        ] {
            let error = load(text, &[]).unwrap_err().to_string();
            assert!(!error.contains("hunter2"), "{error}");
            assert!(error.contains("line 2"), "{error}");
        }
    }

    #[test]
    fn file_values_apply_below_the_command_line() {
        let cli = load("auth-burst = 3\nregistration = \"closed\"\ntrust-forwarded-for = true\n", &[]).unwrap();
        assert_eq!(cli.config.auth_burst, 3);
        assert_eq!(cli.config.registration, crate::Registration::Closed);
        assert!(cli.config.trust_forwarded_for);
        let cli = load("auth-burst = 3\n", &["--auth-burst", "5", "migrate"]).unwrap();
        assert_eq!(cli.config.auth_burst, 5);
        assert_eq!(cli.command, Some(crate::config::Command::Migrate));
        let cli = load("auth-burst = 3\n", &["migrate", "--auth-burst=7"]).unwrap();
        assert_eq!(cli.config.auth_burst, 7);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named_with_the_file() {
        let cases = [
            ("max-conections = 4\n", "`max-conections`"),
            ("max_connections = 4\n", "`max_connections`"),
            ("config = \"x.toml\"\n", "`config`"),
            ("auth-burst = 0\n", "`auth-burst`"),
            ("auth-burst = \"many\"\n", "`auth-burst`"),
            ("bind = \"localhost\"\n", "`bind`"),
            ("trust-forwarded-for = \"yes\"\n", "`trust-forwarded-for`"),
            ("request-timeout-secs = 1.5\n", "`request-timeout-secs`"),
            ("database-url = \"mysql://x\"\n", "`database-url`"),
            ("database-url = \"sqlite://a.db\"\ndatabase-url-file = \"/x\"\n", "both"),
            ("bind = \n", "not valid TOML"),
        ];
        for (text, named) in cases {
            let error = load(text, &[]).unwrap_err().to_string();
            assert!(error.contains("test.toml"), "{error}");
            assert!(error.contains(named), "{text}: {error}");
        }
    }

    #[test]
    fn a_refused_database_url_is_not_repeated_beyond_its_scheme() {
        let error = load("database-url = \"mysql://user:secret@db/x\"\n", &[]).unwrap_err().to_string();
        assert!(error.contains("`database-url`"), "{error}");
        assert!(!error.contains("secret"), "{error}");
    }
}
