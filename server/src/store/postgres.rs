//! [`Store`] on Postgres: the production backend. A push is one read and one
//! write that stores only if the account is still as read; the write takes
//! the account's row lock, so pushes of one account commit in `server_seq`
//! order and a pull can never skip a row. Batches go to the database as
//! arrays (`UNNEST`).

use std::collections::HashMap;

use sqlx::postgres::{PgPool, PgPoolOptions};
use uuid::Uuid;

use sealsync_envelope::{AccountId, Cursor, DeviceId, KeyId, RecordId};

use super::plan::{AccountState, Existing, plan};
use super::{
    AccountLogin, AccountRow, Authenticated, DeviceInfo, DeviceRow, Incoming, KeyChange, KeyState,
    LAST_SEEN_RESOLUTION_MS, NewAccount, NewDevice, NewPassphrase, PageAsk, PullPage, Pushed, Recovery, RecoveryState,
    Rotation, Store, StoreError, bytes32, key_id, keys::Proof, to_i64, to_u64,
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

/// A write transaction, as `shared_queries!` begins one on either backend.
async fn begin_write(pool: &PgPool) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
    pool.begin().await
}

super::shared::insert_device_fn!(sqlx::Postgres);
super::keys::key_helpers!(sqlx::Postgres);

/// What a push reads, in one round trip: the account's counter, stored
/// bytes and log identity, its keys, what it stores for the pushed (record,
/// device) pairs, every device mark (PROTOCOL.md §8.2, the counter rule),
/// and the page its answer carries (`$5` rows after `$4`; `$5` = 0 when
/// none is asked). One row per fact, `kind` saying which: 0 the account
/// (`n` its counter, `m` its stored bytes, `bytes` its log id), 1 a key
/// (`n` = 1 for the current one), 2 a stored pair, 3 a mark, 4 an envelope
/// of the page (`n` its position).
///
/// The pairs are looked up one by one in the primary key (`LATERAL ...
/// LIMIT 1`, which the planner cannot turn into a join over the account).
/// A plain join of the pairs with the account's envelopes let Postgres
/// switch, after five executions, to a generic plan that estimates a few
/// rows per account and hashes them all: a push to an account of 20,000
/// envelopes then read all 20,000 (13 ms; a million, most of a second).
pub const PUSH_READ: &str = "SELECT 0::int2 AS kind, NULL::uuid AS record_id, NULL::uuid AS device_id, \
           seq AS n, stored_bytes AS m, log_id AS bytes FROM accounts WHERE id = $1 \
    UNION ALL \
    SELECT 1::int2, NULL, NULL, (k.key_id = a.current_key_id)::int4::int8, NULL, k.key_id \
      FROM account_keys k JOIN accounts a ON a.id = k.account_id WHERE k.account_id = $1 \
    UNION ALL \
    SELECT 2::int2, e.record_id, e.device_id, e.device_seq, NULL, e.envelope \
      FROM UNNEST($2::uuid[], $3::uuid[]) AS p (record_id, device_id) \
      CROSS JOIN LATERAL (SELECT * FROM envelopes e WHERE e.account_id = $1 \
        AND e.record_id = p.record_id AND e.device_id = p.device_id LIMIT 1) e \
    UNION ALL \
    SELECT 3::int2, NULL, device_id, max_device_seq, NULL, NULL FROM device_counters WHERE account_id = $1 \
    UNION ALL \
    SELECT 4::int2, NULL, NULL, server_seq, NULL, envelope FROM (SELECT server_seq, envelope FROM envelopes \
      WHERE account_id = $1 AND server_seq > $4 ORDER BY server_seq LIMIT $5) page";

/// A push's rows, the raised device marks (never lowered) and the account's
/// new counter, in one statement, on condition that the account is as the
/// push read it: same counter (no other push stored anything since; every
/// push that stores moves it), same current key (no rotation), same log
/// identity. Answers how many accounts it updated: 0 when the condition
/// failed, and then nothing was written. A push raises a mark only by
/// storing a row, so marks never change without the counter.
const PUSH_WRITE: &str = "WITH account AS ( \
       UPDATE accounts SET seq = $7, stored_bytes = $8 \
        WHERE id = $1 AND seq = $11 AND current_key_id = $12 AND log_id = $13 RETURNING id \
     ), stored AS ( \
       INSERT INTO envelopes (account_id, record_id, device_id, device_seq, server_seq, envelope) \
       SELECT $1, r.* FROM UNNEST($2::uuid[], $3::uuid[], $4::int8[], $5::int8[], $6::bytea[]) AS r, account \
       ON CONFLICT (account_id, record_id, device_id) DO UPDATE SET \
         device_seq = EXCLUDED.device_seq, server_seq = EXCLUDED.server_seq, envelope = EXCLUDED.envelope \
     ), raised AS ( \
       INSERT INTO device_counters (account_id, device_id, max_device_seq) \
       SELECT $1, m.* FROM UNNEST($9::uuid[], $10::int8[]) AS m, account \
       ON CONFLICT (account_id, device_id) DO UPDATE SET \
         max_device_seq = GREATEST(device_counters.max_device_seq, EXCLUDED.max_device_seq) \
     ) \
     SELECT COUNT(*) FROM account";

