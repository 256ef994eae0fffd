//! A test-only fault hook: in debug builds, `SEALSYNC_FAULT=after:STEP`
//! makes the process abort (as `kill -9` would end it: no destructors, no
//! flush, no rollback but SQLite's own) right after that step of a sync, the
//! first time it is reached. The steps are the sync's transaction
//! boundaries, so a test can end the CLI at each of them and check that the
//! next sync converges with nothing lost or duplicated (`tests/faults.rs`).
//! Release builds compile it to nothing.

/// The steps, in the order a sync reaches them.
pub const STEPS: [&str; 6] = [
    // A push's answer arrived; nothing of it is acknowledged yet.
    "pushed",
    // The outbox entries it acknowledged are gone (and the next batch sealed).
    "acknowledged",
    // A pull page arrived and opened; nothing of it is merged yet.
    "pulled",
    // The page is merged and the cursor advanced (one transaction).
    "merged",
    // After a restore was found: every record queued again, cursor at 0.
    "healing",
    // The sync's end was recorded.
    "finished",
];

/// Aborts here if `SEALSYNC_FAULT` names this step (debug builds only).
pub(crate) fn after(step: &'static str) {
    #[cfg(debug_assertions)]
    if std::env::var("SEALSYNC_FAULT").ok().and_then(|v| v.strip_prefix("after:").map(str::to_owned)).as_deref()
        == Some(step)
    {
        eprintln!("SEALSYNC_FAULT: aborting after {step}");
        std::process::abort();
    }
    #[cfg(not(debug_assertions))]
    let _ = step;
}
