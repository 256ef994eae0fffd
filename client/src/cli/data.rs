//! `sealsync export`, `import`, `erase` and `sync delete-account`: the
//! user's own copy of the journal, and erasing it (docs/EXPORT.md).
//! Whatever destroys or exposes data asks first on a terminal, and needs
//! `--yes` from a script.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use sealsync_client::data::crypt::{Encrypted, encrypted};
use sealsync_client::{
    ClientError, DataError, Decryption, Encryption, ExportFormat, ExportOptions, ImportReport, Journal,
};

use super::output;

/// How `export --encrypt` encrypts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EncryptWith {
    /// A passphrase, asked twice (or one line of stdin with --passphrase-stdin).
    Passphrase,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The file to write (replaced if it exists).
    #[arg(long)]
    pub out: PathBuf,
    /// json: one versioned document; csv: a zip of one CSV file per kind.
    #[arg(long, value_enum, default_value = "json")]
    pub format: ExportFormat,
    /// Include deleted records (ids and times; their content is gone).
    #[arg(long)]
    pub include_deleted: bool,
    /// Encrypt with age, with a passphrase (`age -d FILE` opens it).
    #[arg(long, value_enum, conflicts_with = "encrypt_to")]
    pub encrypt: Option<EncryptWith>,
    /// Encrypt with age to this X25519 recipient (age1…); repeat for several.
    #[arg(long = "encrypt-to", value_name = "RECIPIENT")]
    pub encrypt_to: Vec<String>,
    /// Read the passphrase for --encrypt from standard input.
    #[arg(long)]
    pub passphrase_stdin: bool,
    /// Write a plaintext export without asking (for scripts).
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// An export: JSON or CSV (zip), plain or age-encrypted.
    pub file: PathBuf,
    /// For a file encrypted to a recipient: the age identity file (AGE-SECRET-KEY-1…).
    #[arg(long)]
    pub identity: Option<PathBuf>,
    /// For a passphrase-encrypted file: read the passphrase from standard input.
    #[arg(long)]
    pub passphrase_stdin: bool,
}

#[derive(Debug, Args)]
pub struct EraseArgs {
    /// Erase without asking (for scripts).
    #[arg(long)]
    pub yes: bool,
}

/// Whether to go on: `--yes`, or a terminal to ask on (a script without
/// `--yes` is refused before anything is said or done).
fn may_ask(yes: bool, what: &'static str) -> Result<(), ClientError> {
    if yes || std::io::stdin().is_terminal() {
        return Ok(());
    }
    Err(DataError::ConfirmationRequired(what).into())
}

/// Asks on a terminal; from a script, only `--yes` goes on.
fn confirmed(question: &str, yes: bool, what: &'static str) -> Result<bool, ClientError> {
    may_ask(yes, what)?;
    if yes {
        return Ok(true);
    }
    crate::confirm(question)
}

fn age_secret(secret: zeroize::Zeroizing<String>) -> sealsync_client::data::SecretString {
    sealsync_client::data::SecretString::from(secret.to_string())
}

pub fn export(journal: &Journal, args: ExportArgs, json: bool) -> Result<(), ClientError> {
    let encryption = match (args.encrypt, args.encrypt_to.is_empty()) {
        (Some(EncryptWith::Passphrase), _) => Some(Encryption::Passphrase(age_secret(crate::read_line_secret(
            "Passphrase for the export: ",
            args.passphrase_stdin,
            true,
        )?))),
        (None, false) => Some(Encryption::Recipients(args.encrypt_to.clone())),
        (None, true) => None,
    };
    let plaintext = encryption.is_none();
    if plaintext {
        may_ask(args.yes, "a plaintext export")?;
    }
    let options = ExportOptions { format: args.format, include_deleted: args.include_deleted, encryption };
    let (bytes, summary) = journal.export(&options)?;
    let records = summary.moods + summary.assessments + summary.activities + summary.schedules;
    if plaintext {
        let question = format!(
            "This writes {records} records ({} moods, {} assessments, {} activities, {} schedules) UNENCRYPTED to {}: \
             anyone who can read that file reads your journal. Use --encrypt passphrase or --encrypt-to to encrypt \
             it. Write it? [y/N] ",
            summary.moods,
            summary.assessments,
            summary.activities,
            summary.schedules,
            args.out.display()
        );
        if !confirmed(&question, args.yes, "a plaintext export")? {
            eprintln!("nothing written");
            return Ok(());
        }
    }
    sealsync_client::data::export::write_file(&args.out, &bytes)?;
    if json {
        output::json(&summary);
    } else {
        println!(
            "wrote {records} records{} to {} ({}{})",
            if summary.deleted > 0 { format!(" ({} deleted)", summary.deleted) } else { String::new() },
            args.out.display(),
            match summary.format {
                ExportFormat::Json => "JSON",
                ExportFormat::Csv => "CSV in a zip",
            },
            if summary.encrypted { ", age-encrypted" } else { ", not encrypted" }
        );
    }
    Ok(())
}

