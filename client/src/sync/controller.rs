//! The sync controller: one per journal, deciding *when* to sync and
//! reporting what sync is doing, for an app or `sealsync sync watch`.
//!
//! It owns the [`Journal`] on a thread of its own (a current-thread Tokio
//! runtime: the journal's SQLite connection is not `Sync`), and everything
//! else reaches the journal through its [`ControllerHandle`]. It syncs
//!
//! - at start, when sync is on;
//! - shortly after a local change (debounced: a burst of edits is one sync);
//! - periodically;
//! - on demand ([`ControllerHandle::sync_now`]);
//!
//! and, while the server is unreachable or rate-limits, backs off
//! exponentially with jitter, waiting at least what the server's
//! `Retry-After` asks. Syncs never overlap: the controller runs one at a
//! time, and [`crate::SyncLock`] keeps other processes' syncs of the same
//! journal out. Each state change goes to the `emit` callback as a
//! [`SyncStateEvent`].

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::error::ClientError;
use crate::{Journal, Progress, SyncSummary};

/// When the controller syncs and how it backs off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControllerConfig {
    /// Quiet time after a local change before syncing it.
    pub debounce: Duration,
    /// Time between periodic syncs; `None`: no periodic sync.
    pub period: Option<Duration>,
    /// First wait after a failed try (doubled each further failure).
    pub first_backoff: Duration,
    /// The longest wait between tries (a server's `Retry-After` may ask more).
    pub max_backoff: Duration,
    /// Wait before trying again when another process is syncing this journal.
    pub busy_retry: Duration,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        Self {
            debounce: Duration::from_secs(2),
            period: Some(Duration::from_secs(15 * 60)),
            first_backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(15 * 60),
            busy_retry: Duration::from_secs(2),
        }
    }
}

/// Which half of a sync is under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum SyncPhase {
    /// Sending local changes.
    Upload,
    /// Receiving other devices' changes.
    Download,
}

/// What sync is doing: each change is reported once, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum SyncStateEvent {
    /// Sync is off.
    Disabled,
    /// On, nothing under way (before the first sync of this run).
    Idle,
    /// A sync is under way.
    Syncing {
        /// Upload or download.
        phase: SyncPhase,
        /// Changes sent, or received, so far.
        done: u64,
        /// How many will be sent (unknown while receiving).
        total: Option<u64>,
    },
    /// The last sync completed.
    Synced {
        /// Unix ms.
        at: u64,
        /// Local changes sent.
        pushed: u64,
        /// Changes received.
        pulled: u64,
    },
    /// The server is unreachable or asked to wait; the next try is at `retry_at`.
    #[serde(rename_all = "camelCase")]
    Offline {
        /// Unix ms of the next try.
        retry_at: u64,
        /// Failed tries in a row.
        attempt: u32,
        /// What went wrong, as a sentence.
        message: String,
    },
    /// Another device rotated the account's key: the passphrase is needed
    /// (`Journal::unlock`) before syncing again.
    NeedsPassphrase,
    /// This device was signed out (revoked): turn sync off, and on again to rejoin.
    Revoked,
    /// A sync failed for another reason; it is tried again at the next
    /// periodic or triggered sync.
    Error {
        /// [`ClientError::code`].
        code: String,
        /// The error, as a sentence.
        message: String,
    },
}

/// A call to run on the controller's thread with the journal.
type Call = Box<dyn for<'a> FnOnce(&'a mut Journal) -> Pin<Box<dyn Future<Output = ()> + 'a>> + Send>;

enum Request {
    Changed,
    SyncNow(oneshot::Sender<Result<SyncSummary, ClientError>>),
    Call(Call),
}

/// Reaches a running [`Controller`]. Cloneable; the controller stops when
/// every handle is dropped (or on [`ControllerHandle::stop`]).
#[derive(Debug, Clone)]
pub struct ControllerHandle {
    requests: mpsc::UnboundedSender<Request>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Request::Changed => "Changed",
            Request::SyncNow(_) => "SyncNow",
            Request::Call(_) => "Call",
        })
    }
}

