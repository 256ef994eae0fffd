//! The user's own copy of the journal: export (JSON or CSV, plain or
//! age-encrypted), import (merged by the sync rule, in one transaction) and
//! local erasure. docs/EXPORT.md specifies the formats; nothing here needs
//! sync, and the store never learns of this module.
//!
//! - [`document`]: the versioned JSON document and one exported record;
//! - [`csv`]: the same records as a zip of one CSV file per kind;
//! - [`crypt`]: age encryption (passphrase or X25519 recipients) and its reverse;
//! - [`export`] / [`import`]: reading the store out and merging a file in;
//! - [`erase`]: deleting the journal and its keys from this device.

pub mod crypt;
pub mod csv;
pub mod document;
pub mod erase;
pub mod export;
pub mod import;

use serde::{Deserialize, Serialize};

pub use crypt::{Decryption, Encryption, SecretString};
pub use export::{ExportOptions, ExportSummary};
pub use import::{ImportReport, Refused};

/// The two layouts of an export (docs/EXPORT.md).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// One JSON document.
    #[default]
    Json,
    /// A zip of one CSV file per kind and a small JSON manifest.
    Csv,
}

/// Why an export or import did not complete. An import that fails changes
/// nothing; an export that fails leaves no file behind.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// The file is not an export this version reads (bad JSON, a broken zip, missing members).
    #[error("the file is not a readable sealsync export: {0}; nothing was imported")]
    Malformed(String),
    /// The file ends early: cut off while it was written or copied.
    #[error("the file is truncated (it ends in the middle of {0}); nothing was imported")]
    Truncated(&'static str),
    /// A format or version this client does not know.
    #[error(
        "the file is a {format} export of version {version}, which this sealsync does not read; nothing was imported"
    )]
    UnsupportedVersion {
        /// The `format` member.
        format: String,
        /// The `version` member.
        version: u64,
    },
    /// An age file, and no passphrase or identity to open it.
    #[error("the file is encrypted with age to {0}; give it to open the file")]
    KeyRequired(&'static str),
    /// The passphrase or identity does not open the age file.
    #[error("the passphrase or identity does not open this encrypted file; nothing was imported")]
    WrongKey,
    /// The age file fails its authentication: altered or damaged.
    #[error("the encrypted file is damaged or was altered (its authentication fails); nothing was imported")]
    Tampered,
    /// An age recipient or identity that does not parse.
    #[error("{0}")]
    InvalidKey(String),
    /// Encryption failed.
    #[error("cannot encrypt the export: {0}")]
    Encrypt(String),
    /// A step that exposes or destroys data was asked for without a
    /// terminal to confirm it on, and without `--yes`.
    #[error("{0} needs confirmation: run it on a terminal, or pass --yes")]
    ConfirmationRequired(&'static str),
}

impl DataError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "export_malformed",
            Self::Truncated(_) => "export_truncated",
            Self::UnsupportedVersion { .. } => "export_unsupported_version",
            Self::KeyRequired(_) => "export_key_required",
            Self::WrongKey => "export_wrong_key",
            Self::Tampered => "export_tampered",
            Self::InvalidKey(_) => "export_invalid_key",
            Self::Encrypt(_) => "export_encrypt",
            Self::ConfirmationRequired(_) => "confirmation_required",
        }
    }
}
