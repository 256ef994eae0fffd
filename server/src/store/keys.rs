//! The account's keys as the server keeps them (PROTOCOL.md §3.2–§3.5): the
//! current data key wrapped under the passphrase, the keyring of older keys
//! sealed under the current one, and the recovery key's public part. The
//! server changes any of it only in one transaction, and only when the
//! caller's proof (checked by the route) still matches what is stored.
//!
//! `account_keys` holds one row per key of the account: the current key's
//! row holds its passphrase-wrapped form, every other row its keyring entry.

use sealsync_envelope::KeyId;

use super::NewDevice;

/// Everything about an account's keys a device may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyState {
    /// The current key.
    pub current_key_id: KeyId,
    /// Unix ms at which the current key was stored.
    pub created_at: i64,
    /// The current key, wrapped under the passphrase.
    pub wrapped_key: Vec<u8>,
    /// Older keys, each sealed under the current one, oldest first.
    pub keyring: Vec<(KeyId, Vec<u8>)>,
    /// The recovery key, if any.
    pub recovery: Option<RecoveryState>,
}

/// The recovery key as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryState {
    /// Hash of the recovery auth key.
    pub auth_hash: [u8; 32],
    /// Its X25519 public key.
    pub public_key: [u8; 32],
    /// The public key's MAC under the current data key.
    pub public_key_mac: [u8; 32],
    /// The current data key wrapped to the public key.
    pub wrapped_key: Vec<u8>,
    /// The key the anchor names, and the anchor (PROTOCOL.md §3.4).
    pub anchor: (KeyId, [u8; 32]),
    /// Unix ms at which it was set.
    pub created_at: i64,
}

/// A new passphrase: what a passphrase change or a recovery stores.
#[derive(Debug, Clone)]
pub struct NewPassphrase {
    /// The new salt seed.
    pub salt_seed: [u8; 32],
    /// Hash of the new auth key.
    pub auth_key_hash: [u8; 32],
    /// The current key (the one wrapped).
    pub key_id: KeyId,
    /// The current key wrapped under the new passphrase.
    pub wrapped_key: Vec<u8>,
    /// The recovery public key's MAC under the new passphrase (required when
    /// the account has a recovery key).
    pub recovery_public_key_mac: Option<[u8; 32]>,
}

/// A new current key and everything sealed under it.
#[derive(Debug, Clone)]
pub struct Rotation {
    /// The key that must be current when the rotation commits.
    pub previous: KeyId,
    /// The new key.
    pub key_id: KeyId,
    /// The new key, wrapped under the passphrase.
    pub wrapped_key: Vec<u8>,
    /// Every other key of the account, sealed under the new one.
    pub keyring: Vec<(KeyId, Vec<u8>)>,
    /// The recovery public key the rotation wrapped the new key to (it must
    /// still be the account's), and that wrap.
    pub recovery: Option<([u8; 32], Vec<u8>)>,
}

/// What a key change found when it tried to commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyChange {
    /// Done.
    Done,
    /// The proof no longer matches (another change came first, or it never did).
    WrongProof,
    /// The key named is not (or no longer) the current one.
    NotCurrent,
}

/// What proves a key change: the hash of the auth key or of the recovery
/// auth key, which must still be the stored one when the change commits.
#[derive(Debug, Clone, Copy)]
pub enum Proof<'a> {
    /// `accounts.auth_key_hash`.
    AuthKey(&'a [u8; 32]),
    /// `accounts.recovery_auth_hash`.
    Recovery(&'a [u8; 32]),
}

impl Proof<'_> {
    /// The hash.
    pub fn hash(&self) -> &[u8; 32] {
        match self {
            Proof::AuthKey(h) | Proof::Recovery(h) => h,
        }
    }
}

/// A recovery: the new passphrase, proven by the recovery key, and the device.
#[derive(Debug, Clone)]
pub struct Recovery {
    /// The recovery auth hash that must still be stored.
    pub auth_hash: [u8; 32],
    /// The new passphrase.
    pub passphrase: NewPassphrase,
    /// The device that recovers.
    pub device: NewDevice,
}

