//! The plugin's commands: each forwards to the journal on the sync
//! controller's thread ([`crate::Sealsync`]) and answers a view or a
//! [`PluginError`].

use sealsync_client::{
    Activity, Assessment, EnableOptions, Journal, Mood, Passphrase, RecordType, Schedule, SyncStateEvent,
};
use sealsync_envelope::DeviceId;
use serde::de::DeserializeOwned;
use tauri::State;
use uuid::Uuid;

use crate::Sealsync;
use crate::error::PluginError;
use crate::strength::{self, Strength};
use crate::views::{
    CreatedView, DeviceView, EnableMode, EnabledView, KeyStorage, RecordKind, RecordView, RecoveryKeyView,
    SyncStatusView, SyncSummaryView, UpdatedView,
};

type Answer<T> = Result<T, PluginError>;

fn passphrase(typed: String) -> Answer<Passphrase> {
    Ok(Passphrase::new(typed).map_err(sealsync_client::ClientError::from)?)
}

fn parse_id(id: &str) -> Answer<Uuid> {
    Uuid::parse_str(id).map_err(|_| PluginError::invalid(format!("{id:?} is not a record id")))
}

#[tauri::command]
pub(crate) async fn status(state: State<'_, Sealsync>) -> Answer<SyncStatusView> {
    let current = state.state();
    state
        .call(move |j| {
            Box::pin(async move {
                let status = j.sync_status()?;
                let sync = status.state.as_ref();
                Ok(SyncStatusView {
                    enabled: status.enabled,
                    server_url: sync.map(|s| s.server_url.clone()),
                    device_id: sync.map(|s| s.device_id.to_string()),
                    device_name: None,
                    last_sync_at: sync.and_then(|s| s.last_sync_at),
                    pending: status.pending,
                    quarantined: status.quarantined.len() as u64,
                    conflicts: status.conflicts.len() as u64,
                    key_storage: status.enabled.then_some(KeyStorage::File),
                    state: if status.enabled { current } else { SyncStateEvent::Disabled },
                })
            })
        })
        .await
}

#[tauri::command]
pub(crate) async fn passphrase_strength(passphrase: String) -> Answer<Strength> {
    Ok(strength::estimate(&passphrase, &[]))
}

#[tauri::command]
pub(crate) async fn enable(
    state: State<'_, Sealsync>,
    mode: EnableMode,
    server_url: String,
    account_name: String,
    passphrase: String,
    device_name: String,
) -> Answer<EnabledView> {
    let create = mode == EnableMode::New;
    if create && !strength::estimate(&passphrase, &[&account_name]).acceptable {
        return Err(PluginError {
            code: "weak_passphrase".into(),
            message: "this passphrase is quick to guess; choose a longer one (several unrelated words)".into(),
        });
    }
    let options = EnableOptions {
        server_url,
        account_name,
        passphrase: self::passphrase(passphrase)?,
        create,
        allow_insecure_http: false,
        device_name,
        recovery_key: create,
    };
    state
        .call(move |j| {
            Box::pin(async move {
                let enabled = j.enable_sync(options).await?;
                Ok(EnabledView {
                    device_id: enabled.state.device_id.to_string(),
                    recovery_key: enabled.recovery_key.map(|k| k.expose().to_owned()),
                })
            })
        })
        .await
}

#[tauri::command]
pub(crate) async fn disable(state: State<'_, Sealsync>) -> Answer<()> {
    state.call(|j| Box::pin(async move { Ok(j.disable_sync().await?) })).await
}

#[tauri::command]
pub(crate) async fn sync_now(state: State<'_, Sealsync>) -> Answer<SyncSummaryView> {
    Ok(state.controller.sync_now().await?.into())
}

#[tauri::command]
pub(crate) async fn devices(state: State<'_, Sealsync>) -> Answer<Vec<DeviceView>> {
    state.call(|j| Box::pin(async move { Ok(j.devices().await?.into_iter().map(DeviceView::from).collect()) })).await
}

#[tauri::command]
pub(crate) async fn revoke_device(state: State<'_, Sealsync>, device_id: String) -> Answer<()> {
    let device = DeviceId(parse_device(&device_id)?);
    state.call(move |j| Box::pin(async move { Ok(j.revoke_device(device).await?) })).await
}

fn parse_device(id: &str) -> Answer<Uuid> {
    Uuid::parse_str(id).map_err(|_| PluginError::invalid(format!("{id:?} is not a device id")))
}

#[tauri::command]
pub(crate) async fn change_passphrase(
    state: State<'_, Sealsync>,
    old_passphrase: String,
    new_passphrase: String,
) -> Answer<()> {
    if !strength::estimate(&new_passphrase, &[]).acceptable {
        return Err(PluginError {
            code: "weak_passphrase".into(),
            message: "the new passphrase is quick to guess; choose a longer one (several unrelated words)".into(),
        });
    }
    let (old, new) = (passphrase(old_passphrase)?, passphrase(new_passphrase)?);
    state.call(move |j| Box::pin(async move { Ok(j.change_passphrase(&old, &new, false).await?) })).await
}

