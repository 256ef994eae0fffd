//! `registration [open|closed|unset]`: whether strangers may create accounts,
//! stored in the database (`server_settings`) so every running instance
//! follows it at its next registration request, without a restart. A stored
//! value overrides `--registration`; `unset` removes it, and the flag (or its
//! variable, or the configuration file) applies again.

use clap::ValueEnum;

use super::AdminError;
use crate::app::{REGISTRATION_SETTING, Registration};
use crate::store::Store;

/// What `registration` is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RegistrationChange {
    /// Anyone may create an account.
    Open,
    /// Only existing accounts (which can still add devices).
    Closed,
    /// Remove the stored setting: `--registration` applies again.
    Unset,
}

/// Applies `change` (if any) and describes the state: the stored value, the
/// flag's, and which applies.
pub async fn registration<S: Store>(
    store: &S,
    change: Option<RegistrationChange>,
    flag: Registration,
) -> Result<String, AdminError> {
    match change {
        Some(RegistrationChange::Open) => store.set_setting(REGISTRATION_SETTING, Some("open")).await?,
        Some(RegistrationChange::Closed) => store.set_setting(REGISTRATION_SETTING, Some("closed")).await?,
        Some(RegistrationChange::Unset) => store.set_setting(REGISTRATION_SETTING, None).await?,
        None => {}
    }
    let flag_name = if flag == Registration::Open { "open" } else { "closed" };
    Ok(match store.setting(REGISTRATION_SETTING).await? {
        Some(stored) => format!(
            "registration: {stored} (stored in the database; it overrides --registration, here {flag_name}; \
             running servers follow it at their next registration request)"
        ),
        None => format!(
            "registration: {flag_name} (from --registration / SEALSYNC_REGISTRATION as this command sees it; \
             no value is stored in the database)"
        ),
    })
}
