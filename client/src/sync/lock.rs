//! The sync lock: at most one sync of a journal at a time, across threads
//! and processes (the CLI, a background controller, an app), as an advisory
//! `flock` on `sync.lock` in the data directory.
//!
//! The lock belongs to the open file, so it is released when the holder
//! drops it or its process ends (even killed): a crash never leaves a
//! journal locked. Two handles in one process lock each other out too.

use std::fs::File;
use std::path::Path;

use crate::error::ClientError;

/// The lock file's name in the data directory.
pub const LOCK_FILE: &str = "sync.lock";

/// A held sync lock; released on drop.
#[derive(Debug)]
pub struct SyncLock {
    // Held for its lock; closing it releases the lock.
    _file: File,
}

impl SyncLock {
    /// Takes the lock without waiting: [`ClientError::SyncBusy`] if another
    /// sync of this journal (in this process or another) holds it.
    pub fn try_acquire(dir: &Path) -> Result<Self, ClientError> {
        let path = dir.join(LOCK_FILE);
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(ClientError::io(format!("cannot open {}", path.display())))?;
        lock(&file)?;
        Ok(Self { _file: file })
    }
}

#[cfg(unix)]
fn lock(file: &File) -> Result<(), ClientError> {
    use rustix::fs::{FlockOperation, flock};
    match flock(file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(()),
        Err(rustix::io::Errno::WOULDBLOCK) => Err(ClientError::SyncBusy),
        Err(e) => Err(ClientError::Io { what: "cannot lock the sync lock file".into(), source: e.into() }),
    }
}

/// Elsewhere there is no cross-process lock yet: a controller still never
/// overlaps its own syncs, but two processes could.
#[cfg(not(unix))]
fn lock(_file: &File) -> Result<(), ClientError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let first = SyncLock::try_acquire(dir.path()).unwrap();
        assert!(matches!(SyncLock::try_acquire(dir.path()), Err(ClientError::SyncBusy)));
        drop(first);
        SyncLock::try_acquire(dir.path()).expect("free again once dropped");
    }
}
