//! `sealsync`: the journal and its sync from the command line. Every command
//! prints its result on stdout (ids alone, or JSON with `--json`) and any
//! error as one sentence on stderr, with a non-zero exit status.

mod cli;

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use cli::args::{Cli, Command, DevicesCommand, QuarantineCommand, RecordCommand, SyncCommand};
use cli::output;
use cli::records::RecordArgs;
use sealsync_client::{
    Activity, Assessment, ClientError, EnableOptions, Journal, Mood, Passphrase, Progress, RecordType, Schedule,
};
use sealsync_envelope::DeviceId;

fn main() -> ExitCode {
    // Before anything else: every file this process creates is the user's alone.
    sealsync_client::restrict_umask();
    end_quietly_on_a_closed_stdout();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version print and succeed; a wrong command line is a usage error.
            let _ = e.print();
            if let Some(variable) = cli::args::env_source(&e) {
                eprintln!("(that value came from the environment variable {variable})");
            }
            return cli::exit::code(if e.use_stderr() { cli::exit::USAGE } else { cli::exit::OK });
        }
    };
    let json = cli.json;
    match run(cli) {
        Ok(()) => cli::exit::code(cli::exit::OK),
        Err(error) => {
            let status = cli::exit::status(&error);
            if json {
                // One line: `{"error": {"code", "message"}, "exit_status": N}`.
                let value = serde_json::json!({ "error": error, "exit_status": status });
                eprintln!("{value}");
            } else {
                eprintln!("sealsync: {error}");
            }
            cli::exit::code(status)
        }
    }
}

/// The journal's directory. One named by `--data-dir` (or
/// `SEALSYNC_DATA_DIR`) must exist unless `--create` or `init` says to start
/// a journal there; the default location is made on first use.
/// A reader that stops early (`sealsync mood list | head -1`) ends the CLI
/// quietly, as it ends any Unix tool, instead of a panic in `println!`
/// (Rust ignores SIGPIPE by default). Only the terminal's pipe is affected:
/// sockets are written with `MSG_NOSIGNAL` by the standard library and mio,
/// and every write to the journal is committed before anything is printed.
fn end_quietly_on_a_closed_stdout() {
    #[cfg(unix)]
    // SAFETY: first thing in `main`, before any other thread exists, and
    // SIG_DFL is a valid disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn data_dir(cli: &Cli) -> Result<PathBuf, ClientError> {
    if let Some(dir) = &cli.data_dir {
        if !dir.exists() && !cli.create && !matches!(cli.command, Command::Init) {
            return Err(ClientError::NoJournal(dir.display().to_string()));
        }
        return Ok(dir.clone());
    }
    directories::ProjectDirs::from("", "", "sealsync")
        .map(|dirs| dirs.data_dir().to_owned())
        .ok_or_else(|| ClientError::InvalidServerUrl("no home directory: pass --data-dir".into()))
}

