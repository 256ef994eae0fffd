//! The account's data keys as this device holds them (PROTOCOL.md §3.3):
//! the current key, which seals, and every older one, which only opens.
//! The keyring comes whole from the server (sealed under the current key)
//! at login, unlock, recovery and linking, and this device extends it when
//! it rotates.

use std::collections::BTreeMap;

use sealsync_crypto::{DataKey, KeyId, open_older_key, seal_older_key};
use sealsync_envelope::dto::KeyringEntry;
use sealsync_envelope::{AccountId, Envelope, RecordPayload, RecordSealer};

use crate::error::ClientError;

/// Every data key this device holds, by id, and which one is current.
pub struct Keyring {
    current: KeyId,
    keys: BTreeMap<KeyId, DataKey>,
}

/// Keys are secret: `Debug` names their ids only.
impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring").field("current", &self.current).field("keys", &self.keys.keys()).finish()
    }
}

impl Keyring {
    /// A keyring of one key, current.
    pub fn new(current: DataKey) -> Self {
        Self { current: current.key_id(), keys: BTreeMap::from([(current.key_id(), current)]) }
    }

    /// The current key and the older keys the server keeps sealed under it:
    /// every entry must open under `current`, as the key its id names.
    pub fn open(current: DataKey, entries: &[KeyringEntry], account_id: AccountId) -> Result<Self, ClientError> {
        let mut keyring = Self::new(current);
        for entry in entries {
            let sealed = sealsync_crypto::SealedKey::from_bytes(&entry.sealed_key)?;
            let key = open_older_key(keyring.current(), &sealed, KeyId(entry.key_id), account_id.as_bytes())?;
            keyring.keys.insert(key.key_id(), key);
        }
        Ok(keyring)
    }

    /// Adds keys (from a file or another keyring); `current` names the one that seals.
    pub fn from_keys(current: KeyId, keys: Vec<DataKey>) -> Option<Self> {
        let keys: BTreeMap<KeyId, DataKey> = keys.into_iter().map(|k| (k.key_id(), k)).collect();
        keys.contains_key(&current).then_some(Self { current, keys })
    }

    /// The key that seals.
    pub fn current(&self) -> &DataKey {
        &self.keys[&self.current]
    }

    /// Its id.
    pub fn current_id(&self) -> KeyId {
        self.current
    }

    /// Whether this device holds the key `id` names.
    pub fn holds(&self, id: KeyId) -> bool {
        self.keys.contains_key(&id)
    }

    /// Every key, in id order.
    pub fn keys(&self) -> impl Iterator<Item = &DataKey> {
        self.keys.values()
    }

    /// Takes `newer`'s current key as current and adds every key of it,
    /// keeping the keys only this device held (a server that leaves some out
    /// of the keyring it sends cannot make this device forget them).
    pub fn merge_newer(&mut self, newer: Keyring) {
        self.current = newer.current;
        self.keys.extend(newer.keys);
    }

    /// Makes `key` current, keeping every other key as an older one.
    pub fn rotate_to(&mut self, key: DataKey) {
        self.current = key.key_id();
        self.keys.insert(key.key_id(), key);
    }

    /// Every key but `new` sealed under `new`: the keyring of a rotation to it.
    pub fn sealed_under(&self, new: &DataKey, account_id: AccountId) -> Result<Vec<KeyringEntry>, ClientError> {
        self.keys
            .values()
            .filter(|k| k.key_id() != new.key_id())
            .map(|k| {
                let sealed = seal_older_key(new, k, account_id.as_bytes())?;
                Ok(KeyringEntry { key_id: k.key_id().0, sealed_key: sealed.as_bytes().to_vec() })
            })
            .collect()
    }

    /// A sealer per key, for a sync.
    pub(crate) fn sealers(&self, account_id: AccountId) -> Sealers {
        Sealers {
            current: self.current,
            by_id: self.keys.iter().map(|(&id, key)| (id, RecordSealer::new(account_id, key))).collect(),
        }
    }
}

/// Seals with the current key; opens with whichever key an envelope names.
pub(crate) struct Sealers {
    current: KeyId,
    by_id: BTreeMap<KeyId, RecordSealer>,
}

impl Sealers {
    /// The current key's sealer.
    pub(crate) fn current(&self) -> &RecordSealer {
        &self.by_id[&self.current]
    }

    /// Opens an envelope under the key it names, if this device holds it.
    pub(crate) fn open(&self, envelope: Envelope) -> Result<RecordPayload, sealsync_envelope::Error> {
        match self.by_id.get(&envelope.header.key_id) {
            Some(sealer) => sealer.open(envelope),
            None => Err(sealsync_envelope::Error::UnknownKeyId(envelope.header.key_id)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotation_seals_every_older_key_under_the_new_one() {
        let account = AccountId::random();
        let (first, second) = (DataKey::generate().unwrap(), DataKey::generate().unwrap());
        let mut keyring = Keyring::new(DataKey::from_bytes(*first.expose_secret()));
        let entries = keyring.sealed_under(&second, account).unwrap();
        keyring.rotate_to(DataKey::from_bytes(*second.expose_secret()));
        assert_eq!(keyring.current_id(), second.key_id());
        let opened = Keyring::open(second, &entries, account).unwrap();
        assert!(opened.holds(first.key_id()) && opened.holds(keyring.current_id()));
        // The older key alone opens none of it.
        assert!(Keyring::open(first, &entries, account).is_err());
    }
}