/// A row of [`PUSH_READ`].
type PushReadRow = (i16, Option<Uuid>, Option<Uuid>, i64, Option<i64>, Option<Vec<u8>>);

/// The account as a push read it ([`PUSH_READ`]).
struct Read {
    state: AccountState,
    log_id: Vec<u8>,
    /// The current key first (see `plan`).
    key_ids: Vec<KeyId>,
    existing: HashMap<(RecordId, DeviceId), Existing>,
    marks: HashMap<DeviceId, u64>,
    page: Option<PullPage>,
}

impl Read {
    async fn of<'c>(
        conn: impl sqlx::PgExecutor<'c>,
        account_id: AccountId,
        items: &[Incoming],
        ask: Option<PageAsk>,
    ) -> Result<Self, StoreError> {
        let records: Vec<Uuid> = items.iter().map(|i| i.header.record_id.0).collect();
        let devices: Vec<Uuid> = items.iter().map(|i| i.header.device_id.0).collect();
        let rows: Vec<PushReadRow> = sqlx::query_as(PUSH_READ)
            .bind(account_id.0)
            .bind(&records)
            .bind(&devices)
            .bind(to_i64(ask.map_or(0, |a| a.after.0)))
            .bind(ask.map_or(0, |a| i64::from(a.limit) + 1))
            .fetch_all(conn)
            .await?;
        let mut account = None;
        let (mut key_ids, mut existing, mut marks, mut page) = (Vec::new(), HashMap::new(), HashMap::new(), Vec::new());
        for (kind, record, device, n, m, bytes) in rows {
            match (kind, record, device, bytes) {
                (0, _, _, Some(log_id)) => {
                    account = Some((AccountState { seq: to_u64(n), stored_bytes: to_u64(m.unwrap_or(0)) }, log_id));
                }
                (1, _, _, Some(key)) if n == 1 => key_ids.insert(0, key_id(&key)),
                (1, _, _, Some(key)) => key_ids.push(key_id(&key)),
                (2, Some(record), Some(device), Some(envelope)) => {
                    existing.insert((RecordId(record), DeviceId(device)), Existing { device_seq: to_u64(n), envelope });
                }
                (3, _, Some(device), _) => {
                    marks.insert(DeviceId(device), to_u64(n));
                }
                (4, _, _, Some(envelope)) => page.push((n, envelope)),
                _ => {}
            }
        }
        let (state, log_id) = account.ok_or(StoreError::AccountNotFound)?;
        page.sort_unstable_by_key(|&(seq, _)| seq);
        let page = ask.map(|ask| super::page(page, ask.limit));
        Ok(Read { state, log_id, key_ids, existing, marks, page })
    }
}

/// Plans a push on what `read` saw and writes it with [`PUSH_WRITE`];
/// `None` when the account had moved on since, and nothing was written.
async fn plan_and_write<'c>(
    conn: impl sqlx::PgExecutor<'c>,
    account_id: AccountId,
    items: &[Incoming],
    read: Read,
    max_account_bytes: u64,
) -> Result<Option<Pushed>, StoreError> {
    let plan = plan(items, &read.existing, &read.key_ids, &read.marks, read.state, max_account_bytes);
    if !plan.rows.is_empty() {
        let records: Vec<Uuid> = plan.rows.iter().map(|r| r.record_id.0).collect();
        let devices: Vec<Uuid> = plan.rows.iter().map(|r| r.device_id.0).collect();
        let device_seqs: Vec<i64> = plan.rows.iter().map(|r| to_i64(r.device_seq)).collect();
        let server_seqs: Vec<i64> = plan.rows.iter().map(|r| to_i64(r.server_seq)).collect();
        let envelopes: Vec<&[u8]> = plan.rows.iter().map(|r| r.envelope).collect();
        let (mark_devices, marks_high): (Vec<Uuid>, Vec<i64>) =
            plan.marks.iter().map(|&(device, high)| (device.0, to_i64(high))).unzip();
        // Rows are planned only under the current key, the first.
        let current_key = read.key_ids.first().map(|k| &k.0[..]);
        let written: i64 = sqlx::query_scalar(PUSH_WRITE)
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
            .bind(to_i64(read.state.seq))
            .bind(current_key)
            .bind(&read.log_id)
            .fetch_one(conn)
            .await?;
        if written == 0 {
            return Ok(None);
        }
    }
    let log = super::log::after_push(&read.log_id, plan.seq, read.marks, &plan.marks);
    Ok(Some(Pushed { results: plan.results, cursor: Cursor(plan.seq), log, page: read.page }))
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
        page: Option<PageAsk>,
        max_account_bytes: u64,
    ) -> Result<Pushed, StoreError> {
        let items = &items[..];
        // Optimistically first, without a transaction: one read, then one
        // write that stores only if the account is still as read. Every
        // push that stores takes the account's row lock in its write, so
        // pushes still commit in `server_seq` order and a pull can never
        // skip a row. A push that stores nothing writes nothing.
        // One connection throughout: each return to the pool costs a ping.
        let mut conn = self.pool.acquire().await?;
        let read = Read::of(&mut *conn, account_id, items, page).await?;
        if let Some(pushed) = plan_and_write(&mut *conn, account_id, items, read, max_account_bytes).await? {
            return Ok(pushed);
        }
        // Another push (or a key change) got in between: read again under
        // the account's lock, which every other push then waits for. The
        // read is its own statement, after the lock's, so it sees what
        // committed while this push waited.
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        let locked: Option<i32> = sqlx::query_scalar("SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE")
            .bind(account_id.0)
            .fetch_optional(&mut *tx)
            .await?;
        locked.ok_or(StoreError::AccountNotFound)?;
        let read = Read::of(&mut *tx, account_id, items, page).await?;
        let pushed = plan_and_write(&mut *tx, account_id, items, read, max_account_bytes)
            .await?
            .ok_or(StoreError::Inconsistent("the account changed under its lock"))?;
        tx.commit().await?;
        Ok(pushed)
    }
}

