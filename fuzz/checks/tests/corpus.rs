//! Replays the committed fuzz corpus on the stable toolchain: every file of
//! `fuzz/corpus/<target>/` through the same check its fuzz target runs, so
//! `cargo test --workspace` (and CI) keeps every seed and every input a fuzzer
//! once found, crashes included, without nightly or libFuzzer.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use sealsync_fuzz_checks::TARGETS;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn names(dir: &Path, suffix: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").file_name().into_string().expect("a UTF-8 name"))
        .filter_map(|name| name.strip_suffix(suffix).map(str::to_owned))
        .collect();
    names.sort();
    names
}

/// Every target has its binary and its corpus, and nothing else is there.
#[test]
fn targets_binaries_and_corpora_match() {
    let mut targets: Vec<String> = TARGETS.iter().map(|(name, _)| name.to_string()).collect();
    targets.sort();
    assert_eq!(names(&fuzz_dir().join("fuzz_targets"), ".rs"), targets);
    assert_eq!(names(&fuzz_dir().join("corpus"), ""), targets);
}

fn replay(target: &str) {
    let (_, check) = TARGETS.iter().find(|(name, _)| *name == target).expect("a target");
    let dir = fuzz_dir().join("corpus").join(target);
    let files = names(&dir, "");
    assert!(!files.is_empty(), "{}: no corpus", dir.display());
    let failed: Vec<&String> = files
        .iter()
        .filter(|file| {
            let data = std::fs::read(dir.join(file)).expect("a corpus file");
            catch_unwind(AssertUnwindSafe(|| check(&data))).is_err()
        })
        .collect();
    assert!(failed.is_empty(), "{target}: {} of {} inputs fail: {failed:?}", failed.len(), files.len());
}

macro_rules! replay {
    ($($target:ident),* $(,)?) => {$(
        #[test]
        fn $target() {
            replay(stringify!($target));
        }
    )*};
}

replay!(envelope, payload, record_body, unpad, dto_cbor, json, link, link_open);
