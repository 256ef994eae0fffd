//! The key file: the account's data keys (the keyring) and this device's
//! token, kept in the data directory, readable by the user alone (mode 0600
//! on Unix from its first byte), written atomically through a fresh
//! temporary file, and read only if it is a regular file of the user's that
//! no one else may read ([`crate::private`]). It never holds the passphrase,
//! anything derived from it, or the recovery key: a stolen device yields data
//! keys, never a way to unwrap a future one. threat-model.md says what that
//! does and does not protect.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sealsync_crypto::{DataKey, KeyId};
use sealsync_envelope::{AccountId, DeviceId};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::ClientError;
use crate::keyring::Keyring;
use crate::private;

/// What sync needs that must never go to the server in the clear.
pub struct Keys {
    /// The account.
    pub account_id: AccountId,
    /// This device.
    pub device_id: DeviceId,
    /// The device's bearer token.
    pub token: Zeroizing<String>,
    /// The account's data keys.
    pub keyring: Keyring,
    /// What this device last learned of the account's keys (for `sync status`).
    pub status: KeyStatus,
}

/// What `sync status` says about the keys, as last learned from the server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyStatus {
    /// Unix ms at which the current key was made, if known.
    #[serde(default)]
    pub key_created_at: Option<u64>,
    /// Whether the account has a recovery key, if known.
    #[serde(default)]
    pub recovery_key: Option<bool>,
    /// Whether another device rotated the key and this one must unlock.
    #[serde(default)]
    pub needs_unlock: bool,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("account_id", &self.account_id)
            .field("device_id", &self.device_id)
            .field("keyring", &self.keyring)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
struct OnDisk {
    account_id: AccountId,
    device_id: DeviceId,
    token: String,
    /// Hex of the current key's id.
    current_key_id: String,
    /// Hex of every data key.
    data_keys: Vec<String>,
    #[serde(flatten)]
    status: KeyStatus,
}

const FILE_NAME: &str = "keys.json";

fn path(dir: &Path) -> PathBuf {
    dir.join(FILE_NAME)
}

/// Refuses a key file others could have planted or read (see [`load`]).
pub(crate) fn check(dir: &Path) -> Result<(), ClientError> {
    private::check_file(&path(dir), private::Loose::Refuse)
}

/// Writes the key file: a fresh temporary file, created exclusively with
/// mode 0600, synced, renamed into place, the directory synced.
pub fn save(dir: &Path, keys: &Keys) -> Result<(), ClientError> {
    let on_disk = OnDisk {
        account_id: keys.account_id,
        device_id: keys.device_id,
        token: keys.token.to_string(),
        current_key_id: hex::encode(keys.keyring.current_id().0),
        data_keys: keys.keyring.keys().map(|k| hex::encode(k.expose_secret())).collect(),
        status: keys.status.clone(),
    };
    let json = Zeroizing::new(serde_json::to_vec_pretty(&on_disk).expect("key file serializes"));
    let OnDisk { token, data_keys, .. } = on_disk;
    drop(Zeroizing::new(token));
    data_keys.into_iter().for_each(|k| drop(Zeroizing::new(k)));
    private::write_atomically(dir, FILE_NAME, &json)
}

/// Reads the key file, if there is one: refused unless it is a regular file
/// (not a link) of the user's that no one else may read or write.
pub fn load(dir: &Path) -> Result<Option<Keys>, ClientError> {
    let path = path(dir);
    let Some(mut file) = private::open_private(&path)? else { return Ok(None) };
    let mut bytes = Zeroizing::new(Vec::new());
    file.read_to_end(&mut bytes).map_err(ClientError::io(format!("cannot read {}", path.display())))?;
    let corrupt = || ClientError::Io {
        what: format!("{} is corrupt", path.display()),
        source: std::io::Error::from(std::io::ErrorKind::InvalidData),
    };
    let on_disk: OnDisk = serde_json::from_slice(&bytes).map_err(|_| corrupt())?;
    let mut data_keys = Vec::with_capacity(on_disk.data_keys.len());
    for text in &on_disk.data_keys {
        let raw = Zeroizing::new(hex::decode(text).map_err(|_| corrupt())?);
        data_keys.push(DataKey::try_from_slice(&raw).map_err(|_| corrupt())?);
    }
    let current = KeyId(hex::decode(&on_disk.current_key_id).ok().and_then(|b| b.try_into().ok()).ok_or_else(corrupt)?);
    let keys = Keys {
        account_id: on_disk.account_id,
        device_id: on_disk.device_id,
        token: Zeroizing::new(on_disk.token),
        keyring: Keyring::from_keys(current, data_keys).ok_or_else(corrupt)?,
        status: on_disk.status,
    };
    on_disk.data_keys.into_iter().for_each(|k| drop(Zeroizing::new(k)));
    Ok(Some(keys))
}