/// The controller has stopped (its thread ended).
fn stopped() -> ClientError {
    ClientError::Io {
        what: "the sync controller".into(),
        source: std::io::Error::new(std::io::ErrorKind::BrokenPipe, "it has stopped"),
    }
}

impl ControllerHandle {
    /// Tells the controller the journal changed (for edits made through
    /// another [`Journal`] handle; edits made through [`Self::call`] are
    /// noticed without it): it syncs after the debounce time.
    pub fn changed(&self) {
        let _ = self.requests.send(Request::Changed);
    }

    /// Syncs now (after a sync under way, if any) and returns what it did.
    pub async fn sync_now(&self) -> Result<SyncSummary, ClientError> {
        let (reply, answer) = oneshot::channel();
        self.requests.send(Request::SyncNow(reply)).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Runs `f` with the journal on the controller's thread, between syncs,
    /// and returns its answer. Edits it makes are synced after the debounce
    /// time; turning sync on, off or unlocking it is noticed at once.
    pub async fn call<T, F>(&self, f: F) -> Result<T, ClientError>
    where
        T: Send + 'static,
        F: for<'a> FnOnce(&'a mut Journal) -> Pin<Box<dyn Future<Output = T> + 'a>> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let call: Call = Box::new(move |journal| {
            Box::pin(async move {
                let _ = reply.send(f(journal).await);
            })
        });
        self.requests.send(Request::Call(call)).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())
    }

    /// Stops the controller once the request under way, if any, is done.
    pub fn stop(self) {
        drop(self);
    }
}

/// Decides when to sync; see the module documentation.
#[derive(Debug)]
pub struct Controller {
    config: ControllerConfig,
    /// Sync is on and may run by itself (not waiting for the passphrase,
    /// not revoked).
    automatic: bool,
    /// Sync is on.
    enabled: bool,
    /// A local change waits to be synced at this time.
    debounced: Option<Instant>,
    /// The next periodic sync.
    periodic: Option<Instant>,
    /// After a failure, the next try (it overrides the other times).
    retry: Option<Instant>,
    /// Failed tries in a row.
    attempt: u32,
    /// The last state reported.
    state: Option<SyncStateEvent>,
}

impl Controller {
    /// Starts a controller for `journal` on a thread of its own; `emit` is
    /// called there with each state change. The thread ends, dropping the
    /// journal, when every handle is dropped.
    pub fn spawn(
        journal: Journal,
        config: ControllerConfig,
        emit: impl FnMut(&SyncStateEvent) + Send + 'static,
    ) -> Result<(ControllerHandle, std::thread::JoinHandle<()>), ClientError> {
        let (requests, receiver) = mpsc::unbounded_channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(ClientError::io("cannot start the sync controller's runtime"))?;
        let thread = std::thread::Builder::new()
            .name("sealsync-sync".into())
            .spawn(move || runtime.block_on(Controller::new(config).run(journal, receiver, emit)))
            .map_err(ClientError::io("cannot start the sync controller's thread"))?;
        Ok((ControllerHandle { requests }, thread))
    }

    fn new(config: ControllerConfig) -> Self {
        Self {
            config,
            automatic: false,
            enabled: false,
            debounced: None,
            periodic: None,
            retry: None,
            attempt: 0,
            state: None,
        }
    }

    /// When the next sync is due by itself, if any.
    fn next_due(&self) -> Option<Instant> {
        if !self.automatic {
            return None;
        }
        if let Some(retry) = self.retry {
            return Some(retry);
        }
        [self.debounced, self.periodic].into_iter().flatten().min()
    }

