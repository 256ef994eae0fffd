//! Files private to the user: the data directory and everything the journal
//! keeps in it (`journal.db` with SQLite's `-wal`, `-shm` and `-journal`
//! files, `keys.json` and its temporary files). threat-model.md §2.4 says
//! what this protects and what it does not.
//!
//! On Unix, following the idea of OpenSSH's `StrictModes`:
//!
//! - the process umask is set to 077 ([`restrict_umask`]), so every file the
//!   journal, SQLite or anything else in the process creates is private from
//!   its first byte;
//! - the data directory must belong to the user and be writable by no one
//!   else (otherwise others could plant, swap or remove files in it); one the
//!   journal creates is made 0700;
//! - a file already there that the journal would use must be a regular file
//!   (not a link) that belongs to the user and that no one else may read or
//!   write; `journal.db` itself, when it is the user's, is repaired to 0600
//!   instead (older versions left it 0644 for a moment at creation);
//! - secrets are written to a fresh file of an unpredictable name created
//!   exclusively (`O_EXCL`, mode 0600), synced, renamed into place, and the
//!   directory synced ([`write_atomically`]), and read through a descriptor
//!   opened without following links and checked as above ([`open_private`]).
//!
//! Elsewhere these are no-ops: the platform's per-user directories are
//! already private.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use crate::error::ClientError;

/// What to do with an existing file that others may read or write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Loose {
    /// Refuse it (it may have been planted, or opened by others already).
    Refuse,
    /// Make it 0600 if it is the user's own (the journal itself).
    Repair,
}

/// Sets the process umask to 077 (and leaves it so): every file created
/// from now on, by this process, is readable and writable by the user alone.
/// `Journal::open` calls it, and the `sealsync` CLI calls it first thing.
pub fn restrict_umask() {
    #[cfg(unix)]
    rustix::process::umask(rustix::fs::Mode::RWXG | rustix::fs::Mode::RWXO);
}

fn insecure(path: &Path, problem: impl Into<String>) -> ClientError {
    ClientError::InsecurePermissions { path: path.display().to_string(), problem: problem.into() }
}

/// Creates the data directory (0700), or checks an existing one: it must be
/// the user's and writable by no one else.
pub(crate) fn prepare_dir(dir: &Path) -> Result<(), ClientError> {
    if !dir.exists() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(ClientError::io(format!("cannot create {}", dir.display())))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(ClientError::io(format!("cannot restrict {}", dir.display())))?;
        }
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(dir).map_err(ClientError::io(format!("cannot read {}", dir.display())))?;
        if !meta.is_dir() {
            return Err(insecure(dir, "is not a directory"));
        }
        if meta.uid() != rustix::process::geteuid().as_raw() {
            return Err(insecure(dir, format!("belongs to another user (uid {})", meta.uid())));
        }
        if meta.mode() & 0o022 != 0 {
            return Err(insecure(
                dir,
                format!(
                    "can be written by other users (mode {:o}), who could plant or swap files in it; \
                     run `chmod go-w` on it, or use another --data-dir",
                    meta.mode() & 0o7777
                ),
            ));
        }
    }
    Ok(())
}

/// Checks a file the journal would use, if it exists: a regular file (not a
/// link), the user's, that no one else may read or write.
pub(crate) fn check_file(path: &Path, loose: Loose) -> Result<(), ClientError> {
    #[cfg(unix)]
    {
        let meta = match std::fs::symlink_metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(ClientError::io(format!("cannot read {}", path.display()))(e)),
        };
        check_metadata(path, &meta, loose)?;
    }
    #[cfg(not(unix))]
    let _ = (path, loose);
    Ok(())
}

#[cfg(unix)]
fn check_metadata(path: &Path, meta: &std::fs::Metadata, loose: Loose) -> Result<(), ClientError> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    if !meta.file_type().is_file() {
        return Err(insecure(path, "is not a regular file (a link, or something else in its place)"));
    }
    if meta.uid() != rustix::process::geteuid().as_raw() {
        return Err(insecure(path, format!("belongs to another user (uid {}): inspect and remove it", meta.uid())));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        if loose == Loose::Repair {
            return std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(ClientError::io(format!("cannot restrict {}", path.display())));
        }
        return Err(insecure(
            path,
            format!(
                "can be read or written by other users (mode {mode:o}); it was not created by this journal, \
                 or others may hold it open: inspect and remove it"
            ),
        ));
    }
    Ok(())
}

/// Opens a private file for reading without following a link, and checks
/// the opened file itself as [`check_file`] does; `None` if there is none.
pub(crate) fn open_private(path: &Path) -> Result<Option<File>, ClientError> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    let file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        // ELOOP: a link in the file's place.
        #[cfg(unix)]
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => {
            return Err(insecure(path, "is a link, not a regular file"));
        }
        Err(e) => return Err(ClientError::io(format!("cannot read {}", path.display()))(e)),
    };
    #[cfg(unix)]
    {
        let meta = file.metadata().map_err(ClientError::io(format!("cannot read {}", path.display())))?;
        check_metadata(path, &meta, Loose::Refuse)?;
    }
    Ok(Some(file))
}

/// Opens an existing private file for writing in place, without following
/// a link; `None` if there is none.
pub(crate) fn open_private_for_writing(path: &Path) -> Result<Option<File>, ClientError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    match options.open(path) {
        Ok(file) => Ok(Some(file)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        #[cfg(unix)]
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => Ok(None),
        Err(e) => Err(ClientError::io(format!("cannot open {}", path.display()))(e)),
    }
}

/// Replaces `dir/name` with `bytes`, atomically and privately: a fresh file
/// of an unpredictable name, created exclusively with mode 0600 (so nothing
/// planted under a known name receives a byte), written and synced, renamed
/// over `name`, and the directory synced so the rename survives a crash.
pub(crate) fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), ClientError> {
    let target = dir.join(name);
    let failed = |what: &str| ClientError::io(format!("cannot {what} {}", target.display()));
    let mut file = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(failed("create a temporary file for"))?;
    file.write_all(bytes).and_then(|()| file.as_file().sync_all()).map_err(failed("write"))?;
    file.persist(&target).map_err(|e| failed("move into place")(e.error))?;
    sync_dir(dir)
}

/// Syncs a directory, so a file created, renamed or removed in it stays so
/// after a crash (a no-op where directories cannot be opened).
pub(crate) fn sync_dir(dir: &Path) -> Result<(), ClientError> {
    #[cfg(unix)]
    File::open(dir).and_then(|d| d.sync_all()).map_err(ClientError::io(format!("cannot sync {}", dir.display())))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}
