//! HTTP handlers, one module per resource. Paths are fixed API (README.md).

pub mod accounts;
pub mod devices;
pub mod keys;
pub mod log;
pub mod meta;
pub mod pairings;
pub mod sync;
pub mod sync_page;
