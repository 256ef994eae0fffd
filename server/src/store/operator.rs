//! Storage of the operator's commands (crate::admin): the account summaries
//! `accounts` lists (counts and sizes only, never names or sealed bytes), the
//! settings an operator changes on a running server (`server_settings`,
//! migration 0007), and the schema version applied. Same SQL on both
//! backends but the catalog query.

use std::future::Future;

use sealsync_envelope::AccountId;
use uuid::Uuid;

use super::StoreError;

/// One account as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AccountSummary {
    /// The account id.
    pub id: AccountId,
    /// Unix ms of registration.
    pub created_at: i64,
    /// Devices not revoked.
    pub devices: i64,
    /// Envelopes stored.
    pub envelopes: i64,
    /// Envelope bytes stored (what the quota counts).
    pub stored_bytes: i64,
    /// Unix ms of the last authenticated request of any device (to the minute).
    pub last_activity: Option<i64>,
}

/// The schema version applied to a database and the one this binary brings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SchemaVersions {
    /// The newest migration applied (`None`: never migrated).
    pub applied: Option<i64>,
    /// The newest migration this binary has.
    pub expected: i64,
}

/// The operator's storage; every [`super::Store`] is one.
pub trait OperatorStore {
    /// Every account, oldest first.
    fn account_summaries(&self) -> impl Future<Output = Result<Vec<AccountSummary>, StoreError>> + Send;

    /// A stored setting, if the operator set one.
    fn setting(&self, name: &'static str) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// Stores a setting, or removes it (`None`).
    fn set_setting(
        &self,
        name: &'static str,
        value: Option<&str>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The schema version applied and the one expected, without migrating.
    fn schema_versions(&self) -> impl Future<Output = Result<SchemaVersions, StoreError>> + Send;
}

type SummaryRow = (Uuid, i64, i64, i64, i64, Option<i64>);

/// Implements [`OperatorStore`] for a backend whose pool is `self.pool`;
/// `$migrator` is its migrations, `$has_migrations` counts its
/// `_sqlx_migrations` tables (0 or 1).
macro_rules! operator_store {
    ($store:ty, $migrator:expr, $has_migrations:expr) => {
        impl OperatorStore for $store {
            async fn account_summaries(&self) -> Result<Vec<AccountSummary>, StoreError> {
                let rows: Vec<SummaryRow> = sqlx::query_as(
                    "SELECT a.id, a.created_at, \
                     (SELECT COUNT(*) FROM devices d WHERE d.account_id = a.id AND d.revoked_at IS NULL), \
                     (SELECT COUNT(*) FROM envelopes e WHERE e.account_id = a.id), \
                     a.stored_bytes, \
                     (SELECT MAX(d.last_seen_at) FROM devices d WHERE d.account_id = a.id) \
                     FROM accounts a ORDER BY a.created_at, a.id",
                )
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(id, created_at, devices, envelopes, stored_bytes, last_activity)| AccountSummary {
                        id: AccountId(id),
                        created_at,
                        devices,
                        envelopes,
                        stored_bytes,
                        last_activity,
                    })
                    .collect())
            }

            async fn setting(&self, name: &'static str) -> Result<Option<String>, StoreError> {
                Ok(sqlx::query_scalar("SELECT value FROM server_settings WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn set_setting(&self, name: &'static str, value: Option<&str>) -> Result<(), StoreError> {
                match value {
                    Some(value) => {
                        sqlx::query(
                            "INSERT INTO server_settings (name, value) VALUES ($1, $2) \
                         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                        )
                        .bind(name)
                        .bind(value)
                        .execute(&self.pool)
                        .await?
                    }
                    None => {
                        sqlx::query("DELETE FROM server_settings WHERE name = $1")
                            .bind(name)
                            .execute(&self.pool)
                            .await?
                    }
                };
                Ok(())
            }

            async fn schema_versions(&self) -> Result<SchemaVersions, StoreError> {
                let expected = $migrator.iter().map(|m| m.version).max().unwrap_or(0);
                let tables: i64 = sqlx::query_scalar($has_migrations).fetch_one(&self.pool).await?;
                let applied = if tables == 0 {
                    None
                } else {
                    sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                        .fetch_one(&self.pool)
                        .await?
                };
                Ok(SchemaVersions { applied, expected })
            }
        }
    };
}

operator_store!(
    super::postgres::PgStore,
    sqlx::migrate!("../migrations/server-postgres"),
    "SELECT COUNT(*) FROM information_schema.tables \
     WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'"
);
operator_store!(
    super::sqlite::SqliteStore,
    sqlx::migrate!("../migrations/server-sqlite"),
    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'"
);
