//! The identity of each account's log (PROTOCOL.md §8.2, "Restored
//! servers"): read with every push and pull answer, and replaced when a
//! device shows that the server lost part of the log. Written once for both
//! backends, like `shared_queries!`.

/// Expands to the [`super::Store`] methods of the log identity.
macro_rules! log_queries {
    () => {
        async fn log_state(&self, account_id: AccountId) -> Result<sealsync_envelope::dto::LogState, StoreError> {
            let row: Option<(i64, Vec<u8>)> = sqlx::query_as("SELECT seq, log_id FROM accounts WHERE id = $1")
                .bind(account_id.0)
                .fetch_optional(&self.pool)
                .await?;
            let (seq, id) = row.ok_or(StoreError::AccountNotFound)?;
            let marks: Vec<(Uuid, i64)> = sqlx::query_as(
                "SELECT device_id, max_device_seq FROM device_counters WHERE account_id = $1 ORDER BY device_id",
            )
            .bind(account_id.0)
            .fetch_all(&self.pool)
            .await?;
            Ok(sealsync_envelope::dto::LogState {
                id: sealsync_envelope::dto::LogId(id.try_into().unwrap_or([0; 16])),
                head: Cursor(to_u64(seq)),
                devices: marks
                    .into_iter()
                    .map(|(device, high)| sealsync_envelope::dto::DeviceMark {
                        device: device.into_bytes(),
                        high: to_u64(high),
                    })
                    .collect(),
            })
        }

        async fn renew_log(
            &self,
            account_id: AccountId,
            seen: sealsync_envelope::dto::LogId,
        ) -> Result<(sealsync_envelope::dto::LogState, bool), StoreError> {
            let fresh = crate::auth::random_bytes::<16>();
            let renewed = sqlx::query("UPDATE accounts SET log_id = $3 WHERE id = $1 AND log_id = $2")
                .bind(account_id.0)
                .bind(&seen.0[..])
                .bind(&fresh[..])
                .execute(&self.pool)
                .await?
                .rows_affected()
                == 1;
            Ok((self.log_state(account_id).await?, renewed))
        }
    };
}
pub(crate) use log_queries;
