//! [`Store`] on Postgres: the production backend. Pushes take the account row
//! lock (`SELECT ... FOR UPDATE`) first, so pushes of one account commit in
//! `server_seq` order and a pull can never skip a row; batches go to the
//! database as arrays (`UNNEST`), one statement per step.

use std::collections::HashMap;

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

/// What a push reads once it holds the account's lock, in one round trip:
/// the account's keys, what it stores for the pushed (record, device) pairs,
/// and every device mark (PROTOCOL.md §8.2, the counter rule). A separate
/// statement from the lock's, so it sees what committed while the push
/// waited (a subquery of the locking statement would see its older
/// snapshot). One row per fact, `kind` saying which:
/// 0 a key (`n` = 1 for the current one), 1 a stored pair, 2 a mark.
///
/// The pairs are looked up one by one in the primary key (`LATERAL ...
/// LIMIT 1`, which the planner cannot turn into a join over the account).
/// A plain join of the pairs with the account's envelopes let Postgres
/// switch, after five executions, to a generic plan that estimates a few
/// rows per account and hashes them all: a push to an account of 20,000
/// envelopes then read all 20,000 (13 ms; a million, most of a second).
pub const PUSH_READ: &str = "SELECT 0::int2 AS kind, NULL::uuid AS record_id, NULL::uuid AS device_id, \
           (k.key_id = a.current_key_id)::int4::int8 AS n, k.key_id AS bytes \
      FROM account_keys k JOIN accounts a ON a.id = k.account_id WHERE k.account_id = $1 \
    UNION ALL \
    SELECT 1::int2, e.record_id, e.device_id, e.device_seq, e.envelope \
      FROM UNNEST($2::uuid[], $3::uuid[]) AS p (record_id, device_id) \
      CROSS JOIN LATERAL (SELECT * FROM envelopes e WHERE e.account_id = $1 \
        AND e.record_id = p.record_id AND e.device_id = p.device_id LIMIT 1) e \
    UNION ALL \
    SELECT 2::int2, NULL, device_id, max_device_seq, NULL FROM device_counters WHERE account_id = $1";

/// A row of [`PUSH_READ`].
type PushReadRow = (i16, Option<Uuid>, Option<Uuid>, i64, Option<Vec<u8>>);

/// What [`PUSH_READ`] returned, sorted for [`plan`].
#[derive(Default)]
struct Held {
    /// The current key first (see `plan`).
    key_ids: Vec<KeyId>,
    existing: HashMap<(RecordId, DeviceId), Existing>,
    marks: HashMap<DeviceId, u64>,
}

impl Held {
    fn from_rows(rows: Vec<PushReadRow>) -> Self {
        let mut held = Held::default();
        for (kind, record, device, n, bytes) in rows {
            match (kind, record, device, bytes) {
                (0, _, _, Some(key)) if n == 1 => held.key_ids.insert(0, key_id(&key)),
                (0, _, _, Some(key)) => held.key_ids.push(key_id(&key)),
                (1, Some(record), Some(device), Some(envelope)) => {
                    let existing = Existing { device_seq: to_u64(n), envelope };
                    held.existing.insert((RecordId(record), DeviceId(device)), existing);
                }
                (2, _, Some(device), _) => {
                    held.marks.insert(DeviceId(device), to_u64(n));
                }
                _ => {}
            }
        }
        held
    }
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
        let records: Vec<Uuid> = items.iter().map(|i| i.header.record_id.0).collect();
        let devices: Vec<Uuid> = items.iter().map(|i| i.header.device_id.0).collect();
        let rows: Vec<PushReadRow> =
            sqlx::query_as(PUSH_READ).bind(account_id.0).bind(&records).bind(&devices).fetch_all(&mut *tx).await?;
        let Held { key_ids, existing, marks } = Held::from_rows(rows);
        let state = AccountState { seq: to_u64(seq), stored_bytes: to_u64(stored_bytes) };
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
