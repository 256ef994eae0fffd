//! Devices of the caller's account: list, rename (itself only) and revoke.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use sealsync_envelope::DeviceId;
use sealsync_envelope::dto::DeviceListEntry;

use crate::app::{App, now_ms};
use crate::auth::AuthDevice;
use crate::body::Json as JsonBody;
use crate::error::ApiError;
use crate::store::{Store, to_u64};
use crate::wire::{RenameDeviceBody, uuid_text};

/// `GET /v1/devices`: every device of the account, revoked ones included.
pub async fn list<S: Store>(
    State(app): State<App<S>>,
    AuthDevice(me): AuthDevice,
) -> Result<Json<Vec<DeviceListEntry>>, ApiError> {
    let devices = app.store.list_devices(me.account_id).await?;
    Ok(Json(
        devices
            .into_iter()
            .map(|d| DeviceListEntry {
                current: d.id == me.device_id,
                id: d.id,
                encrypted_name: d.encrypted_name,
                created_at: to_u64(d.created_at),
                last_seen_at: to_u64(d.last_seen_at),
                revoked_at: d.revoked_at.map(to_u64),
            })
            .collect(),
    ))
}

/// A device id in a path: UUID text in lower-case hyphenated form. Its
/// version is not checked, so a device registered before the server required
/// version 4 ids can still be renamed and revoked.
fn device_id(id: &str) -> Result<DeviceId, ApiError> {
    uuid_text(id).map(DeviceId).ok_or_else(|| {
        ApiError::bad_request("invalid_device_id", "the device id is not a UUID in lower-case hyphenated form")
    })
}

fn no_such_device() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "device_not_found", "the account has no such active device")
}

/// `PUT /v1/devices/{id}/name`: replaces the calling device's own sealed name
/// (a device that joins an account can seal its name only once login gave it
/// the data key). Any other id is `403 not_this_device`, whether or not such
/// a device exists: one device's token cannot relabel another device, for
/// example to make a stolen device look like the owner's phone before the
/// owner revokes devices by name. Revoking another device stays allowed.
pub async fn rename<S: Store>(
    State(app): State<App<S>>,
    AuthDevice(me): AuthDevice,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RenameDeviceBody>,
) -> Result<StatusCode, ApiError> {
    let id = device_id(&id)?;
    let request = body.check()?;
    if id != me.device_id {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "not_this_device", "a device can rename only itself"));
    }
    if app.store.rename_device(me.account_id, id, &request.encrypted_name).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(no_such_device())
    }
}

/// `DELETE /v1/devices/{id}`: the device's token stops working at once.
pub async fn revoke<S: Store>(
    State(app): State<App<S>>,
    AuthDevice(me): AuthDevice,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = device_id(&id)?;
    if app.store.revoke_device(me.account_id, id, now_ms()).await? {
        tracing::info!(account = %me.account_id, device = %id, by = %me.device_id, "device revoked");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(no_such_device())
    }
}
