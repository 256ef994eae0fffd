//! Test support shared by every suite that needs Postgres: a scratch
//! database per test, created on the server `DATABASE_URL` names (default the
//! local one) and dropped when the test ends.
//!
//! It also holds the raw-insert baseline the benchmarks compare the server
//! with ([`raw_insert`]).
//!
//! The rule every suite follows: if Postgres is unreachable, the Postgres half
//! is skipped with a NOTICE on stderr, except under `CI=true`, where that is a
//! failure.

use std::io::Write as _;
use std::sync::Once;
use std::time::{Duration, Instant};

use sqlx::Connection;
use uuid::Uuid;

/// The administrative connection URL: `DATABASE_URL`, else the local server.
pub fn admin_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// `url` with its database name replaced (query parameters kept).
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// A throwaway database, dropped (forcibly) when this value is.
#[derive(Debug)]
pub struct ScratchPostgres {
    /// Connection URL of the scratch database.
    pub url: String,
    admin_url: String,
    name: String,
}

impl ScratchPostgres {
    /// Creates `PREFIX_<random>` on the server at `admin_url`.
    pub async fn create_on(admin_url: &str, prefix: &str) -> Result<Self, String> {
        let connect = tokio::time::timeout(Duration::from_secs(5), sqlx::PgConnection::connect(admin_url));
        let mut conn = match connect.await {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => return Err(e.to_string()),
            Err(_) => return Err("timed out".to_owned()),
        };
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        let create = format!("CREATE DATABASE \"{name}\"");
        sqlx::query(sqlx::AssertSqlSafe(create)).execute(&mut conn).await.map_err(|e| e.to_string())?;
        Ok(Self { url: with_database(admin_url, &name), admin_url: admin_url.to_owned(), name })
    }

    /// A scratch database for a test of `suite`, or `None` to skip (see the
    /// crate docs for the rule).
    pub async fn for_test(suite: &str) -> Option<Self> {
        match Self::create_on(&admin_url(), "sealsync_test").await {
            Ok(db) => Some(db),
            Err(reason) => {
                if std::env::var("CI").as_deref() == Ok("true") {
                    panic!("Postgres is required under CI=true but is unreachable: {reason}");
                }
                static NOTICE: Once = Once::new();
                NOTICE.call_once(|| {
                    // Written past the test harness's output capture, so it is always seen.
                    let _ = writeln!(
                        std::io::stderr(),
                        "\nNOTICE: Postgres is unreachable ({reason}); the Postgres half of the {suite} is SKIPPED. \
                         Set DATABASE_URL or start Postgres to run it.\n"
                    );
                });
                None
            }
        }
    }
}

impl Drop for ScratchPostgres {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop may run inside a runtime that must not block: use a thread of our own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            runtime.block_on(async {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
                    let drop = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                    let _ = sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&mut conn).await;
                }
            });
        })
        .join();
    }
}

/// Rows per transaction of [`raw_insert`]: the size of a bulk upload's pushes
/// (the client's largest batch, and the server's default limit).
pub const RAW_BATCH: usize = 2_000;

/// Inserts `count` rows shaped like the server's envelopes (same columns,
/// same bytes per row, same indexes) in batches of [`RAW_BATCH`], one
/// transaction each.
pub async fn raw_insert(database_url: &str, count: usize, envelope_len: usize) -> Duration {
    let envelope = vec![0xa5u8; envelope_len];
    let account = Uuid::new_v4();
    let device = Uuid::new_v4();
    if database_url.starts_with("postgres") {
        let mut conn = sqlx::PgConnection::connect(database_url).await.unwrap();
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS raw_envelopes (account_id UUID NOT NULL, record_id UUID NOT NULL, \
             device_id UUID NOT NULL, device_seq BIGINT NOT NULL, server_seq BIGINT NOT NULL, envelope BYTEA NOT NULL, \
             PRIMARY KEY (account_id, record_id, device_id))",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        sqlx::query("CREATE UNIQUE INDEX IF NOT EXISTS raw_by_cursor ON raw_envelopes (account_id, server_seq)")
            .execute(&mut conn)
            .await
            .unwrap();
        let started = Instant::now();
        for start in (0..count).step_by(RAW_BATCH) {
            let n = RAW_BATCH.min(count - start);
            let records: Vec<Uuid> = (0..n).map(|_| Uuid::new_v4()).collect();
            let devices = vec![device; n];
            let seqs: Vec<i64> = (start..start + n).map(|i| i as i64 + 1).collect();
            let bytes = vec![envelope.as_slice(); n];
            let mut tx = conn.begin().await.unwrap();
            sqlx::query(
                "INSERT INTO raw_envelopes (account_id, record_id, device_id, device_seq, server_seq, envelope) \
                 SELECT $1, * FROM UNNEST($2::uuid[], $3::uuid[], $4::int8[], $5::int8[], $6::bytea[])",
            )
            .bind(account)
            .bind(&records)
            .bind(&devices)
            .bind(&seqs)
            .bind(&seqs)
            .bind(&bytes)
            .execute(&mut *tx)
            .await
            .unwrap();
            tx.commit().await.unwrap();
        }
        started.elapsed()
    } else {
        let mut conn = sqlx::SqliteConnection::connect(database_url).await.unwrap();
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS raw_envelopes (account_id BLOB NOT NULL, record_id BLOB NOT NULL, \
             device_id BLOB NOT NULL, device_seq INTEGER NOT NULL, server_seq INTEGER NOT NULL, envelope BLOB NOT NULL, \
             PRIMARY KEY (account_id, record_id, device_id))",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        let started = Instant::now();
        for start in (0..count).step_by(RAW_BATCH) {
            let n = RAW_BATCH.min(count - start);
            let mut query = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "INSERT INTO raw_envelopes (account_id, record_id, device_id, device_seq, server_seq, envelope) ",
            );
            query.push_values(start..start + n, |mut row, i| {
                row.push_bind(account)
                    .push_bind(Uuid::new_v4())
                    .push_bind(device)
                    .push_bind(i as i64 + 1)
                    .push_bind(i as i64 + 1)
                    .push_bind(envelope.clone());
            });
            let mut tx = conn.begin().await.unwrap();
            query.build().execute(&mut *tx).await.unwrap();
            tx.commit().await.unwrap();
        }
        started.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_replaced_and_queries_kept() {
        assert_eq!(with_database("postgres://u@h:5432/postgres", "x"), "postgres://u@h:5432/x");
        assert_eq!(with_database("postgres://u@h/postgres?sslmode=disable", "x"), "postgres://u@h/x?sslmode=disable");
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