fn run(cli: Cli) -> Result<(), ClientError> {
    let dir = data_dir(&cli)?;
    let mut journal = Journal::open(&dir)?;
    if let Some(ca_file) = &cli.ca_file {
        journal.trust_ca_file(ca_file)?;
    }
    journal.set_network(sealsync_client::api::Network {
        deadline: std::time::Duration::from_secs(cli.timeout),
        on_retry: Some(std::sync::Arc::new(|retry: &sealsync_client::api::Retrying| {
            eprintln!(
                "sealsync: {}; retrying in {} s (attempt {} of {})",
                retry.error, retry.in_secs, retry.attempt, retry.attempts
            );
        })),
    });
    let json = cli.json;
    match cli.command {
        Command::Init => {
            if json {
                output::json(&serde_json::json!({ "data_dir": dir }));
            } else {
                println!("journal ready in {}", dir.display());
            }
            Ok(())
        }
        Command::Mood(command) => records::<Mood, _>(&mut journal, command, json),
        Command::Activity(command) => records::<Activity, _>(&mut journal, command, json),
        Command::Schedule(command) => {
            // A schedule must name a live activity of this journal, on add
            // and on edit alike (PROTOCOL.md §4.8).
            let activity = match &command {
                RecordCommand::Add(args) => Some(args.build()?.activity_id),
                RecordCommand::Edit { fields, .. } => fields.activity,
                _ => None,
            };
            if let Some(activity) = activity {
                let found = journal.get::<Activity>(activity)?;
                if found.deleted_at.is_some() {
                    return Err(ClientError::Deleted { kind: Activity::KIND, id: activity.to_string() });
                }
            }
            records::<Schedule, _>(&mut journal, command, json)
        }
        Command::Assessment(command) => {
            let shown = match &command {
                RecordCommand::Show { id } => vec![*id],
                RecordCommand::List { .. } => journal.list::<Assessment>(false)?.iter().map(|r| r.id).collect(),
                _ => Vec::new(),
            };
            let added = matches!(command, RecordCommand::Add(_));
            let before: Vec<uuid::Uuid> = journal.list::<Assessment>(false)?.iter().map(|r| r.id).collect();
            records::<Assessment, _>(&mut journal, command, json)?;
            let flagged = |id: &uuid::Uuid| {
                journal.get::<Assessment>(*id).ok().and_then(|r| r.fields).is_some_and(|a| a.item9_flag)
            };
            let new: Vec<uuid::Uuid> = match added {
                true => {
                    journal.list::<Assessment>(false)?.iter().map(|r| r.id).filter(|id| !before.contains(id)).collect()
                }
                false => Vec::new(),
            };
            if !json && (shown.iter().any(flagged) || new.iter().any(flagged)) {
                // After the id on add (stderr: scripts read the id alone); after the listing otherwise.
                if added {
                    eprintln!("{}", output::SAFETY_NOTE);
                } else {
                    println!("\n{}", output::SAFETY_NOTE);
                }
            }
            Ok(())
        }
        Command::Sync(SyncCommand::Watch { every }) => cli::watch::run(journal, every, json),
        Command::Sync(command) => sync(&mut journal, command, json),
        Command::Devices(command) => devices(&mut journal, command, json),
        Command::Export(args) => cli::data::export(&journal, args, json),
        Command::Import(args) => cli::data::import(&mut journal, args, json),
        Command::Erase(args) => cli::data::erase(journal, &dir, args),
    }
}

fn records<T: RecordType, A>(journal: &mut Journal, command: RecordCommand<A>, json: bool) -> Result<(), ClientError>
where
    A: clap::Args + RecordArgs<T>,
{
    match command {
        RecordCommand::Add(args) => {
            let id = journal.create(&args.build()?)?;
            if json {
                output::json(&serde_json::json!({ "id": id, "kind": T::KIND }));
            } else {
                println!("{id}");
            }
        }
        RecordCommand::List { include_deleted } => {
            let records = journal.list::<T>(include_deleted)?;
            if json {
                output::json(&records);
            } else if records.is_empty() {
                println!(
                    "no {} records{}",
                    T::KIND,
                    if include_deleted { "" } else { " (deleted ones: --include-deleted)" }
                );
            } else {
                records.iter().for_each(|r| println!("{}", output::record_line(r)));
            }
        }
        RecordCommand::Show { id } => {
            let record = journal.get::<T>(id)?;
            if json {
                output::json(&record);
            } else {
                println!("{}", output::record_text(&record, true));
            }
        }
        RecordCommand::Edit { id, fields } => {
            let current = journal.get::<T>(id)?;
            let current = current.fields.ok_or_else(|| ClientError::Deleted { kind: T::KIND, id: id.to_string() })?;
            let changed = journal.update(id, &fields.apply(current)?)?;
            if json {
                output::json(&serde_json::json!({ "id": id, "kind": T::KIND, "changed": changed }));
            } else if !changed {
                eprintln!("nothing changed: {id} already has these values");
            }
        }
        RecordCommand::Delete { id } => {
            journal.delete::<T>(id)?;
            if json {
                output::json(&serde_json::json!({ "id": id, "kind": T::KIND, "deleted": true }));
            }
        }
        RecordCommand::Conflicts { id } => {
            journal.get::<T>(id)?;
            let conflicts = journal.conflicts::<T>(id)?;
            if json {
                output::json(&conflicts);
            } else if conflicts.is_empty() {
                println!("no conflicts");
            } else {
                conflicts.iter().for_each(|c| println!("{}", output::conflict_line(c)));
            }
        }
        RecordCommand::Restore { id, conflict } => {
            journal.restore_conflict::<T>(id, conflict)?;
            if json {
                output::json(&serde_json::json!({ "id": id, "conflict": conflict, "restored": true }));
            }
        }
        RecordCommand::Dismiss { id, conflict } => {
            journal.dismiss_conflict::<T>(id, conflict)?;
            if json {
                output::json(&serde_json::json!({ "id": id, "conflict": conflict, "dismissed": true }));
            }
        }
    }
    Ok(())
}