pub fn import(journal: &mut Journal, args: ImportArgs, json: bool) -> Result<(), ClientError> {
    let bytes = zeroize::Zeroizing::new(
        std::fs::read(&args.file).map_err(ClientError::io(format!("cannot read {}", args.file.display())))?,
    );
    let key = match (encrypted(&bytes), &args.identity) {
        (Some(Encrypted::Identity), Some(path)) => {
            let text = zeroize::Zeroizing::new(
                std::fs::read_to_string(path).map_err(ClientError::io(format!("cannot read {}", path.display())))?,
            );
            Decryption::Identities(age_secret(text))
        }
        (Some(Encrypted::Passphrase), _) => {
            Decryption::Passphrase(age_secret(crate::read_line_secret("Passphrase: ", args.passphrase_stdin, false)?))
        }
        _ => Decryption::None,
    };
    let report = journal.import(&bytes, &key)?;
    if json {
        output::json(&report);
    } else {
        print_report(&report);
    }
    Ok(())
}

fn print_report(report: &ImportReport) {
    println!(
        "added {}, updated {}, unchanged {}, refused {}{}",
        report.added,
        report.updated,
        report.unchanged,
        report.refused.len(),
        if report.conflicts > 0 {
            format!(", {} values kept in the conflict log", report.conflicts)
        } else {
            String::new()
        }
    );
    for refused in &report.refused {
        let id = refused.id.map_or_else(|| "(no id)".to_owned(), |id| id.to_string());
        eprintln!("refused {} {id}: {}", refused.kind, refused.reason);
    }
}

pub fn erase(journal: Journal, dir: &std::path::Path, args: EraseArgs) -> Result<(), ClientError> {
    may_ask(args.yes, "erasing the journal")?;
    let status = journal.sync_status()?;
    if let Some(state) = &status.state {
        eprintln!(
            "sync is on (account {} on {}): erasing here leaves the account's copy on the server and on your other \
             devices. `sealsync sync delete-account` erases it there.",
            state.account_name, state.server_url
        );
    }
    let question =
        format!("Erase the journal in {} and its keys from this device? This cannot be undone. [y/N] ", dir.display());
    if !confirmed(&question, args.yes, "erasing the journal")? {
        eprintln!("nothing erased");
        return Ok(());
    }
    journal.erase()?;
    println!("erased the journal and its keys in {}", dir.display());
    Ok(())
}

pub fn delete_account(journal: &mut Journal, passphrase_stdin: bool, yes: bool, json: bool) -> Result<(), ClientError> {
    let state = journal.sync_status()?.state.ok_or(ClientError::SyncDisabled)?;
    may_ask(yes, "deleting the account")?;
    let question = format!(
        "Delete the account {} on {} and everything stored there, for every device? The records on this device \
         stay. [y/N] ",
        state.account_name, state.server_url
    );
    if !confirmed(&question, yes, "deleting the account")? {
        eprintln!("nothing deleted");
        return Ok(());
    }
    let passphrase = crate::read_passphrase(passphrase_stdin, false)?;
    crate::runtime().block_on(journal.delete_account(&passphrase))?;
    if json {
        output::json(&serde_json::json!({ "deleted": state.account_name, "server": state.server_url }));
    } else {
        println!(
            "deleted the account {} on {}; sync is off here, and every record stays on this device",
            state.account_name, state.server_url
        );
    }
    Ok(())
}
