//! `POST /v1/sync/log/renew`: a device that found the server lost part of
//! the account's log (restored from an older backup) has its identity
//! replaced, so every other device notices at its next sync (PROTOCOL.md
//! §8.2, "Restored servers").

use axum::extract::State;
use sealsync_envelope::dto::{LogState, RenewLogRequest};

use crate::app::App;
use crate::auth::AuthDevice;
use crate::body::Cbor;
use crate::error::ApiError;
use crate::store::Store;

/// Replaces the log identity if it is still the one the device saw; answers
/// the log as it is after, renewed by this request or an earlier one.
pub async fn renew<S: Store>(
    State(app): State<App<S>>,
    AuthDevice(me): AuthDevice,
    Cbor(request): Cbor<RenewLogRequest>,
) -> Result<Cbor<LogState>, ApiError> {
    let (log, renewed) = app.store.renew_log(me.account_id, request.log_id).await?;
    if renewed {
        tracing::warn!(account = %me.account_id, "log identity renewed: a device found the log rolled back");
        metrics::counter!("sealsync_log_renewals_total").increment(1);
    }
    Ok(Cbor(log))
}
