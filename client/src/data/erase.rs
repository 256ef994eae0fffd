//! Erasing the journal from this device: the key file is overwritten and
//! deleted first (it opens whatever of the account a copy of the database
//! holds), then the database and SQLite's side files, each overwritten with
//! zeros before it is unlinked. On copy-on-write or flash storage old blocks
//! may survive an overwrite: threat-model.md §2.4 says so and recommends
//! full-disk encryption.

use std::io::Write;
use std::path::Path;

use crate::error::ClientError;
use crate::{keyfile, private};

/// The files of a journal besides `keys.json`.
const DATABASE_FILES: [&str; 4] = ["journal.db", "journal.db-wal", "journal.db-shm", "journal.db-journal"];

/// Overwrites a file with zeros (in place, same length), then deletes it;
/// a missing file is fine. A symbolic link is removed, not followed.
fn shred(path: &Path) -> Result<(), ClientError> {
    if let Ok(Some(mut file)) = private::open_private_for_writing(path)
        && let Ok(meta) = file.metadata()
    {
        let zeros = vec![0u8; 1 << 16];
        let mut left = meta.len();
        while left > 0 {
            let n = left.min(zeros.len() as u64) as usize;
            if file.write_all(&zeros[..n]).is_err() {
                break;
            }
            left -= n as u64;
        }
        let _ = file.sync_all();
    }
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(ClientError::io(format!("cannot delete {}", path.display()))(e)),
    }
}

/// Deletes the key file, then the database files, of the journal in `dir`
/// (which must be closed). The directory itself stays.
pub(crate) fn erase(dir: &Path) -> Result<(), ClientError> {
    keyfile::remove(dir)?;
    for name in DATABASE_FILES {
        shred(&dir.join(name))?;
    }
    private::sync_dir(dir)
}
