//! What the fuzz targets assert, one `check_<target>(data)` per target.
//!
//! Both the cargo-fuzz targets (`fuzz/fuzz_targets/<target>.rs`, nightly,
//! libFuzzer) and the stable corpus replay (`tests/corpus.rs`, run by
//! `cargo test --workspace`) call these functions, so the properties are
//! written once. A check panics when a property fails; on any input it must
//! return normally otherwise.
//!
//! - [`check_envelope`], [`check_payload`], [`check_record_body`]: the strict
//!   canonical-CBOR decoders of PROTOCOL.md §4.1, §4.2, §4.6 and §4.7;
//! - [`check_unpad`]: the padding of §4.3;
//! - [`check_dto_cbor`]: the sync bodies of §8.2 (push request and response,
//!   pull response), through `dto::from_cbor`;
//! - [`check_json`]: the account and device bodies of §8.1, through the
//!   server's own field checks (`sealsync_server::wire`), and the JSON
//!   answers a client reads;
//! - [`check_link`], [`check_link_open`]: the device-linking messages of §6.
#![forbid(unsafe_code)]

mod decoders;
mod dto;
mod json;
mod link;

pub use decoders::{check_envelope, check_payload, check_record_body, check_unpad};
pub use dto::check_dto_cbor;
pub use json::check_json;
pub use link::{check_link, check_link_open};

/// A target's check: panics when a property fails.
pub type Check = fn(&[u8]);

/// Every fuzz target: its name (a binary in `fuzz/fuzz_targets/` and a
/// directory in `fuzz/corpus/`) and its check.
pub const TARGETS: &[(&str, Check)] = &[
    ("envelope", check_envelope),
    ("payload", check_payload),
    ("record_body", check_record_body),
    ("unpad", check_unpad),
    ("dto_cbor", check_dto_cbor),
    ("json", check_json),
    ("link", check_link),
    ("link_open", check_link_open),
];
