//! The command line (clap). Scripts drive it, so names and shapes are fixed
//! API: see README.md.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use sealsync_client::AssessmentKind;
use uuid::Uuid;

/// sealsync: a private journal on this device, with optional end-to-end-encrypted sync.
#[derive(Debug, Parser)]
#[command(name = "sealsync", version)]
pub struct Cli {
    /// Where the journal lives (default: the platform's data directory).
    #[arg(long, env = "SEALSYNC_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Machine-readable output for listings and status.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
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
}

/// What can be done with records of one kind.
#[derive(Debug, Subcommand)]
pub enum RecordCommand<A: Args> {
    /// Add a record; prints its id.
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
    /// 1 (worst) to 10 (best); required when adding.
    #[arg(long)]
    pub score: Option<u8>,
    /// Free text.
    #[arg(long)]
    pub note: Option<String>,
    /// A label; repeat for several (on edit, replaces the tags).
    #[arg(long = "tag")]
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct AssessmentArgs {
    /// Which questionnaire; required when adding.
    #[arg(long, value_enum)]
    pub kind: Option<AssessmentKind>,
    /// Answers 0-3, comma-separated (9 for PHQ-9, 7 for GAD-7); required when adding.
    #[arg(long, value_delimiter = ',')]
    pub answers: Option<Vec<u8>>,
}

#[derive(Debug, Clone, Args)]
pub struct ActivityArgs {
    /// What was done; required when adding.
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
}

#[derive(Debug, Clone, Args)]
pub struct ScheduleArgs {
    /// The activity's id; required when adding.
    #[arg(long)]
    pub activity: Option<Uuid>,
    /// once, daily, or weekdays such as mon,wed,fri; required when adding.
    #[arg(long)]
    pub every: Option<String>,
    /// Local time HH:MM; required when adding.
    #[arg(long)]
    pub at: Option<String>,
    /// IANA time zone (default: this machine's, else UTC).
    #[arg(long)]
    pub tz: Option<String>,
    /// Whether reminders are on (default true).
    #[arg(long)]
    pub active: Option<bool>,
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
}

#[derive(Debug, Subcommand)]
pub enum DevicesCommand {
    /// List the account's devices.
    List,
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
    },
}