#[tauri::command]
pub(crate) async fn new_recovery_key(state: State<'_, Sealsync>, passphrase: String) -> Answer<RecoveryKeyView> {
    let passphrase = self::passphrase(passphrase)?;
    state
        .call(move |j| {
            Box::pin(async move {
                let key = j.new_recovery_key(&passphrase).await?;
                Ok(RecoveryKeyView { recovery_key: key.expose().to_owned() })
            })
        })
        .await
}

#[tauri::command]
pub(crate) async fn rotate_key(state: State<'_, Sealsync>, passphrase: String) -> Answer<()> {
    let passphrase = self::passphrase(passphrase)?;
    state.call(move |j| Box::pin(async move { j.rotate_key(&passphrase).await.map(drop).map_err(Into::into) })).await
}

#[tauri::command]
pub(crate) async fn unlock(state: State<'_, Sealsync>, passphrase: String) -> Answer<()> {
    let passphrase = self::passphrase(passphrase)?;
    state.call(move |j| Box::pin(async move { j.unlock(&passphrase).await.map(drop).map_err(Into::into) })).await
}

/// Runs `$body` with `$T` the record type of `$kind`.
macro_rules! with_kind {
    ($kind:expr, $T:ident => $body:expr) => {
        match $kind {
            RecordKind::Mood => {
                type $T = Mood;
                $body
            }
            RecordKind::Assessment => {
                type $T = Assessment;
                $body
            }
            RecordKind::Activity => {
                type $T = Activity;
                $body
            }
            RecordKind::Schedule => {
                type $T = Schedule;
                $body
            }
        }
    };
}

fn fields<T: DeserializeOwned>(kind: RecordKind, fields: serde_json::Value) -> Answer<T> {
    serde_json::from_value(fields).map_err(|e| PluginError::invalid(format!("not the fields of a {kind:?}: {e}")))
}

fn view<T: RecordType>(kind: RecordKind, record: sealsync_client::Record<T>) -> Answer<RecordView> {
    let fields = record
        .fields
        .as_ref()
        .map(serde_json::to_value)
        .transpose()
        .map_err(|e| PluginError::internal(format!("a record does not serialize: {e}")))?;
    Ok(RecordView {
        id: record.id.to_string(),
        kind,
        fields,
        created_at: record.created_at,
        updated_at: record.updated_at,
        deleted: record.deleted_at.is_some(),
    })
}

/// A schedule must name an activity the journal has, not deleted.
fn check_schedule(journal: &Journal, schedule: &Schedule) -> Answer<()> {
    let activity = journal.get::<Activity>(schedule.activity_id)?;
    if activity.deleted_at.is_some() {
        return Err(sealsync_client::ClientError::Deleted { kind: Activity::KIND, id: activity.id.to_string() }.into());
    }
    Ok(())
}

#[tauri::command]
pub(crate) async fn create(
    state: State<'_, Sealsync>,
    kind: RecordKind,
    fields: serde_json::Value,
) -> Answer<CreatedView> {
    with_kind!(kind, T => {
        let record: T = self::fields(kind, fields)?;
        state.call(move |j| Box::pin(async move {
            if let Some(schedule) = (&record as &dyn std::any::Any).downcast_ref::<Schedule>() {
                check_schedule(j, schedule)?;
            }
            Ok(CreatedView { id: j.create(&record)?.to_string() })
        })).await
    })
}

#[tauri::command]
pub(crate) async fn update(
    state: State<'_, Sealsync>,
    kind: RecordKind,
    id: String,
    fields: serde_json::Value,
) -> Answer<UpdatedView> {
    let id = parse_id(&id)?;
    with_kind!(kind, T => {
        let record: T = self::fields(kind, fields)?;
        state.call(move |j| Box::pin(async move {
            if let Some(schedule) = (&record as &dyn std::any::Any).downcast_ref::<Schedule>() {
                check_schedule(j, schedule)?;
            }
            Ok(UpdatedView { changed: j.update(id, &record)? })
        })).await
    })
}

#[tauri::command]
pub(crate) async fn delete(state: State<'_, Sealsync>, kind: RecordKind, id: String) -> Answer<()> {
    let id = parse_id(&id)?;
    with_kind!(kind, T => state.call(move |j| Box::pin(async move { Ok(j.delete::<T>(id)?) })).await)
}

#[tauri::command]
pub(crate) async fn get(state: State<'_, Sealsync>, kind: RecordKind, id: String) -> Answer<RecordView> {
    let id = parse_id(&id)?;
    with_kind!(kind, T => state.call(move |j| Box::pin(async move { view(kind, j.get::<T>(id)?) })).await)
}

#[tauri::command]
pub(crate) async fn list(
    state: State<'_, Sealsync>,
    kind: RecordKind,
    include_deleted: Option<bool>,
) -> Answer<Vec<RecordView>> {
    let include_deleted = include_deleted.unwrap_or(false);
    with_kind!(kind, T => state.call(move |j| Box::pin(async move {
        j.list::<T>(include_deleted)?.into_iter().map(|r| view(kind, r)).collect()
    })).await)
}