fn runtime() -> tokio::runtime::Runtime {
    // Two workers: a sync sends one batch while it seals the next.
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a Tokio runtime starts")
}

/// Whole minutes until `expires_at` (Unix ms), at least 1.
fn minutes_left(expires_at: u64) -> u64 {
    (expires_at.saturating_sub(sealsync_envelope::UnixMillis::now().0) / 60_000).max(1)
}

/// `sealsync on HOSTNAME`.
fn default_device_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    format!("sealsync on {}", host.trim()).trim().to_owned()
}

/// Shows a recovery key once, with what to do with it.
fn print_recovery_key(key: &sealsync_client::RecoveryKey) {
    println!();
    println!("Recovery key (shown once; write it down and keep it apart from your devices):");
    println!();
    println!("    {}", key.expose());
    println!();
    println!("With it you can set a new passphrase if you forget yours: `sealsync sync recover`.");
}

/// Asks a yes/no question on the terminal.
fn confirm(question: &str) -> Result<bool, ClientError> {
    eprint!("{question}");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(ClientError::io("cannot read the answer"))?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes"))
}

/// One secret: a line of standard input (scripts give each secret on its own
/// line, in the order the prompts ask), or a prompt without echo, asked
/// twice when it is a new secret (`confirm`).
fn read_line_secret(prompt: &str, from_stdin: bool, confirm: bool) -> Result<zeroize::Zeroizing<String>, ClientError> {
    let io = |what: &str| ClientError::io(what.to_owned());
    if from_stdin {
        let mut line = zeroize::Zeroizing::new(String::new());
        std::io::stdin().lock().read_line(&mut line).map_err(io("cannot read a secret from stdin"))?;
        return Ok(zeroize::Zeroizing::new(line.trim_end_matches(['\n', '\r']).to_owned()));
    }
    let no_terminal = || {
        ClientError::Invalid(sealsync_client::ValidationError::new(
            "passphrase",
            "there is no terminal to ask for it on; pass --passphrase-stdin and give it on standard input",
        ))
    };
    if !std::io::stdin().is_terminal() && std::fs::File::open("/dev/tty").is_err() {
        return Err(no_terminal());
    }
    let first = zeroize::Zeroizing::new(rpassword::prompt_password(prompt).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::Unsupported => no_terminal(),
        _ if e.raw_os_error() == Some(6) => no_terminal(), // ENXIO: no controlling terminal
        _ => io("cannot read the secret")(e),
    })?);
    if confirm {
        let again =
            zeroize::Zeroizing::new(rpassword::prompt_password("Again: ").map_err(io("cannot read the secret"))?);
        if *again != *first {
            return Err(sealsync_client::domain::ValidationError::new("passphrase", "the two entries differ").into());
        }
    }
    Ok(first)
}