/// Overwrites and deletes the key file.
pub fn remove(dir: &Path) -> Result<(), ClientError> {
    let path = path(dir);
    // Overwrite in place (no truncation, so the same blocks are rewritten),
    // then delete. On copy-on-write or journaling file systems old blocks may
    // survive anyway: threat-model.md recommends full-disk encryption. A link
    // in the key file's place is not followed: only the link goes.
    if let Ok(Some(mut file)) = private::open_private_for_writing(&path)
        && let Ok(meta) = file.metadata()
    {
        let _ = file.write_all(&vec![0u8; meta.len() as usize]).and_then(|()| file.sync_all());
    }
    match std::fs::remove_file(&path) {
        Ok(()) => private::sync_dir(dir),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(ClientError::io(format!("cannot delete {}", path.display()))(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Keys {
        let (old, new) = (DataKey::generate().unwrap(), DataKey::generate().unwrap());
        let mut keyring = Keyring::new(old);
        keyring.rotate_to(new);
        Keys {
            account_id: AccountId::random(),
            device_id: DeviceId::random(),
            token: Zeroizing::new("ab".repeat(32)),
            keyring,
            status: KeyStatus { key_created_at: Some(5), recovery_key: Some(true), needs_unlock: false },
        }
    }

    /// Someone who could write to the directory once planted the temporary
    /// file's old name, world-writable, and holds it open: it must receive
    /// nothing, and the key file must still be the user's alone.
    #[cfg(unix)]
    #[test]
    fn a_planted_temporary_file_receives_nothing() {
        use std::io::Read;
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let planted = dir.path().join("keys.json.tmp");
        let mut held = std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(&planted).unwrap();
        std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o666)).unwrap();
        let keys = keys();
        save(dir.path(), &keys).unwrap();
        let mut leaked = Vec::new();
        held.read_to_end(&mut leaked).unwrap();
        assert!(leaked.is_empty(), "the planted file received {} bytes", leaked.len());
        let mode = std::fs::metadata(dir.path().join("keys.json")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(*load(dir.path()).unwrap().unwrap().token, *keys.token);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 2, "no temporary file is left behind: {names:?}");
    }

    /// A key file others can read, or a link in its place, is refused, not used.
    #[cfg(unix)]
    #[test]
    fn a_key_file_others_can_reach_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        save(dir.path(), &keys()).unwrap();
        let path = dir.path().join("keys.json");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(load(dir.path()), Err(ClientError::InsecurePermissions { .. })));

        let elsewhere = dir.path().join("elsewhere.json");
        std::fs::rename(&path, &elsewhere).unwrap();
        std::fs::set_permissions(&elsewhere, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
        assert!(matches!(load(dir.path()), Err(ClientError::InsecurePermissions { .. })));
        remove(dir.path()).unwrap();
        assert!(std::fs::read(&elsewhere).unwrap().iter().any(|&b| b != 0), "the link's target was not overwritten");
    }

    #[test]
    fn round_trip_private_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let keys = keys();
        save(dir.path(), &keys).unwrap();
        let loaded = load(dir.path()).unwrap().unwrap();
        assert_eq!((loaded.account_id, loaded.device_id), (keys.account_id, keys.device_id));
        assert_eq!(loaded.keyring.current(), keys.keyring.current());
        assert_eq!(loaded.keyring.keys().count(), 2);
        assert_eq!(loaded.status, keys.status);
        assert_eq!(*loaded.token, *keys.token);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("keys.json")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(!format!("{loaded:?}").contains(&*keys.token));
        remove(dir.path()).unwrap();
        assert!(load(dir.path()).unwrap().is_none());
    }
}
