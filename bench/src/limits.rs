//! What the machine can do without sealsync in the way, measured in the same
//! run: XChaCha20-Poly1305 over payloads of the same size, and a bulk insert of
//! the same rows and bytes into the same database with sqlx.

use std::time::{Duration, Instant};

use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use sqlx::Connection;
use uuid::Uuid;

/// Seal and open `count` messages of `len` bytes (one OS nonce each, as a
/// correct use of the AEAD needs): the crypto ceiling of a sync.
pub fn aead(count: usize, len: usize) -> Duration {
    let cipher = XChaCha20Poly1305::new(&[7u8; 32].into());
    let message = vec![0x5a; len];
    let started = Instant::now();
    for _ in 0..count {
        let mut nonce = [0u8; 24];
        getrandom::fill(&mut nonce).unwrap();
        let nonce = XNonce::from(nonce);
        let mut buffer = message.clone();
        cipher.encrypt_in_place(&nonce, b"", &mut buffer).unwrap();
        cipher.decrypt_in_place(&nonce, b"", &mut buffer).unwrap();
        std::hint::black_box(buffer);
    }
    started.elapsed()
}

/// Inserts `count` rows shaped like the server's envelopes (same columns,
/// same bytes per row, same indexes) in batches of 500, one transaction each.
pub async fn insert(database_url: &str, count: usize, envelope_len: usize) -> Duration {
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
        for start in (0..count).step_by(500) {
            let n = 500.min(count - start);
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
        for start in (0..count).step_by(500) {
            let n = 500.min(count - start);
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
