//! The command line (clap). Scripts drive it, so names and shapes are fixed
//! API: see README.md.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use sealsync_client::AssessmentKind;
use uuid::Uuid;

/// sealsync: a private journal on this device, with optional end-to-end-encrypted sync.
#[derive(Debug, Parser)]
#[command(name = "sealsync", version, after_help = crate::cli::exit::HELP)]
pub struct Cli {
    /// Where the journal lives (default: the platform's data directory,
    /// made on first use). A directory given here must exist, unless
    /// --create: a typo must not look like an empty journal.
    #[arg(long, env = "SEALSYNC_DATA_DIR", global = true, help_heading = "Global options")]
    pub data_dir: Option<PathBuf>,
    /// Give up on a server call after this many seconds, retries included.
    #[arg(long, env = "SEALSYNC_TIMEOUT", global = true, default_value_t = 60, help_heading = "Global options",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
    /// Start a new journal in --data-dir if the directory does not exist.
    #[arg(long, global = true, help_heading = "Global options")]
    pub create: bool,
    /// Machine-readable output: JSON on stdout for every command, and
    /// errors as one JSON line on stderr.
    #[arg(long, global = true, help_heading = "Global options")]
    pub json: bool,
    /// A PEM file of certificate authorities to trust for the sync server,
    /// besides the system's (a self-hosted server with a private CA).
    /// Certificates are always verified.
    #[arg(long, env = "SEALSYNC_CA_FILE", value_name = "FILE", global = true)]
    pub ca_file: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a new journal (in --data-dir, or the default location).
    Init,
    /// Mood entries.
    #[command(subcommand)]
    Mood(RecordCommand<MoodArgs>),
    /// PHQ-9 and GAD-7 assessments.
    #[command(subcommand)]
    Assessment(RecordCommand<AssessmentArgs>),
    /// Activities.
    #[command(subcommand)]
    Activity(RecordCommand<ActivityArgs>),
    /// Activity schedules.
    #[command(subcommand)]
    Schedule(RecordCommand<ScheduleArgs>),
    /// End-to-end-encrypted sync.
    #[command(subcommand)]
    Sync(SyncCommand),
    /// The sync account's devices.
    #[command(subcommand)]
    Devices(DevicesCommand),
    /// Write every record to a file: JSON or CSV, plain or age-encrypted (docs/EXPORT.md).
    Export(super::data::ExportArgs),
    /// Merge an export into this journal (a newer local change is never overwritten).
    Import(super::data::ImportArgs),
    /// Delete the journal and its keys from this device.
    Erase(super::data::EraseArgs),
}