/// A passphrase, read as [`read_line_secret`] reads it; empty ones are refused.
fn read_secret(prompt: &str, from_stdin: bool, new: bool) -> Result<Passphrase, ClientError> {
    Ok(Passphrase::new(read_line_secret(prompt, from_stdin, new)?.to_string())?)
}

fn read_passphrase(from_stdin: bool, confirm: bool) -> Result<Passphrase, ClientError> {
    read_secret("Passphrase: ", from_stdin, confirm)
}

fn sync(journal: &mut Journal, command: SyncCommand, json: bool) -> Result<(), ClientError> {
    match command {
        SyncCommand::Watch { .. } => unreachable!("`sync watch` owns the journal; run() hands it over"),
        SyncCommand::Enable {
            server,
            account,
            new,
            passphrase_stdin,
            allow_insecure_http,
            device_name,
            no_recovery_key,
        } => {
            let passphrase = read_passphrase(passphrase_stdin, new)?;
            let device_name = device_name.unwrap_or_else(default_device_name);
            let options = EnableOptions {
                server_url: server,
                account_name: account,
                passphrase,
                create: new,
                allow_insecure_http,
                device_name,
                recovery_key: new && !no_recovery_key,
            };
            let enabled = runtime().block_on(journal.enable_sync(options))?;
            let queued = journal.sync_status()?.pending;
            if json {
                output::json(&enabled);
            } else {
                let state = &enabled.state;
                println!(
                    "sync enabled: account {} on {}, this device {}; {queued} records queued for `sealsync sync now`",
                    state.account_name, state.server_url, state.device_id
                );
                if let Some(key) = &enabled.recovery_key {
                    print_recovery_key(key);
                }
            }
        }
        SyncCommand::Link { server, allow_insecure_http, device_name } => {
            let options = sealsync_client::LinkOptions {
                server_url: server,
                allow_insecure_http,
                device_name: device_name.unwrap_or_else(default_device_name),
            };
            let mut show = |shown: &sealsync_client::ShownCode| {
                if json {
                    // One line, at once: a script reads the code while this waits.
                    output::json_line(shown);
                } else {
                    println!("On a device that is signed in, run:\n\n    sealsync devices approve {}\n", shown.code);
                    if std::io::stdout().is_terminal()
                        && let Ok(qr) = qrcode::QrCode::new(shown.code.as_bytes())
                    {
                        let art = qr
                            .render::<qrcode::render::unicode::Dense1x2>()
                            .dark_color(qrcode::render::unicode::Dense1x2::Light)
                            .light_color(qrcode::render::unicode::Dense1x2::Dark)
                            .build();
                        println!("{art}\n");
                    }
                    println!(
                        "Waiting for the approval (the code works for {} minutes)...",
                        minutes_left(shown.expires_at)
                    );
                }
                let _ = std::io::Write::flush(&mut std::io::stdout());
            };
            let state = runtime().block_on(journal.link(options, &mut show))?;
            if json {
                output::json(&state);
            } else {
                println!(
                    "linked: account {} on {}, this device {}; run `sealsync sync now`",
                    state.account_name, state.server_url, state.device_id
                );
            }
        }
        SyncCommand::Passphrase { passphrase_stdin, sign_out_others } => {
            let old = read_secret("Current passphrase: ", passphrase_stdin, false)?;
            let new = read_secret("New passphrase: ", passphrase_stdin, true)?;
            runtime().block_on(journal.change_passphrase(&old, &new, sign_out_others))?;
            if json {
                output::json(&serde_json::json!({ "changed": true, "signed_out_others": sign_out_others }));
            } else {
                println!(
                    "passphrase changed{}",
                    if sign_out_others {
                        "; every other device is signed out"
                    } else {
                        "; the other devices keep syncing"
                    }
                );
            }
        }
        SyncCommand::RecoveryKey { passphrase_stdin } => {
            let passphrase = read_secret("Passphrase: ", passphrase_stdin, false)?;
            let key = runtime().block_on(journal.new_recovery_key(&passphrase))?;
            if json {
                output::json(&serde_json::json!({ "recovery_key": key }));
            } else {
                println!("the old recovery key no longer works");
                print_recovery_key(&key);
            }
        }
        SyncCommand::Recover { server, account, passphrase_stdin, allow_insecure_http, device_name } => {
            let typed = read_line_secret("Recovery key: ", passphrase_stdin, false)?;
            // Checked here, before anything is sent: a typo costs no request.
            let recovery_key = sealsync_crypto::RecoverySecret::parse(&typed)?;
            let new_passphrase = read_secret("New passphrase: ", passphrase_stdin, true)?;
            let options = sealsync_client::RecoverOptions {
                server_url: server,
                account_name: account,
                recovery_key,
                new_passphrase,
                allow_insecure_http,
                device_name: device_name.unwrap_or_else(default_device_name),
            };
            let state = runtime().block_on(journal.recover(options))?;
            if json {
                output::json(&state);
            } else {
                println!(
                    "recovered: account {} on {}, this device {}; the new passphrase is set, the recovery key still works",
                    state.account_name, state.server_url, state.device_id
                );
            }
        }
        SyncCommand::RotateKey { passphrase_stdin } => {
            let passphrase = read_secret("Passphrase: ", passphrase_stdin, false)?;
            let info = runtime().block_on(journal.rotate_key(&passphrase))?;
            if json {
                output::json(&info);
            } else {
                println!(
                    "new data key {}; other devices get it with `sealsync sync unlock` or by linking",
                    info.key_id
                );
            }
        }
        SyncCommand::Unlock { passphrase_stdin } => {
            let passphrase = read_secret("Passphrase: ", passphrase_stdin, false)?;
            let info = runtime().block_on(journal.unlock(&passphrase))?;
            if json {
                output::json(&info);
            } else {
                println!("unlocked: data key {} ({} keys held)", info.key_id, info.keys_held);
            }
        }
        SyncCommand::Now => {
            // A bar while uploading (the total is known), a spinner with a
            // count while downloading (it is not), nothing for nothing.
            let bar = (!json && std::io::stderr().is_terminal()).then(indicatif::ProgressBar::hidden);
            let uploading = indicatif::ProgressStyle::with_template("{spinner} uploading [{bar:30}] {pos}/{len}")
                .expect("a valid template")
                .progress_chars("=> ");
            let downloading = indicatif::ProgressStyle::with_template("{spinner} downloading: {pos} received")
                .expect("a valid template");
            let mut phase = None;
            let mut report = |progress: Progress| {
                let Some(bar) = &bar else { return };
                match progress {
                    Progress::Pushing { total: 0, .. } => {}
                    Progress::Pushing { done, total } => {
                        if phase != Some("up") {
                            phase = Some("up");
                            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                            bar.set_style(uploading.clone());
                        }
                        bar.set_length(total);
                        bar.set_position(done);
                    }
                    Progress::Pulling { pulled } => {
                        if phase != Some("down") {
                            phase = Some("down");
                            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                            bar.set_style(downloading.clone());
                        }
                        bar.set_position(pulled);
                    }
                }
            };
            let summary = runtime().block_on(journal.sync_now(&mut report))?;
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            if json {
                output::json(&summary);
            } else {
                println!(
                    "pushed {}, pulled {}, applied {}, quarantined {}, conflicts {}{}",
                    summary.pushed,
                    summary.pulled,
                    summary.applied,
                    summary.quarantined,
                    summary.conflicts,
                    if summary.rejected > 0 {
                        format!(", {} refused by the server", summary.rejected)
                    } else {
                        String::new()
                    }
                );
            }
            if !json && summary.deferred > 0 {
                println!(
                    "{} change(s) from another device are stamped more than 24 hours ahead of this device's clock: \
                     kept aside, and applied by a later sync once the clocks agree (check both devices' clocks)",
                    summary.deferred
                );
            }
            if let (false, Some(restored)) = (json, &summary.restored) {
                println!(
                    "the server appears to have been restored from an older backup ({}): re-sent all {} record(s) \
                     of this device and downloaded the account again, so nothing it lost is missing",
                    restored.evidence, restored.resent
                );
            }
            if summary.rejected > 0 {
                let reasons = summary.refused.iter().map(|r| r.reason.as_str()).collect::<Vec<_>>().join("; ");
                return Err(ClientError::Refused { count: summary.rejected, reasons });
            }
        }
        SyncCommand::Status => {
            let status = journal.sync_status()?;
            if json {
                output::json(&status);
            } else if let Some(state) = &status.state {
                println!("sync: on, account {} on {}", state.account_name, state.server_url);
                println!("device: {}", state.device_id);
                if let Some(at) = state.signed_out_at {
                    println!(
                        "this device was signed out by the server at {} (revoked from another device, or the \
                         account was deleted): it no longer syncs. Your records stay here. Run `sealsync sync \
                         disable`, then `sealsync sync enable` or `sealsync sync link` to join again",
                        output::time(at)
                    );
                }
                if let Some(at) = state.compromised_at {
                    println!(
                        "WARNING: since {}, someone else pushes changes under this device's id: its token is \
                         compromised, or a copy of this device is syncing. Its edits stay queued. From another \
                         device run `sealsync devices revoke {}`, then here `sealsync sync disable` and \
                         `sealsync sync enable`",
                        output::time(at),
                        state.device_id
                    );
                }
                println!("last sync: {}", state.last_sync_at.map_or_else(|| "never".to_owned(), output::time));
                if let Some(at) = state.last_partial_at.filter(|&at| at > state.last_sync_at.unwrap_or(0)) {
                    println!(
                        "last attempt: {} stopped part-way (what it uploaded and applied is kept; run `sealsync \
                         sync now` again)",
                        output::time(at)
                    );
                }
                println!("pending changes: {}", status.pending);
                println!("records with logged conflicts: {}", status.conflicts.len());
                for c in &status.conflicts {
                    println!(
                        "  {} {}: {} (sealsync {} conflicts {})",
                        c.kind, c.record_id, c.conflicts, c.kind, c.record_id
                    );
                }
                for refusal in &status.refused {
                    println!("refused by the server in the last sync ({}): {}", refusal.code, refusal.reason);
                }
                match status.quarantine_dropped {
                    0 => println!("quarantined envelopes: {}", status.quarantined.len()),
                    dropped => println!(
                        "quarantined envelopes: {} (and {dropped} older ones dropped to keep the list bounded)",
                        status.quarantined.len()
                    ),
                }
                for entry in &status.quarantined {
                    println!("  {}", output::quarantine_line(entry));
                }
                if !status.quarantined.is_empty() {
                    println!("  (`sealsync sync quarantine retry` after a fix, `... clear` to drop them)");
                }
            } else {
                println!("sync: off");
            }
        }
        SyncCommand::DeleteAccount { passphrase_stdin, yes } => {
            cli::data::delete_account(journal, passphrase_stdin, yes, json)?
        }
        SyncCommand::Quarantine(command) => quarantine(journal, command, json)?,
        SyncCommand::Disable => {
            if !journal.sync_status()?.enabled {
                if json {
                    output::json(&serde_json::json!({ "enabled": false, "changed": false }));
                } else {
                    println!("sync is already off; nothing to do");
                }
                return Ok(());
            }
            runtime().block_on(journal.disable_sync())?;
            if json {
                output::json(&serde_json::json!({ "enabled": false }));
            } else {
                println!("sync disabled; every record stays on this device");
            }
        }
    }
    Ok(())
}

