//! Storage of the device-linking relay (PROTOCOL.md §8.3): one `pairings`
//! row per linking attempt (migration 0005), written once, with the same
//! SQL on both backends.
//!
//! Every change of state is one conditional `UPDATE` on the state it
//! expects (and an unexpired row), so two racing requests cannot both claim,
//! confirm or approve a pairing: the loser changes nothing and is told so.
//! Handing the new device its bundle deletes the row and adds the device in
//! one transaction, so a bundle is answered once and the device exists
//! exactly when its token was handed out.

use std::future::Future;

use sealsync_crypto::link::PairingNumber;
use sealsync_envelope::{AccountId, DeviceId};
use uuid::Uuid;

use super::{Authenticated, StoreError, bytes32};

/// Where a pairing stands, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Opened by the new device.
    Open,
    /// An approving device answered.
    Claimed,
    /// The new device confirmed.
    Confirmed,
    /// The approving device handed over the bundle.
    Approved,
    /// Burned by either device: only a tombstone remains until expiry.
    Failed,
}

impl Stage {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Claimed => "claimed",
            Self::Confirmed => "confirmed",
            Self::Approved => "approved",
            Self::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Self {
        match text {
            "open" => Self::Open,
            "claimed" => Self::Claimed,
            "confirmed" => Self::Confirmed,
            "approved" => Self::Approved,
            // Nothing else is ever written; anything else is unusable.
            _ => Self::Failed,
        }
    }
}

/// What `POST /v1/pairings` stores.
#[derive(Debug, Clone)]
pub struct NewPairing {
    /// The number drawn for it.
    pub number: PairingNumber,
    /// SHA-256 of the pairing secret's hex text.
    pub secret_hash: [u8; 32],
    /// The new device's chosen id.
    pub new_device_id: DeviceId,
    /// Its SPAKE2 message.
    pub new_message: Vec<u8>,
    /// Unix ms.
    pub expires_at: i64,
}

/// A stored pairing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pairing {
    /// Its number.
    pub number: PairingNumber,
    /// SHA-256 of the pairing secret's hex text.
    pub secret_hash: [u8; 32],
    /// Where it stands.
    pub stage: Stage,
    /// Unix ms.
    pub expires_at: i64,
    /// The new device's chosen id.
    pub new_device_id: DeviceId,
    /// Its SPAKE2 message (empty once failed).
    pub new_message: Vec<u8>,
    /// The approving device and its account, once claimed.
    pub claimant: Option<Authenticated>,
    /// The approving device's SPAKE2 message.
    pub approver_message: Option<Vec<u8>>,
    /// `confirm_approver`.
    pub approver_confirm: Option<Vec<u8>>,
    /// `confirm_new`.
    pub new_confirm: Option<Vec<u8>>,
    /// The new device's name sealed under the link key.
    pub new_encrypted_name: Option<Vec<u8>>,
}

/// The outcome of handing the new device its bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completion {
    /// The pairing is gone and the device exists in the account: here is the bundle.
    Done {
        /// The sealed bundle.
        bundle: Vec<u8>,
    },
    /// The pairing is not (or no longer) approved and unexpired; nothing changed.
    NotApproved,
    /// The account already has a device with the new device's id; the
    /// pairing has been failed.
    DeviceExists,
    /// The approving device was revoked since it approved (or the account
    /// signed every other device out): its approval no longer counts, and
    /// the pairing has been failed.
    ApproverRevoked,
}

/// The relay's storage; every [`super::Store`] is one.
pub trait PairingStore {
    /// Deletes expired pairings, then stores `pairing` unless its number is
    /// taken (`false`).
    fn create_pairing(&self, pairing: &NewPairing, now: i64) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The pairing with this number, expired or not.
    fn pairing(&self, number: PairingNumber) -> impl Future<Output = Result<Option<Pairing>, StoreError>> + Send;

