//! The identity of each account's log (PROTOCOL.md §8.2, "Restored
//! servers"): read with every push and pull answer, and replaced when a
//! device shows that the server lost part of the log. Written once for both
//! backends, like `shared_queries!`.

/// Expands to the [`super::Store`] methods of the log identity.
macro_rules! log_queries {
    () => {
        async fn log_state(&self, account_id: AccountId) -> Result<sealsync_envelope::dto::LogState, StoreError> {
            // One round trip: the account row, with a device's marks per row.
            let rows: Vec<(i64, Vec<u8>, Option<Uuid>, Option<i64>)> = sqlx::query_as(
                "SELECT a.seq, a.log_id, d.device_id, d.max_device_seq FROM accounts a \
                 LEFT JOIN device_counters d ON d.account_id = a.id WHERE a.id = $1 ORDER BY d.device_id",
            )
            .bind(account_id.0)
            .fetch_all(&self.pool)
            .await?;
            let (seq, id) =
                rows.first().map(|(seq, id, _, _)| (*seq, id.clone())).ok_or(StoreError::AccountNotFound)?;
            let marks = rows.into_iter().filter_map(|(_, _, device, high)| Some((DeviceId(device?), to_u64(high?))));
            Ok(super::log::state(&id, to_u64(seq), marks))
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

use sealsync_envelope::dto::{DeviceMark, LogId, LogState};
use sealsync_envelope::{Cursor, DeviceId};

/// The answer's `log` from the stored identity, head and marks (marks in
/// device id order, as both backends sort them).
pub(crate) fn state(id: &[u8], head: u64, marks: impl IntoIterator<Item = (DeviceId, u64)>) -> LogState {
    LogState {
        id: LogId(id.try_into().unwrap_or([0; 16])),
        head: Cursor(head),
        devices: marks.into_iter().map(|(device, high)| DeviceMark { device: device.0.into_bytes(), high }).collect(),
    }
}

/// The log as a push leaves it: the marks the push read (still current when
/// it stored), raised by the push, with its identity and the head it moved to.
pub(crate) fn after_push(
    id: &[u8],
    head: u64,
    mut marks: std::collections::HashMap<DeviceId, u64>,
    raised: &[(DeviceId, u64)],
) -> LogState {
    for &(device, high) in raised {
        let mark = marks.entry(device).or_default();
        *mark = (*mark).max(high);
    }
    let mut marks: Vec<(DeviceId, u64)> = marks.into_iter().collect();
    marks.sort_unstable();
    state(id, head, marks)
}