fn quarantine(journal: &mut Journal, command: QuarantineCommand, json: bool) -> Result<(), ClientError> {
    match command {
        QuarantineCommand::List => {
            let entries = journal.quarantine()?;
            if json {
                output::json(&entries);
            } else if entries.is_empty() {
                println!("nothing is quarantined");
            } else {
                entries.iter().for_each(|e| println!("{}", output::quarantine_line(e)));
            }
        }
        QuarantineCommand::Retry { seq } => {
            let summary = journal.retry_quarantine(seq)?;
            if json {
                output::json(&summary);
            } else {
                println!(
                    "retried {}: applied {}, still quarantined {}, deferred {}",
                    summary.pulled, summary.applied, summary.quarantined, summary.deferred
                );
            }
            if summary.quarantined > 0 {
                return Err(ClientError::StillQuarantined(summary.quarantined));
            }
        }
        QuarantineCommand::Clear { seq } => {
            let cleared = journal.clear_quarantine(seq)?;
            if json {
                output::json(&serde_json::json!({ "cleared": cleared }));
            } else {
                println!("cleared {cleared} quarantined envelope(s)");
            }
        }
    }
    Ok(())
}

fn devices(journal: &mut Journal, command: DevicesCommand, json: bool) -> Result<(), ClientError> {
    match command {
        DevicesCommand::List { hide_revoked } => {
            let mut devices = runtime().block_on(journal.devices())?;
            if hide_revoked {
                devices.retain(|d| d.revoked_at.is_none());
            }
            if json {
                output::json(&devices);
            } else {
                for d in devices {
                    println!(
                        "{}  {}  last seen {}{}{}",
                        d.id,
                        d.name.as_deref().unwrap_or("(unnamed)"),
                        output::time(d.last_seen_at),
                        if d.current { "  (this device)" } else { "" },
                        if d.revoked_at.is_some() { "  (revoked)" } else { "" },
                    );
                }
            }
        }
        DevicesCommand::Approve { code, yes } => {
            let interactive = std::io::stdin().is_terminal();
            let mut ask = |name: &str| {
                if yes {
                    return true;
                }
                interactive && confirm(&format!("Add the device {name:?} to this account? [y/N] ")).unwrap_or(false)
            };
            let name = runtime().block_on(journal.approve_device(&code, &mut ask))?;
            if json {
                output::json(&serde_json::json!({ "approved": name }));
            } else {
                println!("approved {name:?}: it now has the account's keys");
            }
        }
        DevicesCommand::Revoke { id, rotate, no_rotate, passphrase_stdin, yes } => {
            let this_device = journal.sync_status()?.state.is_some_and(|s| s.device_id == DeviceId(id));
            if this_device && !yes {
                let warning = "this is this device: revoking it signs it out at once, and it stops syncing \
                               (its records stay here)";
                if !std::io::stdin().is_terminal() {
                    return Err(sealsync_client::ValidationError::new(
                        "device",
                        format!("{warning}; pass --yes to revoke it anyway, or `sealsync sync disable`"),
                    )
                    .into());
                }
                if !confirm(&format!("Warning: {warning}. Revoke it? [y/N] "))? {
                    println!("not revoked");
                    return Ok(());
                }
            }
            runtime().block_on(journal.revoke_device(DeviceId(id)))?;
            let rotate = rotate
                || (!no_rotate
                    && std::io::stdin().is_terminal()
                    && confirm(
                        "Rotate the data key too, so the revoked device cannot read anything written from now on? [y/N] ",
                    )?);
            if rotate {
                let passphrase = read_secret("Passphrase: ", passphrase_stdin, false)?;
                let info = runtime().block_on(journal.rotate_key(&passphrase))?;
                if json {
                    output::json(&serde_json::json!({ "revoked": id, "rotated": true, "key_id": info.key_id }));
                } else {
                    println!("revoked {id}; new data key {}", info.key_id);
                }
            } else if json {
                output::json(&serde_json::json!({ "revoked": id, "rotated": false }));
            } else {
                println!("revoked {id}");
            }
        }
    }
    Ok(())
}