    /// Whether the account has a device with this id (live or revoked).
    fn account_has_device(
        &self,
        account_id: AccountId,
        device_id: DeviceId,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Deletes the pairing (found expired).
    fn delete_pairing(&self, number: PairingNumber) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// `open` → `claimed` by `claimant`; `false` if it was not open and unexpired.
    fn claim_pairing(
        &self,
        number: PairingNumber,
        claimant: Authenticated,
        message: &[u8],
        confirm: &[u8; 32],
        now: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// `claimed` → `confirmed`; `false` if it was not claimed and unexpired.
    fn confirm_pairing(
        &self,
        number: PairingNumber,
        confirm: &[u8; 32],
        encrypted_name: &[u8],
        now: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// `confirmed` → `approved` by its claimant; `false` otherwise.
    fn approve_pairing(
        &self,
        number: PairingNumber,
        claimant: Authenticated,
        device_name: &[u8],
        bundle: &[u8],
        now: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Any live state → `failed`, erasing the messages, confirmations, names
    /// and bundle; `false` if it was already failed or expired.
    fn fail_pairing(&self, number: PairingNumber, now: i64) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// `approved` → gone, adding the new device to the claimant's account with
    /// this token hash, in one transaction.
    fn complete_pairing(
        &self,
        number: PairingNumber,
        token_hash: &[u8; 32],
        now: i64,
    ) -> impl Future<Output = Result<Completion, StoreError>> + Send;
}

/// A `pairings` row as both backends select it.
#[derive(sqlx::FromRow)]
struct PairingRow {
    pairing: i64,
    secret_hash: Vec<u8>,
    state: String,
    expires_at: i64,
    new_device_id: Uuid,
    new_message: Vec<u8>,
    account_id: Option<Uuid>,
    approver_device_id: Option<Uuid>,
    approver_message: Option<Vec<u8>>,
    approver_confirm: Option<Vec<u8>>,
    new_confirm: Option<Vec<u8>>,
    new_encrypted_name: Option<Vec<u8>>,
}

impl From<PairingRow> for Pairing {
    fn from(row: PairingRow) -> Self {
        let number = u32::try_from(row.pairing).ok().and_then(|n| PairingNumber::new(n).ok());
        Self {
            // The primary key holds only numbers the relay drew.
            number: number.unwrap_or(PairingNumber::new(0).expect("0 is a pairing number")),
            secret_hash: bytes32(row.secret_hash),
            stage: Stage::parse(&row.state),
            expires_at: row.expires_at,
            new_device_id: DeviceId(row.new_device_id),
            new_message: row.new_message,
            claimant: row
                .account_id
                .zip(row.approver_device_id)
                .map(|(account, device)| Authenticated { account_id: AccountId(account), device_id: DeviceId(device) }),
            approver_message: row.approver_message,
            approver_confirm: row.approver_confirm,
            new_confirm: row.new_confirm,
            new_encrypted_name: row.new_encrypted_name,
        }
    }
}

fn key(number: PairingNumber) -> i64 {
    i64::from(number.get())
}

/// Implements [`PairingStore`] for a backend whose pool is `self.pool`;
/// `$begin` opens that backend's write transaction.
macro_rules! pairing_store {
    ($store:ty, |$pool:ident| $begin:expr) => {
        impl PairingStore for $store {
            async fn create_pairing(&self, pairing: &NewPairing, now: i64) -> Result<bool, StoreError> {
                sqlx::query("DELETE FROM pairings WHERE expires_at <= $1").bind(now).execute(&self.pool).await?;
                let done = sqlx::query(
                    "INSERT INTO pairings (pairing, secret_hash, state, created_at, expires_at, new_device_id, \
                     new_message) VALUES ($1, $2, 'open', $3, $4, $5, $6) ON CONFLICT (pairing) DO NOTHING",
                )
                .bind(key(pairing.number))
                .bind(&pairing.secret_hash[..])
                .bind(now)
                .bind(pairing.expires_at)
                .bind(pairing.new_device_id.0)
                .bind(&pairing.new_message)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn pairing(&self, number: PairingNumber) -> Result<Option<Pairing>, StoreError> {
                let row: Option<PairingRow> = sqlx::query_as(
                    "SELECT pairing, secret_hash, state, expires_at, new_device_id, new_message, account_id, \
                     approver_device_id, approver_message, approver_confirm, new_confirm, new_encrypted_name \
                     FROM pairings WHERE pairing = $1",
                )
                .bind(key(number))
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(Pairing::from))
            }

            async fn account_has_device(&self, account_id: AccountId, device_id: DeviceId) -> Result<bool, StoreError> {
                let (count,): (i64,) =
                    sqlx::query_as("SELECT COUNT(*) FROM devices WHERE account_id = $1 AND id = $2")
                        .bind(account_id.0)
                        .bind(device_id.0)
                        .fetch_one(&self.pool)
                        .await?;
                Ok(count > 0)
            }

            async fn delete_pairing(&self, number: PairingNumber) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM pairings WHERE pairing = $1").bind(key(number)).execute(&self.pool).await?;
                Ok(())
            }

            async fn claim_pairing(
                &self,
                number: PairingNumber,
                claimant: Authenticated,
                message: &[u8],
                confirm: &[u8; 32],
                now: i64,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "UPDATE pairings SET state = 'claimed', account_id = $2, approver_device_id = $3, \
                     approver_message = $4, approver_confirm = $5 \
                     WHERE pairing = $1 AND state = 'open' AND expires_at > $6",
                )
                .bind(key(number))
                .bind(claimant.account_id.0)
                .bind(claimant.device_id.0)
                .bind(message)
                .bind(&confirm[..])
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn confirm_pairing(
                &self,
                number: PairingNumber,
                confirm: &[u8; 32],
                encrypted_name: &[u8],
                now: i64,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "UPDATE pairings SET state = 'confirmed', new_confirm = $2, new_encrypted_name = $3 \
                     WHERE pairing = $1 AND state = 'claimed' AND expires_at > $4",
                )
                .bind(key(number))
                .bind(&confirm[..])
                .bind(encrypted_name)
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn approve_pairing(
                &self,
                number: PairingNumber,
                claimant: Authenticated,
                device_name: &[u8],
                bundle: &[u8],
                now: i64,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "UPDATE pairings SET state = 'approved', device_name = $4, bundle = $5 \
                     WHERE pairing = $1 AND state = 'confirmed' AND account_id = $2 AND approver_device_id = $3 \
                     AND expires_at > $6",
                )
                .bind(key(number))
                .bind(claimant.account_id.0)
                .bind(claimant.device_id.0)
                .bind(device_name)
                .bind(bundle)
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn fail_pairing(&self, number: PairingNumber, now: i64) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "UPDATE pairings SET state = 'failed', new_message = $2, approver_message = NULL, \
                     approver_confirm = NULL, new_confirm = NULL, new_encrypted_name = NULL, device_name = NULL, \
                     bundle = NULL WHERE pairing = $1 AND state <> 'failed' AND expires_at > $3",
                )
                .bind(key(number))
                .bind(Vec::<u8>::new())
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn complete_pairing(
                &self,
                number: PairingNumber,
                token_hash: &[u8; 32],
                now: i64,
            ) -> Result<Completion, StoreError> {
                let $pool = &self.pool;
                let mut tx = $begin.await?;
                let taken: Option<(Uuid, Uuid, Uuid, Vec<u8>, Vec<u8>)> = sqlx::query_as(
                    "DELETE FROM pairings WHERE pairing = $1 AND state = 'approved' AND expires_at > $2 \
                     RETURNING account_id, approver_device_id, new_device_id, device_name, bundle",
                )
                .bind(key(number))
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((account_id, approver, device_id, device_name, bundle)) = taken else {
                    return Ok(Completion::NotApproved);
                };
                // A stolen token's approval must not outlive the token: the
                // approving device must still be signed in when the new one joins.
                let approver_live: Option<(i64,)> = sqlx::query_as(
                    "SELECT created_at FROM devices WHERE account_id = $1 AND id = $2 AND revoked_at IS NULL",
                )
                .bind(account_id)
                .bind(approver)
                .fetch_optional(&mut *tx)
                .await?;
                if approver_live.is_none() {
                    tx.rollback().await?;
                    self.fail_pairing(number, now).await?;
                    return Ok(Completion::ApproverRevoked);
                }
                let added = sqlx::query(
                    "INSERT INTO devices (account_id, id, encrypted_name, token_hash, created_at, last_seen_at) \
                     VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT DO NOTHING",
                )
                .bind(account_id)
                .bind(device_id)
                .bind(&device_name)
                .bind(&token_hash[..])
                .bind(now)
                .execute(&mut *tx)
                .await?;
                if added.rows_affected() != 1 {
                    tx.rollback().await?;
                    self.fail_pairing(number, now).await?;
                    return Ok(Completion::DeviceExists);
                }
                tx.commit().await?;
                Ok(Completion::Done { bundle })
            }
        }
    };
}

pairing_store!(super::postgres::PgStore, |pool| pool.begin());
pairing_store!(super::sqlite::SqliteStore, |pool| pool.begin_with("BEGIN IMMEDIATE"));
