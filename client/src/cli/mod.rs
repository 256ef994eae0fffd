//! The `sealsync` command line: flags, their translation into records, and output.

pub mod args;
pub mod data;
pub mod exit;
pub mod output;
pub mod records;
pub mod watch;
