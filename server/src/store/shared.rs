//! The queries that read the same on both backends, written once: sqlx's
//! SQLite driver takes the same `$N` placeholders as Postgres. Expanded inside
//! each backend's `impl Store`, where `self.pool` is that backend's pool and
//! `begin_write`, `unique_violation` and `NAME_CONSTRAINT` are that backend's.

/// Expands to the [`super::Store`] methods whose SQL both databases share.
macro_rules! shared_queries {
    () => {
        async fn ping(&self) -> Result<(), StoreError> {
            sqlx::query("SELECT 1").execute(&self.pool).await?;
            Ok(())
        }

        async fn server_secret(&self, name: &'static str) -> Result<[u8; 32], StoreError> {
            let candidate = crate::auth::random_bytes::<32>();
            sqlx::query("INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
                .bind(name)
                .bind(&candidate[..])
                .execute(&self.pool)
                .await?;
            let (value,): (Vec<u8>,) = sqlx::query_as("SELECT value FROM server_secrets WHERE name = $1")
                .bind(name)
                .fetch_one(&self.pool)
                .await?;
            Ok(bytes32(value))
        }

        async fn account_by_name(&self, name: &str) -> Result<Option<AccountLogin>, StoreError> {
            let row: Option<AccountRow> =
                sqlx::query_as("SELECT id, protocol_version, salt_seed, auth_key_hash FROM accounts WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await?;
            Ok(row.map(AccountLogin::from))
        }

        async fn auth_key_hash(&self, account_id: AccountId) -> Result<Option<[u8; 32]>, StoreError> {
            let row: Option<(Vec<u8>,)> = sqlx::query_as("SELECT auth_key_hash FROM accounts WHERE id = $1")
                .bind(account_id.0)
                .fetch_optional(&self.pool)
                .await?;
            Ok(row.map(|(hash,)| bytes32(hash)))
        }

        async fn token_revoked(&self, token_hash: &[u8; 32]) -> Result<bool, StoreError> {
            let revoked: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM devices WHERE token_hash = $1 AND revoked_at IS NOT NULL")
                    .bind(&token_hash[..])
                    .fetch_one(&self.pool)
                    .await?;
            Ok(revoked > 0)
        }

        async fn authenticate(&self, token_hash: &[u8; 32], now: i64) -> Result<Option<Authenticated>, StoreError> {
            let row: Option<(Uuid, Uuid, i64)> = sqlx::query_as(
                "SELECT account_id, id, last_seen_at FROM devices WHERE token_hash = $1 AND revoked_at IS NULL",
            )
            .bind(&token_hash[..])
            .fetch_optional(&self.pool)
            .await?;
            let Some((account_id, device_id, last_seen_at)) = row else {
                return Ok(None);
            };
            // Best effort: a database that cannot write (its disk full) still
            // authenticates, so pulls go on being served.
            if now - last_seen_at >= LAST_SEEN_RESOLUTION_MS
                && let Err(e) = sqlx::query("UPDATE devices SET last_seen_at = $3 WHERE account_id = $1 AND id = $2")
                    .bind(account_id)
                    .bind(device_id)
                    .bind(now)
                    .execute(&self.pool)
                    .await
            {
                tracing::warn!(error = %e, "could not record last_seen_at");
            }
            Ok(Some(Authenticated { account_id: AccountId(account_id), device_id: DeviceId(device_id) }))
        }

        async fn list_devices(&self, account_id: AccountId) -> Result<Vec<DeviceInfo>, StoreError> {
            let rows: Vec<DeviceRow> = sqlx::query_as(
                "SELECT id, encrypted_name, created_at, last_seen_at, revoked_at FROM devices \
             WHERE account_id = $1 ORDER BY created_at, id",
            )
            .bind(account_id.0)
            .fetch_all(&self.pool)
            .await?;
            Ok(rows.into_iter().map(DeviceInfo::from).collect())
        }

        async fn rename_device(
            &self,
            account_id: AccountId,
            device_id: DeviceId,
            encrypted_name: &[u8],
        ) -> Result<bool, StoreError> {
            let done = sqlx::query(
                "UPDATE devices SET encrypted_name = $3 WHERE account_id = $1 AND id = $2 AND revoked_at IS NULL",
            )
            .bind(account_id.0)
            .bind(device_id.0)
            .bind(encrypted_name)
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected() == 1)
        }

        async fn revoke_device(
            &self,
            account_id: AccountId,
            device_id: DeviceId,
            now: i64,
        ) -> Result<bool, StoreError> {
            let done = sqlx::query(
                "UPDATE devices SET revoked_at = $3 WHERE account_id = $1 AND id = $2 AND revoked_at IS NULL",
            )
            .bind(account_id.0)
            .bind(device_id.0)
            .bind(now)
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected() == 1)
        }

        async fn pull(&self, account_id: AccountId, after: Cursor, limit: u32) -> Result<PullPage, StoreError> {
            let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(
                "SELECT server_seq, envelope FROM envelopes WHERE account_id = $1 AND server_seq > $2 \
             ORDER BY server_seq LIMIT $3",
            )
            .bind(account_id.0)
            .bind(to_i64(after.0))
            .bind(i64::from(limit) + 1)
            .fetch_all(&self.pool)
            .await?;
            Ok(super::page(rows, limit))
        }

        async fn create_account(&self, account: &NewAccount, now: i64) -> Result<(), StoreError> {
            let mut tx = begin_write(&self.pool).await?;
            let recovery = account.recovery.as_ref();
            let inserted = sqlx::query(
                "INSERT INTO accounts (id, name, protocol_version, salt_seed, auth_key_hash, created_at, current_key_id, \
                 recovery_auth_hash, recovery_public_key, recovery_public_key_mac, recovery_wrapped_key, recovery_created_at, \
                 recovery_anchor_key_id, recovery_anchor) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            )
            .bind(account.id.0)
            .bind(&account.name)
            .bind(i32::from(account.protocol_version))
            .bind(&account.salt_seed[..])
            .bind(&account.auth_key_hash[..])
            .bind(now)
            .bind(&account.key_id.0[..])
            .bind(recovery.map(|r| r.auth_hash.to_vec()))
            .bind(recovery.map(|r| r.public_key.to_vec()))
            .bind(recovery.map(|r| r.public_key_mac.to_vec()))
            .bind(recovery.map(|r| r.wrapped_key.clone()))
            .bind(recovery.map(|_| now))
            .bind(recovery.map(|r| r.anchor.0.0.to_vec()))
            .bind(recovery.map(|r| r.anchor.1.to_vec()))
            .execute(&mut *tx)
            .await;
            if let Err(e) = inserted {
                return Err(match unique_violation(&e) {
                    Some(constraint) if constraint.contains(NAME_CONSTRAINT) => StoreError::AccountExists("name"),
                    Some(_) => StoreError::AccountExists("id"),
                    None => e.into(),
                });
            }
            // The name's own row (migration 0007): a name another account
            // holds fails here, on either backend.
            sqlx::query("INSERT INTO account_names (name, account_id) VALUES ($1, $2)")
                .bind(&account.name)
                .bind(account.id.0)
                .execute(&mut *tx)
                .await
                .map_err(|e| if unique_violation(&e).is_some() { StoreError::AccountExists("name") } else { e.into() })?;
            sqlx::query(
                "INSERT INTO account_keys (account_id, key_id, wrapped_key, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(account.id.0)
            .bind(&account.key_id.0[..])
            .bind(&account.wrapped_key)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            insert_device(&mut tx, account.id, &account.device, now).await?;
            tx.commit().await?;
            Ok(())
        }

        async fn add_device(&self, account_id: AccountId, device: &NewDevice, now: i64) -> Result<(), StoreError> {
            let mut tx = begin_write(&self.pool).await?;
            insert_device(&mut tx, account_id, device, now).await?;
            tx.commit().await?;
            Ok(())
        }

        async fn delete_account(&self, account_id: AccountId) -> Result<(), StoreError> {
            let mut tx = begin_write(&self.pool).await?;
            for statement in super::DELETE_ACCOUNT {
                sqlx::query(statement).bind(account_id.0).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        }
    };
}
pub(crate) use shared_queries;

/// Expands to `insert_device` for a backend's transaction type.
macro_rules! insert_device_fn {
    ($db:ty) => {
        async fn insert_device(
            tx: &mut sqlx::Transaction<'_, $db>,
            account_id: AccountId,
            device: &NewDevice,
            now: i64,
        ) -> Result<(), StoreError> {
            sqlx::query(
                "INSERT INTO devices (account_id, id, encrypted_name, token_hash, created_at, last_seen_at) \
                 VALUES ($1, $2, $3, $4, $5, $5)",
            )
            .bind(account_id.0)
            .bind(device.id.0)
            .bind(&device.encrypted_name)
            .bind(&device.token_hash[..])
            .bind(now)
            .execute(&mut **tx)
            .await
            .map_err(|e| if unique_violation(&e).is_some() { StoreError::DeviceExists } else { e.into() })?;
            Ok(())
        }
    };
}
pub(crate) use insert_device_fn;
