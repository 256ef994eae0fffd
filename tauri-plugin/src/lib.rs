//! `tauri-plugin-sealsync`: the sealsync journal and its end-to-end-encrypted
//! background sync in a Tauri 2 app, with one line:
//!
//! ```ignore
//! tauri::Builder::default().plugin(tauri_plugin_sealsync::init())
//! ```
//!
//! At setup it opens the journal in `<app data dir>/sealsync` and starts a
//! [`sealsync_client::Controller`] on a thread of its own: the journal's
//! SQLite connection lives there, every command reaches it through the
//! controller's handle, and the controller syncs at start, shortly after
//! each edit, periodically and on demand while sync is on. Each of its state
//! changes is emitted as the event [`STATE_EVENT`]. Commands answer views
//! ([`views`]) or reject with [`PluginError`] `{ code, message }`;
//! `guest-js/` has their TypeScript.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use sealsync_client::{Controller, ControllerConfig, ControllerHandle, Journal, SyncStateEvent};
use tauri::plugin::TauriPlugin;
use tauri::{Emitter, Manager, Runtime};

mod commands;
pub mod error;
pub mod strength;
pub mod views;

pub use error::PluginError;

/// The event carrying each [`SyncStateEvent`].
pub const STATE_EVENT: &str = "sealsync://state";

/// The plugin with its defaults: the journal in `<app data dir>/sealsync`,
/// syncing 2 s after an edit and every 15 minutes.
pub fn init<R: Runtime>() -> TauriPlugin<R> {
    Builder::default().build()
}

/// The plugin, configured.
#[derive(Debug, Default)]
pub struct Builder {
    data_dir: Option<PathBuf>,
    config: ControllerConfig,
}

impl Builder {
    /// The journal's directory (default: `<app data dir>/sealsync`).
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// When to sync and how to back off.
    pub fn controller(mut self, config: ControllerConfig) -> Self {
        self.config = config;
        self
    }

    /// Builds the plugin.
    pub fn build<R: Runtime>(self) -> TauriPlugin<R> {
        tauri::plugin::Builder::new("sealsync")
            .invoke_handler(tauri::generate_handler![
                commands::status,
                commands::passphrase_strength,
                commands::enable,
                commands::disable,
                commands::sync_now,
                commands::devices,
                commands::revoke_device,
                commands::change_passphrase,
                commands::new_recovery_key,
                commands::rotate_key,
                commands::unlock,
                commands::create,
                commands::update,
                commands::delete,
                commands::get,
                commands::list,
            ])
            .setup(move |app, _api| {
                let dir = match self.data_dir {
                    Some(dir) => dir,
                    None => app.path().app_data_dir()?.join("sealsync"),
                };
                let journal = Journal::open(&dir)?;
                let state = Arc::new(Mutex::new(SyncStateEvent::Idle));
                let (shown, emitter) = (state.clone(), app.clone());
                let (controller, _thread) = Controller::spawn(journal, self.config, move |event: &SyncStateEvent| {
                    *shown.lock().unwrap_or_else(|e| e.into_inner()) = event.clone();
                    let _ = emitter.emit(STATE_EVENT, event);
                })?;
                app.manage(Sealsync { controller, state });
                Ok(())
            })
            .build()
    }
}

/// The plugin's state: the controller that owns the journal.
pub(crate) struct Sealsync {
    controller: ControllerHandle,
    /// The last state the controller reported.
    state: Arc<Mutex<SyncStateEvent>>,
}

impl Sealsync {
    fn state(&self) -> SyncStateEvent {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Runs `f` with the journal on the controller's thread.
    async fn call<T, F>(&self, f: F) -> Result<T, PluginError>
    where
        T: Send + 'static,
        F: for<'a> FnOnce(&'a mut Journal) -> Pin<Box<dyn std::future::Future<Output = Result<T, PluginError>> + 'a>>
            + Send
            + 'static,
    {
        self.controller.call(f).await.map_err(|e| PluginError::internal(e.to_string()))?
    }
}
