//! [`Store`] on Postgres: the production backend. Pushes take the account row
//! lock (`SELECT ... FOR UPDATE`) first, so pushes of one account commit in
//! `server_seq` order and a pull can never skip a row; batches go to the
//! database as arrays (`UNNEST`), one statement per step.

use std::collections::HashMap;

use sqlx::Postgres;
use sqlx::postgres::{PgPool, PgPoolOptions};
use uuid::Uuid;

use sealsync_envelope::{AccountId, Cursor, DeviceId, KeyId, RecordId};

use super::plan::{AccountState, Existing, plan};
use super::{
    AccountLogin, AccountRow, Authenticated, DeviceInfo, DeviceRow, Incoming, KeyChange, KeyState,
    LAST_SEEN_RESOLUTION_MS, NewAccount, NewDevice, NewPassphrase, PullPage, Pushed, Recovery, RecoveryState, Rotation,
    Store, StoreError, bytes32, key_id, keys::Proof, to_i64, to_u64,
};

/// Postgres storage over a connection pool.
#[derive(Debug, Clone)]
pub struct PgStore {
    pub(super) pool: PgPool,
}

impl PgStore {
    /// Connects a pool of at most `max_connections`.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        // sqlx pings a connection when it goes back to the pool; pinging it
        // again when it comes out doubled the round trips of a small request.
        // An unreachable database fails within seconds, not minutes.
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .test_before_acquire(false)
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect(url)
            .await?;
        Ok(Self { pool })
    }

    /// Wraps an existing pool (tests, benchmarks).
    pub fn from_pool(pool: PgPool) -> Self {
        Self { pool }
    }
}

/// Which unique constraint a Postgres error violated, if any.
/// The unique constraint on account names, as Postgres names it: since
/// migration 0007 the key of `account_names`, which `create_account` checks on
/// its own insert (an accounts insert now fails only on its id).
const NAME_CONSTRAINT: &str = "account_names_pkey";

/// A write transaction (the account row lock is taken inside `push`).
async fn begin_write(pool: &PgPool) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
    pool.begin().await
}

super::shared::insert_device_fn!(sqlx::Postgres);
super::keys::key_helpers!(sqlx::Postgres);
/// Every device mark of the account (the highest `device_seq` ever stored
/// for each device, table `device_counters`), read inside the push's
/// transaction (PROTOCOL.md §8.2, the counter rule): the plan needs those of
/// the devices pushing, the answer's `log` all of them. The push's insert
/// statement raises them.
async fn device_marks(
    tx: &mut sqlx::Transaction<'_, Postgres>,
    account_id: AccountId,
) -> Result<HashMap<DeviceId, u64>, StoreError> {
    let marks: Vec<(Uuid, i64)> =
        sqlx::query_as("SELECT device_id, max_device_seq FROM device_counters WHERE account_id = $1")
            .bind(account_id.0)
            .fetch_all(&mut **tx)
            .await?;
    Ok(marks.into_iter().map(|(device, mark)| (DeviceId(device), to_u64(mark))).collect())
}

fn unique_violation(error: &sqlx::Error) -> Option<String> {
    match error {
        sqlx::Error::Database(db) if db.is_unique_violation() => Some(db.constraint().unwrap_or_default().to_owned()),
        _ => None,
    }
}

