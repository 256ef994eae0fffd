//! The harness at tiny sizes, so it cannot rot: every workload runs, the new
//! device receives every record, and the JSON holds every figure. No timing
//! is asserted here; figures belong to real runs of the harness.

use std::process::Command;

#[test]
fn every_workload_runs_at_tiny_sizes_and_reports_json() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("results.json");
    // The CLI beside this binary, where the workspace built it (`cargo test --workspace`).
    let bench = std::path::PathBuf::from(env!("CARGO_BIN_EXE_sealsync-bench"));
    let cli = bench.with_file_name(format!("sealsync{}", std::env::consts::EXE_SUFFIX));
    let mut command = Command::new(&bench);
    command
        .args(["--backend", "sqlite", "--records", "120", "--large", "200", "--runs", "1"])
        .args(["--incremental-runs", "5", "--accounts", "2", "--seconds", "1", "--json"])
        .arg(&json);
    if cli.exists() {
        command.arg("--cli").arg(&cli);
    } else {
        eprintln!("{} not built: the CLI workloads are not run here", cli.display());
    }
    let output = command.output().unwrap();
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
    if cfg!(target_os = "linux") {
        for figure in ["server_peak_anon_mib", "server_peak_rss_mib", "concurrency_cpu_clients_pct"] {
            assert!(results[figure].as_f64().is_some_and(|v| v > 0.0), "{figure}: {}", results[figure]);
        }
    }
    if cli.exists() {
        for figure in ["cli_upload_records_per_s", "cli_bootstrap_records_per_s", "large_cli_bootstrap_records_per_s"] {
            assert!(results[figure].as_f64().is_some_and(|v| v > 0.0), "{figure}: {}", results[figure]);
        }
        if cfg!(target_os = "linux") {
            let anon = results["large_cli_bootstrap_peak_anon_mib"].as_f64().unwrap_or(0.0);
            assert!(anon > 0.0, "the CLI's memory was sampled: {}", results["large_cli_bootstrap_peak_anon_mib"]);
        }
    }
}
