//! Exit statuses: one per kind of failure, so a script can tell a typo from
//! a dead network from a refusal without parsing messages. The table is API
//! (README.md, `sealsync --help`).

use std::process::ExitCode;

use sealsync_client::ClientError;

/// Success.
pub const OK: u8 = 0;
/// Anything not listed below (local storage, files, keys, internal).
pub const FAILURE: u8 = 1;
/// The command line itself is wrong (clap's own status).
pub const USAGE: u8 = 2;
/// No such record, or no journal at `--data-dir`.
pub const NOT_FOUND: u8 = 3;
/// A value was refused before anything was done (validation, weak
/// passphrase, bad URL, a deleted record).
pub const INVALID: u8 = 4;
/// The passphrase, recovery key or device token was not accepted.
pub const AUTH: u8 = 5;
/// The server could not be reached or did not answer in time.
pub const NETWORK: u8 = 6;
/// The server answered, and refused (quota, closed registration, a taken
/// name, a broken protocol).
pub const REFUSED: u8 = 7;
/// Something needs attention first: quarantined envelopes, keys changed
/// meanwhile, sync off (or already on), a key to unlock.
pub const ATTENTION: u8 = 8;

/// The `--help` text that lists them.
pub const HELP: &str = "Exit status: 0 ok, 1 other failure, 2 usage, 3 not found, 4 invalid input, \
5 authentication, 6 network, 7 refused by the server, 8 needs attention (quarantine, keys changed, sync state)";

/// The status for an error.
pub fn status(error: &ClientError) -> u8 {
    match error {
        ClientError::NotFound { .. } | ClientError::NoJournal(_) => NOT_FOUND,
        ClientError::Invalid(_)
        | ClientError::Deleted { .. }
        | ClientError::InvalidServerUrl(_)
        | ClientError::WeakPassphrase { .. }
        | ClientError::InsecurePermissions { .. } => INVALID,
        ClientError::WrongPassphrase | ClientError::WrongRecoveryKey | ClientError::SignedOut => AUTH,
        ClientError::Network(_) => NETWORK,
        ClientError::Server { .. }
        | ClientError::Refused { .. }
        | ClientError::RegistrationClosed
        | ClientError::AccountExists(_)
        | ClientError::ReenrolRequired(_)
        | ClientError::ProtocolViolation(_)
        | ClientError::SessionMismatch(_)
        | ClientError::ResponseTooLarge { .. }
        | ClientError::DeviceCompromised { .. }
        | ClientError::LinkFailed(_) => REFUSED,
        ClientError::StillQuarantined(_)
        | ClientError::KeysChanged
        | ClientError::NeedsUnlock
        | ClientError::SyncDisabled
        | ClientError::SyncAlreadyEnabled { .. } => ATTENTION,
        _ => FAILURE,
    }
}

/// As a process exit code.
pub fn code(status: u8) -> ExitCode {
    ExitCode::from(status)
}
