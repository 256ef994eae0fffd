//! `sealsync sync watch`: the background sync controller in the foreground,
//! printing each state change (a JSON object per line with `--json`) until
//! interrupted (Ctrl-C) or sync is turned off.

use std::time::Duration;

use sealsync_client::{ClientError, Controller, ControllerConfig, Journal, SyncPhase, SyncStateEvent};

use super::output;

/// Runs the controller until Ctrl-C (exit 0) or until sync is off.
pub fn run(journal: Journal, every_minutes: f64, json: bool) -> Result<(), ClientError> {
    if !(every_minutes.is_finite() && every_minutes > 0.0) {
        return Err(
            sealsync_client::domain::ValidationError::new("--every", "must be a positive number of minutes").into()
        );
    }
    let config = ControllerConfig { period: Some(Duration::from_secs_f64(every_minutes * 60.0)), ..Default::default() };
    let (events, mut received) = tokio::sync::mpsc::unbounded_channel();
    let (handle, _thread) = Controller::spawn(journal, config, move |state: &SyncStateEvent| {
        if json {
            output::json_line(state);
        } else {
            println!("{}", line(state));
        }
        let _ = events.send(state.clone());
    })?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a Tokio runtime starts");
    runtime.block_on(async {
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => break,
                state = received.recv() => match state {
                    Some(SyncStateEvent::Disabled) | None => break,
                    Some(_) => {}
                },
            }
        }
    });
    // A sync under way is cut off with the process: what it committed stays,
    // the rest is sent again next time.
    drop(handle);
    Ok(())
}

/// A state as a line for people.
fn line(state: &SyncStateEvent) -> String {
    let now = output::time(sealsync_envelope::UnixMillis::now().0);
    let what = match state {
        SyncStateEvent::Disabled => "sync is off".to_owned(),
        SyncStateEvent::Idle => "waiting".to_owned(),
        SyncStateEvent::Syncing { phase: SyncPhase::Upload, done, total } => {
            format!("sending changes: {done} of {}", total.unwrap_or(*done))
        }
        SyncStateEvent::Syncing { phase: SyncPhase::Download, done, .. } => format!("receiving changes: {done}"),
        SyncStateEvent::Synced { pushed, pulled, .. } => format!("synced: {pushed} sent, {pulled} received"),
        SyncStateEvent::Offline { retry_at, attempt, message } => {
            format!("offline (try {attempt}): {message}; next try at {}", output::time(*retry_at))
        }
        SyncStateEvent::NeedsPassphrase => {
            "the account's key changed on another device: run `sealsync sync unlock`".to_owned()
        }
        SyncStateEvent::Revoked => "this device was signed out: run `sealsync sync disable`".to_owned(),
        SyncStateEvent::Error { message, .. } => format!("sync failed: {message}"),
    };
    format!("{now}  {what}")
}