#[cfg(test)]
mod tests {
    use sealsync_envelope::dto::{PushResult, RejectCode};
    use sealsync_envelope::{DeviceSeq, EnvelopeHeader};
    use sealsync_testkit::ScratchPostgres;

    use super::*;

    const KEY: KeyId = KeyId([7; 16]);

    fn item(record: u128, device: DeviceId, seq: u64) -> Incoming {
        Incoming {
            header: EnvelopeHeader {
                record_id: RecordId(Uuid::from_u128(record)),
                device_id: device,
                device_seq: DeviceSeq(seq),
                key_id: KEY,
            },
            bytes: vec![seq as u8; 40],
        }
    }

    /// The optimistic write's condition: a push planned on a read that
    /// another push then overtook writes nothing (its positions would
    /// collide with the other's), and the push itself, tried again, stores
    /// after the other.
    #[tokio::test]
    async fn a_push_overtaken_between_its_read_and_its_write_writes_nothing() {
        let Some(db) = ScratchPostgres::for_test("server unit tests").await else { return };
        let store = PgStore::connect(&db.url, 2).await.unwrap();
        store.migrate().await.unwrap();
        let (account, device) = (AccountId(Uuid::new_v4()), DeviceId(Uuid::new_v4()));
        let new = NewAccount {
            id: account,
            name: "overtaken@example.org".into(),
            protocol_version: 1,
            salt_seed: [1; 32],
            auth_key_hash: [2; 32],
            key_id: KEY,
            wrapped_key: vec![3; 72],
            device: NewDevice { id: device, encrypted_name: Vec::new(), token_hash: [4; 32] },
            recovery: None,
        };
        store.create_account(&new, 0).await.unwrap();
        let (late, early) = (vec![item(1, device, 1)], vec![item(2, device, 2)]);

        let stale = Read::of(&store.pool, account, &late, None).await.unwrap();
        let first = store.push(account, early, None, u64::MAX).await.unwrap();
        assert_eq!(first.cursor, Cursor(1));
        let written = plan_and_write(&store.pool, account, &late, stale, u64::MAX).await.unwrap();
        assert!(written.is_none(), "a write on a stale read went through");
        let page = store.pull(account, Cursor(0), 10).await.unwrap();
        assert_eq!(page.envelopes.len(), 1, "the stale write left rows behind");

        let second = store.push(account, late, None, u64::MAX).await.unwrap();
        assert_eq!(second.cursor, Cursor(2));
        let page = store.pull(account, Cursor(0), 10).await.unwrap();
        let seqs: Vec<u64> = page.envelopes.iter().map(|(seq, _)| seq.0).collect();
        assert_eq!(seqs, [1, 2]);
        assert_eq!(page.envelopes[1].1, vec![1u8; 40]);

        // A renewed log identity, then a rotation, between read and write.
        let third = vec![item(3, device, 3)];
        let stale = Read::of(&store.pool, account, &third, None).await.unwrap();
        let log = store.log_state(account).await.unwrap();
        assert!(store.renew_log(account, log.id).await.unwrap().1);
        let written = plan_and_write(&store.pool, account, &third, stale, u64::MAX).await.unwrap();
        assert!(written.is_none(), "a write across a renewed log went through");

        let stale = Read::of(&store.pool, account, &third, None).await.unwrap();
        sqlx::query(
            "WITH new_key AS (INSERT INTO account_keys (account_id, key_id, wrapped_key, created_at) \
             VALUES ($1, $2, '\\x00', 0)) UPDATE accounts SET current_key_id = $2 WHERE id = $1",
        )
        .bind(account.0)
        .bind(&[8u8; 16][..])
        .execute(&store.pool)
        .await
        .unwrap();
        let written = plan_and_write(&store.pool, account, &third, stale, u64::MAX).await.unwrap();
        assert!(written.is_none(), "a write under a rotated-out key went through");
        let pushed = store.push(account, third, None, u64::MAX).await.unwrap();
        assert_eq!(pushed.results, [PushResult::Rejected { code: RejectCode::StaleKeyId }]);
        assert_eq!(pushed.cursor, Cursor(2));
    }
}