impl Store for PgStore {
    super::shared::shared_queries!();
    super::keys::key_queries!();
    super::log::log_queries!();

    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("../migrations/server-postgres").run(&self.pool).await?;
        Ok(())
    }

    async fn push(
        &self,
        account_id: AccountId,
        items: Vec<Incoming>,
        max_account_bytes: u64,
    ) -> Result<Pushed, StoreError> {
        let items = &items[..];
        let mut tx = begin_write(&self.pool).await?;
        // The account row lock, first: every other push of this account waits
        // here. Its log identity comes back with it, for the answer's `log`.
        let account: Option<(i64, i64, Vec<u8>)> =
            sqlx::query_as("SELECT seq, stored_bytes, log_id FROM accounts WHERE id = $1 FOR UPDATE")
                .bind(account_id.0)
                .fetch_optional(&mut *tx)
                .await?;
        let (seq, stored_bytes, log_id) = account.ok_or(StoreError::AccountNotFound)?;
        // The account's keys, the current one first (see `plan`), read after
        // the lock: a push that waited for a rotation sees the new keys (a
        // subquery of the locking statement would see its older snapshot).
        let key_ids: Vec<(Vec<u8>,)> = sqlx::query_as(
            "SELECT k.key_id FROM account_keys k JOIN accounts a ON a.id = k.account_id \
             WHERE k.account_id = $1 ORDER BY k.key_id = a.current_key_id DESC",
        )
        .bind(account_id.0)
        .fetch_all(&mut *tx)
        .await?;
        let key_ids: Vec<KeyId> = key_ids.iter().map(|(k,)| key_id(k)).collect();

        let records: Vec<Uuid> = items.iter().map(|i| i.header.record_id.0).collect();
        let devices: Vec<Uuid> = items.iter().map(|i| i.header.device_id.0).collect();
        let rows: Vec<(Uuid, Uuid, i64, Vec<u8>)> = sqlx::query_as(
            "SELECT e.record_id, e.device_id, e.device_seq, e.envelope FROM envelopes e \
             JOIN UNNEST($2::uuid[], $3::uuid[]) AS k (record_id, device_id) \
               ON e.record_id = k.record_id AND e.device_id = k.device_id \
             WHERE e.account_id = $1",
        )
        .bind(account_id.0)
        .bind(&records)
        .bind(&devices)
        .fetch_all(&mut *tx)
        .await?;
        let existing: HashMap<_, _> = rows
            .into_iter()
            .map(|(r, d, device_seq, envelope)| {
                ((RecordId(r), DeviceId(d)), Existing { device_seq: to_u64(device_seq), envelope })
            })
            .collect();

        let state = AccountState { seq: to_u64(seq), stored_bytes: to_u64(stored_bytes) };
        let marks = device_marks(&mut tx, account_id).await?;
        let plan = plan(items, &existing, &key_ids, &marks, state, max_account_bytes);
        if !plan.rows.is_empty() {
            let records: Vec<Uuid> = plan.rows.iter().map(|r| r.record_id.0).collect();
            let devices: Vec<Uuid> = plan.rows.iter().map(|r| r.device_id.0).collect();
            let device_seqs: Vec<i64> = plan.rows.iter().map(|r| to_i64(r.device_seq)).collect();
            let server_seqs: Vec<i64> = plan.rows.iter().map(|r| to_i64(r.server_seq)).collect();
            let envelopes: Vec<&[u8]> = plan.rows.iter().map(|r| r.envelope).collect();
            let (mark_devices, marks_high): (Vec<Uuid>, Vec<i64>) =
                plan.marks.iter().map(|&(device, high)| (device.0, to_i64(high))).unzip();
            // The rows, the raised device marks (never lowered) and the
            // account's new counter, in one statement. A push raises a mark
            // only by storing a row, so marks never change without rows.
            sqlx::query(
                "WITH stored AS ( \
                   INSERT INTO envelopes (account_id, record_id, device_id, device_seq, server_seq, envelope) \
                   SELECT $1, * FROM UNNEST($2::uuid[], $3::uuid[], $4::int8[], $5::int8[], $6::bytea[]) \
                   ON CONFLICT (account_id, record_id, device_id) DO UPDATE SET \
                     device_seq = EXCLUDED.device_seq, server_seq = EXCLUDED.server_seq, envelope = EXCLUDED.envelope \
                 ), raised AS ( \
                   INSERT INTO device_counters (account_id, device_id, max_device_seq) \
                   SELECT $1, * FROM UNNEST($9::uuid[], $10::int8[]) \
                   ON CONFLICT (account_id, device_id) DO UPDATE SET \
                     max_device_seq = GREATEST(device_counters.max_device_seq, EXCLUDED.max_device_seq) \
                 ) \
                 UPDATE accounts SET seq = $7, stored_bytes = $8 WHERE id = $1",
            )
            .bind(account_id.0)
            .bind(&records)
            .bind(&devices)
            .bind(&device_seqs)
            .bind(&server_seqs)
            .bind(&envelopes)
            .bind(to_i64(plan.seq))
            .bind(to_i64(plan.stored_bytes))
            .bind(&mark_devices)
            .bind(&marks_high)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        let log = super::log::after_push(&log_id, plan.seq, marks, &plan.marks);
        Ok(Pushed { results: plan.results, cursor: Cursor(plan.seq), log })
    }
}