/// What can be done with records of one kind.
#[derive(Debug, Subcommand)]
pub enum RecordCommand<A: Args> {
    /// Add a record; prints its id. Required: mood --score; assessment
    /// --kind and --answers; activity --name; schedule --activity, --every
    /// and --at.
    Add(#[command(flatten)] A),
    /// List records.
    List {
        /// Include deleted records (content erased).
        #[arg(long)]
        include_deleted: bool,
    },
    /// Show one record.
    Show {
        /// Record id.
        id: Uuid,
    },
    /// Change a record: only the given fields change.
    Edit {
        /// Record id.
        id: Uuid,
        #[command(flatten)]
        fields: A,
    },
    /// Delete a record (final, on every synced device).
    Delete {
        /// Record id.
        id: Uuid,
    },
    /// List the record's conflict log: edits made concurrently on two
    /// devices to the same fields, and the values that lost.
    Conflicts {
        /// Record id.
        id: Uuid,
    },
    /// Make a logged value current again, as a new edit that syncs.
    Restore {
        /// Record id.
        id: Uuid,
        /// The conflict's number, from `conflicts`.
        conflict: i64,
    },
    /// Remove a logged value, keeping the record as it is.
    Dismiss {
        /// Record id.
        id: Uuid,
        /// The conflict's number, from `conflicts`.
        conflict: i64,
    },
}

#[derive(Debug, Clone, Args)]
pub struct MoodArgs {
    /// 1 (worst) to 10 (best).
    #[arg(long)]
    pub score: Option<u8>,
    /// Free text.
    #[arg(long)]
    pub note: Option<String>,
    /// A label; repeat for several (on edit, replaces the tags).
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    /// Remove the note.
    #[arg(long, conflicts_with = "note")]
    pub clear_note: bool,
    /// Remove every tag.
    #[arg(long, conflicts_with = "tags")]
    pub clear_tags: bool,
}

#[derive(Debug, Clone, Args)]
pub struct AssessmentArgs {
    /// Which questionnaire (any case: phq9, PHQ9).
    #[arg(long, value_enum, ignore_case = true)]
    pub kind: Option<AssessmentKind>,
    /// Answers 0-3, comma-separated (9 for PHQ-9, 7 for GAD-7).
    #[arg(long, value_delimiter = ',')]
    pub answers: Option<Vec<u8>>,
}

#[derive(Debug, Clone, Args)]
pub struct ActivityArgs {
    /// What was done.
    #[arg(long)]
    pub name: Option<String>,
    /// A grouping, e.g. social, exercise.
    #[arg(long)]
    pub category: Option<String>,
    /// Duration in minutes.
    #[arg(long)]
    pub minutes: Option<u32>,
    /// Enjoyment, 0-10.
    #[arg(long)]
    pub enjoyment: Option<u8>,
    /// Mastery, 0-10.
    #[arg(long)]
    pub mastery: Option<u8>,
    /// Free text.
    #[arg(long)]
    pub note: Option<String>,
    /// Remove the category.
    #[arg(long, conflicts_with = "category")]
    pub clear_category: bool,
    /// Remove the duration.
    #[arg(long, conflicts_with = "minutes")]
    pub clear_minutes: bool,
    /// Remove the enjoyment rating.
    #[arg(long, conflicts_with = "enjoyment")]
    pub clear_enjoyment: bool,
    /// Remove the mastery rating.
    #[arg(long, conflicts_with = "mastery")]
    pub clear_mastery: bool,
    /// Remove the note.
    #[arg(long, conflicts_with = "note")]
    pub clear_note: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ScheduleArgs {
    /// The activity's id.
    #[arg(long)]
    pub activity: Option<Uuid>,
    /// daily, or weekdays such as mon,wed,fri.
    #[arg(long)]
    pub every: Option<String>,
    /// Local time, H:MM or HH:MM (24-hour).
    #[arg(long)]
    pub at: Option<String>,
    /// IANA time zone (default: this machine's, else UTC).
    #[arg(long)]
    pub tz: Option<String>,
    /// Turn reminders on (the default for a new schedule).
    #[arg(long, conflicts_with = "inactive")]
    pub active: bool,
    /// Turn reminders off.
    #[arg(long)]
    pub inactive: bool,
}

#[derive(Debug, Subcommand)]
pub enum SyncCommand {
    /// Turn sync on: create an account (--new) or join one.
    Enable {
        /// Server URL, e.g. https://sync.example.org.
        #[arg(long)]
        server: String,
        /// Account name.
        #[arg(long)]
        account: String,
        /// Create the account.
        #[arg(long)]
        new: bool,
        /// Read the passphrase from standard input instead of prompting.
        #[arg(long)]
        passphrase_stdin: bool,
        /// Allow plain http:// to another machine (tokens would travel unencrypted).
        #[arg(long)]
        allow_insecure_http: bool,
        /// How this device appears in `devices list`.
        #[arg(long)]
        device_name: Option<String>,
        /// With --new: do not make a recovery key (a forgotten passphrase then loses the account).
        #[arg(long)]
        no_recovery_key: bool,
    },
    /// Push local changes and pull remote ones.
    Now,
    /// Keep syncing in the foreground: at start, soon after local changes
    /// made through this process, every few minutes, and again after the
    /// server comes back; prints each state change until Ctrl-C or until
    /// sync is turned off.
    Watch {
        /// Minutes between periodic syncs.
        #[arg(long, default_value_t = 15.0)]
        every: f64,
    },
    /// Add this device to an account without the passphrase: shows a short
    /// code (and a QR code) to approve on a device that is signed in, and waits.
    Link {
        /// Server URL.
        #[arg(long)]
        server: String,
        /// Allow plain http:// to another machine.
        #[arg(long)]
        allow_insecure_http: bool,
        /// How this device appears in `devices list`.
        #[arg(long)]
        device_name: Option<String>,
    },
    /// Change the passphrase (old, then new): the other devices keep syncing without a prompt.
    Passphrase {
        /// Read the old and the new passphrase from standard input, one line each.
        #[arg(long)]
        passphrase_stdin: bool,
        /// Revoke every other device of the account in the same step.
        #[arg(long)]
        sign_out_others: bool,
    },
    /// Make a new recovery key (asks for the passphrase); the old one stops working.
    RecoveryKey {
        /// Read the passphrase from standard input.
        #[arg(long)]
        passphrase_stdin: bool,
    },
    /// Forgot the passphrase: join with the recovery key and set a new passphrase.
    Recover {
        /// Server URL.
        #[arg(long)]
        server: String,
        /// Account name.
        #[arg(long)]
        account: String,
        /// Read the recovery key, then the new passphrase, from standard input.
        #[arg(long)]
        passphrase_stdin: bool,
        /// Allow plain http:// to another machine.
        #[arg(long)]
        allow_insecure_http: bool,
        /// How this device appears in `devices list`.
        #[arg(long)]
        device_name: Option<String>,
    },
    /// Make a new data key (after a device is lost): nothing written from now on opens with the old keys.
    RotateKey {
        /// Read the passphrase from standard input.
        #[arg(long)]
        passphrase_stdin: bool,
    },
    /// Get the account's new data key with the passphrase, after another device rotated it.
    Unlock {
        /// Read the passphrase from standard input.
        #[arg(long)]
        passphrase_stdin: bool,
    },
    /// Show sync settings, pending changes, quarantined envelopes and logged conflicts.
    Status,
    /// Turn sync off (keeps every record; forgets keys and token).
    Disable,
    /// Delete the sync account and everything the server holds of it, for
    /// every device (asks for the passphrase); then turn sync off here.
    DeleteAccount {
        /// Read the passphrase from standard input.
        #[arg(long)]
        passphrase_stdin: bool,
        /// Delete without asking (for scripts).
        #[arg(long)]
        yes: bool,
    },
    /// Envelopes that were received but not applied.
    #[command(subcommand)]
    Quarantine(QuarantineCommand),
}

/// `sync quarantine`.
#[derive(Debug, Subcommand)]
pub enum QuarantineCommand {
    /// List them: position, reason, and the record and device each claims.
    List,
    /// Merge them again (after a fix such as `sync unlock`); those that still fail stay.
    Retry {
        /// Only the one(s) at this position (`#N` in the list).
        seq: Option<u64>,
    },
    /// Drop them without applying them.
    Clear {
        /// Only the one(s) at this position (`#N` in the list).
        seq: Option<u64>,
    },
}

#[derive(Debug, Subcommand)]
pub enum DevicesCommand {
    /// List the account's devices.
    List {
        /// Leave out revoked devices.
        #[arg(long)]
        hide_revoked: bool,
    },
    /// Add a new device: type the code it shows (`sealsync sync link` there).
    Approve {
        /// The code, e.g. 123456-ABCD-EFGH.
        code: String,
        /// Approve without asking (for scripts; the new device's name is still printed).
        #[arg(long)]
        yes: bool,
    },
    /// Revoke a device: its token stops working at once. Rotating the data key
    /// too (asked on a terminal) keeps it from reading anything written after.
    Revoke {
        /// Device id.
        id: Uuid,
        /// Also rotate the data key (asks for the passphrase).
        #[arg(long, conflicts_with = "no_rotate")]
        rotate: bool,
        /// Do not rotate, and do not ask.
        #[arg(long)]
        no_rotate: bool,
        /// Read the passphrase for --rotate from standard input.
        #[arg(long)]
        passphrase_stdin: bool,
        /// Revoke this very device without asking.
        #[arg(long)]
        yes: bool,
    },
}

/// The environment variable a refused value came from, if it did: clap's
/// message names only the flag, which the user did not type.
pub fn env_source(error: &clap::Error) -> Option<String> {
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