    async fn run(
        mut self,
        mut journal: Journal,
        mut requests: mpsc::UnboundedReceiver<Request>,
        mut emit: impl FnMut(&SyncStateEvent),
    ) {
        // At start: when sync is on, the first sync is due now.
        self.refresh(&journal, &mut emit);
        loop {
            let due = self.next_due();
            let wake = async {
                match due {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                request = requests.recv() => match request {
                    None => break,
                    Some(Request::Changed) => self.changed(),
                    Some(Request::SyncNow(reply)) => {
                        let result = self.sync(&mut journal, &mut emit).await;
                        let _ = reply.send(result);
                    }
                    Some(Request::Call(call)) => {
                        let before = journal.local_changes();
                        call(&mut journal).await;
                        if journal.local_changes() != before {
                            self.changed();
                        }
                        self.refresh(&journal, &mut emit);
                    }
                },
                () = wake => {
                    let _ = self.sync(&mut journal, &mut emit).await;
                }
            }
        }
    }

    fn changed(&mut self) {
        self.debounced = Some(Instant::now() + self.config.debounce);
    }

    fn report(&mut self, state: SyncStateEvent, emit: &mut impl FnMut(&SyncStateEvent)) {
        if self.state.as_ref() != Some(&state) {
            emit(&state);
            self.state = Some(state);
        }
    }

    /// Reads whether sync is on and unlocked (after start, or a call that
    /// may have turned it on or off, or unlocked it).
    fn refresh(&mut self, journal: &Journal, emit: &mut impl FnMut(&SyncStateEvent)) {
        let status = journal.sync_enabled();
        let was_enabled = self.enabled;
        match status {
            Ok(None) => {
                self.enabled = false;
                self.automatic = false;
                self.retry = None;
                self.debounced = None;
                self.report(SyncStateEvent::Disabled, emit);
            }
            Ok(Some(needs_unlock)) => {
                self.enabled = true;
                if needs_unlock {
                    self.automatic = false;
                    self.report(SyncStateEvent::NeedsPassphrase, emit);
                } else if !was_enabled || self.state == Some(SyncStateEvent::NeedsPassphrase) {
                    // Just turned on or unlocked: sync at once.
                    self.automatic = true;
                    self.retry = None;
                    self.attempt = 0;
                    self.periodic = Some(Instant::now());
                    self.report(SyncStateEvent::Idle, emit);
                }
            }
            Err(e) => self.report(SyncStateEvent::Error { code: e.code().into(), message: e.to_string() }, emit),
        }
    }

    /// One sync, with its state changes reported and the next times set.
    async fn sync(
        &mut self,
        journal: &mut Journal,
        emit: &mut impl FnMut(&SyncStateEvent),
    ) -> Result<SyncSummary, ClientError> {
        self.debounced = None;
        // The journal reports progress synchronously, inside the sync; it is
        // passed on between the sync's steps, in order.
        let (tx, mut rx) = mpsc::unbounded_channel::<Progress>();
        let mut forward = move |p: Progress| {
            let _ = tx.send(p);
        };
        let result = {
            let sync = journal.sync_now(&mut forward);
            tokio::pin!(sync);
            loop {
                tokio::select! {
                    biased;
                    Some(p) = rx.recv() => self.report(syncing(p), emit),
                    result = &mut sync => break result,
                }
            }
        };
        while let Ok(p) = rx.try_recv() {
            self.report(syncing(p), emit);
        }
        let now = Instant::now();
        self.periodic = self.config.period.map(|period| now + period);
        match &result {
            Ok(summary) => {
                self.retry = None;
                self.attempt = 0;
                self.automatic = true;
                let at = sealsync_envelope::UnixMillis::now().0;
                self.report(SyncStateEvent::Synced { at, pushed: summary.pushed, pulled: summary.pulled }, emit);
            }
            Err(ClientError::SyncBusy) => {
                // Another process is syncing this journal: try again soon,
                // quietly (its sync does the work).
                self.retry = Some(now + self.config.busy_retry);
            }
            Err(e) if transient(e) => {
                self.attempt += 1;
                let wait = self.backoff(e.retry_after());
                self.retry = Some(now + wait);
                let retry_at = sealsync_envelope::UnixMillis::now().0 + wait.as_millis() as u64;
                self.report(SyncStateEvent::Offline { retry_at, attempt: self.attempt, message: e.to_string() }, emit);
            }
            Err(ClientError::SyncDisabled) => self.refresh(journal, emit),
            Err(ClientError::NeedsUnlock) => {
                self.automatic = false;
                self.report(SyncStateEvent::NeedsPassphrase, emit);
            }
            Err(ClientError::SignedOut) => {
                self.automatic = false;
                self.report(SyncStateEvent::Revoked, emit);
            }
            Err(e) => {
                self.retry = None;
                self.report(SyncStateEvent::Error { code: e.code().into(), message: e.to_string() }, emit);
            }
        }
        result
    }

    /// Exponential backoff with "equal jitter" (half fixed, half random, so
    /// devices that went offline together do not retry together), at least
    /// what the server asked.
    fn backoff(&self, server_asked: Option<Duration>) -> Duration {
        let exponent = self.attempt.saturating_sub(1).min(20);
        let full = self.config.first_backoff.saturating_mul(1 << exponent).min(self.config.max_backoff);
        let half = full / 2;
        let random = getrandom::u64().unwrap_or(0) % (half.as_millis() as u64 + 1);
        let jittered = half + Duration::from_millis(random);
        server_asked.map_or(jittered, |asked| jittered.max(asked))
    }
}

/// The server could not be reached, is overloaded, or rate-limits: worth
/// another try later, by itself.
fn transient(error: &ClientError) -> bool {
    match error {
        ClientError::Network(_) => true,
        ClientError::Server { status, .. } => *status == 429 || *status == 408 || *status >= 500,
        _ => false,
    }
}

fn syncing(progress: Progress) -> SyncStateEvent {
    match progress {
        Progress::Pushing { done, total } => {
            SyncStateEvent::Syncing { phase: SyncPhase::Upload, done, total: Some(total) }
        }
        Progress::Pulling { pulled } => {
            SyncStateEvent::Syncing { phase: SyncPhase::Download, done: pulled, total: None }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn controller(attempt: u32) -> Controller {
        let mut c = Controller::new(ControllerConfig {
            first_backoff: Duration::from_secs(4),
            max_backoff: Duration::from_secs(60),
            ..ControllerConfig::default()
        });
        c.attempt = attempt;
        c
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        for (attempt, full) in [(1, 4), (2, 8), (3, 16), (4, 32), (5, 60), (30, 60)] {
            for _ in 0..20 {
                let wait = controller(attempt).backoff(None);
                let full = Duration::from_secs(full);
                assert!(wait >= full / 2 && wait <= full, "attempt {attempt}: {wait:?} outside {full:?}/2..={full:?}");
            }
        }
        let waits: std::collections::HashSet<Duration> = (0..20).map(|_| controller(3).backoff(None)).collect();
        assert!(waits.len() > 1, "the wait is jittered");
    }

    #[test]
    fn a_server_asking_for_longer_is_honoured() {
        let asked = Duration::from_secs(600);
        assert_eq!(controller(1).backoff(Some(asked)), asked);
        assert!(controller(1).backoff(Some(Duration::from_millis(1))) >= Duration::from_secs(2));
    }

    #[test]
    fn states_serialize_as_the_front_end_expects() {
        let json = |s: &SyncStateEvent| serde_json::to_value(s).unwrap();
        assert_eq!(json(&SyncStateEvent::NeedsPassphrase), serde_json::json!({ "state": "needsPassphrase" }));
        assert_eq!(
            json(&SyncStateEvent::Offline { retry_at: 5, attempt: 2, message: "down".into() }),
            serde_json::json!({ "state": "offline", "retryAt": 5, "attempt": 2, "message": "down" })
        );
        assert_eq!(
            json(&SyncStateEvent::Syncing { phase: SyncPhase::Upload, done: 1, total: Some(3) }),
            serde_json::json!({ "state": "syncing", "phase": "upload", "done": 1, "total": 3 })
        );
    }
}
