//! `sealsync`: the journal and its sync from the command line. Every command
//! prints its result on stdout (ids alone, or JSON with `--json`) and any
//! error as one sentence on stderr, with a non-zero exit status.

mod cli;

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use cli::args::{Cli, Command, DevicesCommand, RecordCommand, SyncCommand};
use cli::output;
use cli::records::RecordArgs;
use sealsync_client::{
    Activity, Assessment, ClientError, EnableOptions, Journal, Mood, Passphrase, Progress, RecordType, Schedule,
};
use sealsync_envelope::DeviceId;

fn main() -> ExitCode {
    // Before anything else: every file this process creates is the user's alone.
    sealsync_client::restrict_umask();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sealsync: {error}");
            ExitCode::FAILURE
        }
    }
}

fn data_dir(cli: &Cli) -> Result<PathBuf, ClientError> {
    if let Some(dir) = &cli.data_dir {
        return Ok(dir.clone());
    }
    directories::ProjectDirs::from("", "", "sealsync")
        .map(|dirs| dirs.data_dir().to_owned())
        .ok_or_else(|| ClientError::InvalidServerUrl("no home directory: pass --data-dir".into()))
}

fn run(cli: Cli) -> Result<(), ClientError> {
    let mut journal = Journal::open(&data_dir(&cli)?)?;
    let json = cli.json;
    match cli.command {
        Command::Mood(command) => records::<Mood, _>(&mut journal, command, json),
        Command::Assessment(command) => records::<Assessment, _>(&mut journal, command, json),
        Command::Activity(command) => records::<Activity, _>(&mut journal, command, json),
        Command::Schedule(command) => {
            if let RecordCommand::Add(args) = &command {
                // A schedule must name an activity this journal has.
                let activity = args.build()?.activity_id;
                let found = journal.get::<Activity>(activity)?;
                if found.deleted_at.is_some() {
                    return Err(ClientError::Deleted { kind: Activity::KIND, id: activity.to_string() });
                }
            }
            records::<Schedule, _>(&mut journal, command, json)
        }
        Command::Sync(SyncCommand::Watch { every }) => cli::watch::run(journal, every, json),
        Command::Sync(command) => sync(&mut journal, command, json),
        Command::Devices(command) => devices(&mut journal, command, json),
    }
}

fn records<T: RecordType, A>(journal: &mut Journal, command: RecordCommand<A>, json: bool) -> Result<(), ClientError>
where
    A: clap::Args + RecordArgs<T>,
{
    match command {
        RecordCommand::Add(args) => println!("{}", journal.create(&args.build()?)?),
        RecordCommand::List { include_deleted } => {
            let records = journal.list::<T>(include_deleted)?;
            if json {
                output::json(&records);
            } else {
                records.iter().for_each(|r| println!("{}", output::record_line(r)));
            }
        }
        RecordCommand::Show { id } => {
            let record = journal.get::<T>(id)?;
            if json {
                output::json(&record);
            } else {
                println!("{}", output::record_line(&record));
            }
        }
        RecordCommand::Edit { id, fields } => {
            let current = journal.get::<T>(id)?;
            let current = current.fields.ok_or_else(|| ClientError::Deleted { kind: T::KIND, id: id.to_string() })?;
            if !journal.update(id, &fields.apply(current)?)? {
                eprintln!("nothing changed: {id} already has these values");
            }
        }
        RecordCommand::Delete { id } => journal.delete::<T>(id)?,
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
        RecordCommand::Restore { id, conflict } => journal.restore_conflict::<T>(id, conflict)?,
        RecordCommand::Dismiss { id, conflict } => journal.dismiss_conflict::<T>(id, conflict)?,
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
    let first = zeroize::Zeroizing::new(rpassword::prompt_password(prompt).map_err(io("cannot read the secret"))?);
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
            let bar = (!json && std::io::stderr().is_terminal()).then(|| {
                let bar = indicatif::ProgressBar::new(0);
                bar.set_style(
                    indicatif::ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len}")
                        .expect("a valid template")
                        .progress_chars("=> "),
                );
                bar
            });
            let mut report = |progress: Progress| {
                if let Some(bar) = &bar {
                    match progress {
                        Progress::Pushing { done, total } => {
                            bar.set_message("uploading");
                            bar.set_length(total);
                            bar.set_position(done);
                        }
                        Progress::Pulling { pulled } => {
                            bar.set_message("downloading");
                            bar.set_length(pulled);
                            bar.set_position(pulled);
                        }
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
        }
        SyncCommand::Status => {
            let status = journal.sync_status()?;
            if json {
                output::json(&status);
            } else if let Some(state) = &status.state {
                println!("sync: on, account {} on {}", state.account_name, state.server_url);
                println!("device: {}", state.device_id);
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
                println!("pending changes: {}", status.pending);
                println!("records with logged conflicts: {}", status.conflicts.len());
                for c in &status.conflicts {
                    println!(
                        "  {} {}: {} (sealsync {} conflicts {})",
                        c.kind, c.record_id, c.conflicts, c.kind, c.record_id
                    );
                }
                match status.quarantine_dropped {
                    0 => println!("quarantined envelopes: {}", status.quarantined.len()),
                    dropped => println!(
                        "quarantined envelopes: {} (and {dropped} older ones dropped to keep the list bounded)",
                        status.quarantined.len()
                    ),
                }
                for entry in &status.quarantined {
                    println!(
                        "  #{} {}{}",
                        entry.server_seq,
                        entry.reason,
                        if entry.deferred { " (will retry)" } else { "" }
                    );
                }
            } else {
                println!("sync: off");
            }
        }
        SyncCommand::Disable => {
            runtime().block_on(journal.disable_sync())?;
            if !json {
                println!("sync disabled; every record stays on this device");
            }
        }
    }
    Ok(())
}

fn devices(journal: &mut Journal, command: DevicesCommand, json: bool) -> Result<(), ClientError> {
    match command {
        DevicesCommand::List => {
            let devices = runtime().block_on(journal.devices())?;
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
        DevicesCommand::Revoke { id, rotate, no_rotate, passphrase_stdin } => {
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
                if !json {
                    println!("revoked {id}; new data key {}", info.key_id);
                }
            } else if !json {
                println!("revoked {id}");
            }
        }
    }
    Ok(())
}
