//! The harness at tiny sizes, so it cannot rot: every workload runs, the new
//! device receives every record, and the JSON holds every figure. No timing
//! is asserted here; figures belong to real runs of the harness.

use std::process::Command;

#[test]
fn every_workload_runs_at_tiny_sizes_and_reports_json() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("results.json");
    let output = Command::new(env!("CARGO_BIN_EXE_sealsync-bench"))
        .args(["--backend", "sqlite", "--records", "120", "--large", "200", "--runs", "1"])
        .args(["--incremental-runs", "5", "--accounts", "2", "--seconds", "1", "--json"])
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("bootstrap (new device)") && stdout.contains("raw sqlx insert"), "{stdout}");
    let results: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    for figure in [
        "upload_records_per_s",
        "bootstrap_records_per_s",
        "incremental_p99_ms",
        "large_incremental_p99_ms",
        "concurrency_syncs_per_s",
        "raw_aead_records_per_s",
        "raw_insert_records_per_s",
    ] {
        assert!(results[figure].as_f64().is_some_and(|v| v > 0.0), "{figure}: {}", results[figure]);
    }
    assert_eq!(results["concurrency_errors"], 0);
}