/// Expands to the key methods of [`super::Store`], the same SQL on both
/// backends (inside each backend's `impl Store`, like `shared_queries!`).
macro_rules! key_queries {
    () => {
        async fn key_state(&self, account_id: AccountId) -> Result<Option<KeyState>, StoreError> {
            type Blob = Option<Vec<u8>>;
            type Row = (Blob, Blob, Blob, Blob, Blob, Blob, Blob, Option<i64>);
            // One transaction: the account row and its keys as of one moment
            // (a rotation between two reads would pair the wrong rows).
            let mut tx = self.pool.begin().await?;
            let account: Option<Row> = sqlx::query_as(
                "SELECT current_key_id, recovery_auth_hash, recovery_public_key, recovery_public_key_mac, \
                 recovery_wrapped_key, recovery_anchor_key_id, recovery_anchor, recovery_created_at \
                 FROM accounts WHERE id = $1",
            )
            .bind(account_id.0)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((Some(current), auth, public, mac, wrapped, anchor_id, anchor, created)) = account else {
                return Ok(None);
            };
            let current = key_id(&current);
            let rows: Vec<(Vec<u8>, Vec<u8>, i64)> = sqlx::query_as(
                "SELECT key_id, wrapped_key, created_at FROM account_keys WHERE account_id = $1 ORDER BY created_at, key_id",
            )
            .bind(account_id.0)
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            let mut state = KeyState { current_key_id: current, created_at: 0, wrapped_key: Vec::new(), keyring: Vec::new(), recovery: None };
            for (id, blob, created_at) in rows {
                if key_id(&id) == current {
                    (state.wrapped_key, state.created_at) = (blob, created_at);
                } else {
                    state.keyring.push((key_id(&id), blob));
                }
            }
            if let (Some(auth), Some(public), Some(mac), Some(wrapped), Some(anchor_id), Some(anchor), Some(created_at)) =
                (auth, public, mac, wrapped, anchor_id, anchor, created)
            {
                state.recovery = Some(RecoveryState {
                    auth_hash: bytes32(auth),
                    public_key: bytes32(public),
                    public_key_mac: bytes32(mac),
                    wrapped_key: wrapped,
                    anchor: (key_id(&anchor_id), bytes32(anchor)),
                    created_at,
                });
            }
            Ok(Some(state))
        }

        async fn change_passphrase(
            &self,
            account_id: AccountId,
            old_auth_hash: &[u8; 32],
            new: &NewPassphrase,
            sign_out_all_but: Option<DeviceId>,
            now: i64,
        ) -> Result<KeyChange, StoreError> {
            let mut tx = begin_write(&self.pool).await?;
            let change = set_passphrase(&mut tx, account_id, Proof::AuthKey(old_auth_hash), new).await?;
            if change != KeyChange::Done {
                return Ok(change);
            }
            if let Some(keep) = sign_out_all_but {
                sqlx::query("UPDATE devices SET revoked_at = $3 WHERE account_id = $1 AND id <> $2 AND revoked_at IS NULL")
                    .bind(account_id.0)
                    .bind(keep.0)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(KeyChange::Done)
        }

        async fn set_recovery(
            &self,
            account_id: AccountId,
            auth_hash: &[u8; 32],
            key: KeyId,
            recovery: &RecoveryState,
        ) -> Result<KeyChange, StoreError> {
            let mut tx = begin_write(&self.pool).await?;
            let updated = sqlx::query(
                "UPDATE accounts SET recovery_auth_hash = $4, recovery_public_key = $5, recovery_public_key_mac = $6, \
                 recovery_wrapped_key = $7, recovery_created_at = $8, recovery_anchor_key_id = $9, recovery_anchor = $10 \
                 WHERE id = $1 AND auth_key_hash = $2 AND current_key_id = $3",
            )
            .bind(account_id.0)
            .bind(&auth_hash[..])
            .bind(&key.0[..])
            .bind(&recovery.auth_hash[..])
            .bind(&recovery.public_key[..])
            .bind(&recovery.public_key_mac[..])
            .bind(&recovery.wrapped_key)
            .bind(recovery.created_at)
            .bind(&recovery.anchor.0.0[..])
            .bind(&recovery.anchor.1[..])
            .execute(&mut *tx)
            .await?;
            if updated.rows_affected() == 0 {
                return why_not(&mut tx, account_id, Proof::AuthKey(auth_hash), key).await;
            }
            tx.commit().await?;
            Ok(KeyChange::Done)
        }

        async fn rotate(
            &self,
            account_id: AccountId,
            auth_hash: &[u8; 32],
            rotation: &Rotation,
            now: i64,
        ) -> Result<KeyChange, StoreError> {
            let mut tx = begin_write(&self.pool).await?;
            let updated = sqlx::query(
                "UPDATE accounts SET current_key_id = $4, recovery_wrapped_key = $5 \
                 WHERE id = $1 AND auth_key_hash = $2 AND current_key_id = $3 \
                 AND ((recovery_public_key IS NULL AND $6) OR recovery_public_key = $7)",
            )
            .bind(account_id.0)
            .bind(&auth_hash[..])
            .bind(&rotation.previous.0[..])
            .bind(&rotation.key_id.0[..])
            .bind(rotation.recovery.as_ref().map(|r| r.1.clone()))
            .bind(rotation.recovery.is_none())
            .bind(rotation.recovery.as_ref().map_or(Vec::new(), |r| r.0.to_vec()))
            .execute(&mut *tx)
            .await?;
            if updated.rows_affected() == 0 {
                return why_not(&mut tx, account_id, Proof::AuthKey(auth_hash), rotation.previous).await;
            }
            for (id, sealed) in &rotation.keyring {
                let updated = sqlx::query("UPDATE account_keys SET wrapped_key = $3 WHERE account_id = $1 AND key_id = $2")
                    .bind(account_id.0)
                    .bind(&id.0[..])
                    .bind(sealed)
                    .execute(&mut *tx)
                    .await?;
                if updated.rows_affected() != 1 {
                    // Not one of the account's keys: nothing of the rotation stays.
                    tx.rollback().await?;
                    return Ok(KeyChange::NotCurrent);
                }
            }
            sqlx::query("INSERT INTO account_keys (account_id, key_id, wrapped_key, created_at) VALUES ($1, $2, $3, $4)")
                .bind(account_id.0)
                .bind(&rotation.key_id.0[..])
                .bind(&rotation.wrapped_key)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(KeyChange::Done)
        }

        async fn recover(&self, account_id: AccountId, recovery: &Recovery, now: i64) -> Result<KeyChange, StoreError> {
            let mut tx = begin_write(&self.pool).await?;
            let change = set_passphrase(&mut tx, account_id, Proof::Recovery(&recovery.auth_hash), &recovery.passphrase).await?;
            if change != KeyChange::Done {
                return Ok(change);
            }
            insert_device(&mut tx, account_id, &recovery.device, now).await?;
            tx.commit().await?;
            Ok(KeyChange::Done)
        }
    };
}
pub(crate) use key_queries;

/// Expands to the helpers of [`key_queries`] for a backend's transaction type.
macro_rules! key_helpers {
    ($db:ty) => {
        /// Stores a new passphrase's salt seed, auth key hash and wrapped key,
        /// if the proof column still holds `proof` and `new.key_id` is current.
        async fn set_passphrase(
            tx: &mut sqlx::Transaction<'_, $db>,
            account_id: AccountId,
            proof: Proof<'_>,
            new: &NewPassphrase,
        ) -> Result<KeyChange, StoreError> {
            let sql = match proof {
                Proof::AuthKey(_) => {
                    "UPDATE accounts SET salt_seed = $4, auth_key_hash = $5 \
                     WHERE id = $1 AND auth_key_hash = $2 AND current_key_id = $3"
                }
                Proof::Recovery(_) => {
                    "UPDATE accounts SET salt_seed = $4, auth_key_hash = $5 \
                     WHERE id = $1 AND recovery_auth_hash = $2 AND current_key_id = $3"
                }
            };
            let updated = sqlx::query(sql)
                .bind(account_id.0)
                .bind(&proof.hash()[..])
                .bind(&new.key_id.0[..])
                .bind(&new.salt_seed[..])
                .bind(&new.auth_key_hash[..])
                .execute(&mut **tx)
                .await?;
            if updated.rows_affected() == 0 {
                return why_not(tx, account_id, proof, new.key_id).await;
            }
            sqlx::query("UPDATE account_keys SET wrapped_key = $3 WHERE account_id = $1 AND key_id = $2")
                .bind(account_id.0)
                .bind(&new.key_id.0[..])
                .bind(&new.wrapped_key)
                .execute(&mut **tx)
                .await?;
            if let Some(mac) = new.recovery_public_key_mac {
                sqlx::query("UPDATE accounts SET recovery_public_key_mac = $2 WHERE id = $1")
                    .bind(account_id.0)
                    .bind(&mac[..])
                    .execute(&mut **tx)
                    .await?;
            }
            Ok(KeyChange::Done)
        }

        /// Why a guarded update matched no row.
        async fn why_not(
            tx: &mut sqlx::Transaction<'_, $db>,
            account_id: AccountId,
            proof: Proof<'_>,
            key: KeyId,
        ) -> Result<KeyChange, StoreError> {
            let sql = match proof {
                Proof::AuthKey(_) => "SELECT auth_key_hash, current_key_id FROM accounts WHERE id = $1",
                Proof::Recovery(_) => "SELECT recovery_auth_hash, current_key_id FROM accounts WHERE id = $1",
            };
            let row: Option<(Option<Vec<u8>>, Option<Vec<u8>>)> =
                sqlx::query_as(sql).bind(account_id.0).fetch_optional(&mut **tx).await?;
            Ok(match row {
                Some((Some(stored), _)) if stored.as_slice() != proof.hash().as_slice() => KeyChange::WrongProof,
                Some((Some(_), Some(current))) if current.as_slice() != key.0.as_slice() => KeyChange::NotCurrent,
                _ => KeyChange::WrongProof,
            })
        }
    };
}
pub(crate) use key_helpers;
