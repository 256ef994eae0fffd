//! The key file: the account's data key and this device's token, kept in the
//! data directory, readable by the user alone (mode 0600 on Unix), written
//! atomically. threat-model.md says what that does and does not protect.

use std::io::Write;
use std::path::{Path, PathBuf};

use sealsync_crypto::DataKey;
use sealsync_envelope::{AccountId, DeviceId};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::ClientError;

/// What sync needs that must never go to the server in the clear.
pub struct Keys {
    /// The account.
    pub account_id: AccountId,
    /// This device.
    pub device_id: DeviceId,
    /// The device's bearer token.
    pub token: Zeroizing<String>,
    /// The account's data key.
    pub data_key: DataKey,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("account_id", &self.account_id)
            .field("device_id", &self.device_id)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
struct OnDisk {
    account_id: AccountId,
    device_id: DeviceId,
    token: String,
    data_key: String,
}

fn path(dir: &Path) -> PathBuf {
    dir.join("keys.json")
}

/// Writes the key file (to a temporary file first, then renamed into place).
pub fn save(dir: &Path, keys: &Keys) -> Result<(), ClientError> {
    let on_disk = OnDisk {
        account_id: keys.account_id,
        device_id: keys.device_id,
        token: keys.token.to_string(),
        data_key: hex::encode(keys.data_key.expose_secret()),
    };
    let json = Zeroizing::new(serde_json::to_vec_pretty(&on_disk).expect("key file serializes"));
    let OnDisk { token, data_key, .. } = on_disk;
    drop((Zeroizing::new(token), Zeroizing::new(data_key)));
    let tmp = dir.join("keys.json.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp).map_err(ClientError::io(format!("cannot write {}", tmp.display())))?;
    file.write_all(&json).and_then(|()| file.sync_all()).map_err(ClientError::io("cannot write the key file"))?;
    std::fs::rename(&tmp, path(dir)).map_err(ClientError::io("cannot move the key file into place"))
}

/// Reads the key file, if there is one.
pub fn load(dir: &Path) -> Result<Option<Keys>, ClientError> {
    let path = path(dir);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => Zeroizing::new(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(ClientError::io(format!("cannot read {}", path.display()))(e)),
    };
    let corrupt = || ClientError::Io {
        what: format!("{} is corrupt", path.display()),
        source: std::io::Error::from(std::io::ErrorKind::InvalidData),
    };
    let on_disk: OnDisk = serde_json::from_slice(&bytes).map_err(|_| corrupt())?;
    let key = Zeroizing::new(hex::decode(&on_disk.data_key).map_err(|_| corrupt())?);
    let keys = Keys {
        account_id: on_disk.account_id,
        device_id: on_disk.device_id,
        token: Zeroizing::new(on_disk.token),
        data_key: DataKey::try_from_slice(&key).map_err(|_| corrupt())?,
    };
    drop(Zeroizing::new(on_disk.data_key));
    Ok(Some(keys))
}

/// Overwrites and deletes the key file.
pub fn remove(dir: &Path) -> Result<(), ClientError> {
    let path = path(dir);
    // Overwrite in place (no truncation, so the same blocks are rewritten),
    // then delete. On copy-on-write or journaling file systems old blocks may
    // survive anyway: threat-model.md recommends full-disk encryption.
    if let Ok(mut file) = std::fs::OpenOptions::new().write(true).open(&path)
        && let Ok(meta) = file.metadata()
    {
        let _ = file.write_all(&vec![0u8; meta.len() as usize]).and_then(|()| file.sync_all());
    }
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(ClientError::io(format!("cannot delete {}", path.display()))(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_private_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let keys = Keys {
            account_id: AccountId::random(),
            device_id: DeviceId::random(),
            token: Zeroizing::new("ab".repeat(32)),
            data_key: DataKey::generate().unwrap(),
        };
        save(dir.path(), &keys).unwrap();
        let loaded = load(dir.path()).unwrap().unwrap();
        assert_eq!((loaded.account_id, loaded.device_id), (keys.account_id, keys.device_id));
        assert_eq!(loaded.data_key, keys.data_key);
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
