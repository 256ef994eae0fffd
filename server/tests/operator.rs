//! The operator's commands on the real `sealsync-server` binary: `backup`
//! (SQLite, online), `copy` (SQLite to Postgres, every row and cursor kept),
//! secrets read from files (`SEALSYNC_DATABASE_URL_FILE`), the configuration
//! file (`--config`), and the shipped
//! deployment files (`deploy/`) checked by the tools that will read them.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use common::{Account, TestDb, TestServer};
use reqwest::{Method, StatusCode};
use sealsync_envelope::RecordId;
use sqlx::Connection;

const BIN: &str = env!("CARGO_BIN_EXE_sealsync-server");

/// `sealsync-server ARGS` with a clean `SEALSYNC_*` environment plus `envs`.
fn server(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut command = Command::new(BIN);
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("SEALSYNC_")) {
        command.env_remove(key);
    }
    command.args(args).envs(envs.iter().copied()).stdin(Stdio::null());
    command.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Whether a tool is on PATH; under CI=true a missing one is a failure.
fn tool(name: &str, why: &str) -> bool {
    let found = Command::new("sh").args(["-c", &format!("command -v {name}")]).output().unwrap().status.success();
    if !found {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{name} is required under CI=true ({why})");
        eprintln!("SKIPPED: {name} is not installed ({why}); .ci/run installs it");
    }
    found
}

/// A canonical text dump of every table (but sqlx's), rows sorted, with the
/// column types the target declares: equal dumps mean equal contents.
async fn dump_postgres(url: &str) -> Vec<(String, Vec<String>)> {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let columns: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations' \
         ORDER BY table_name, column_name",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut out = Vec::new();
    for table in tables_of(&columns) {
        let expressions: Vec<String> = columns
            .iter()
            .filter(|(t, _, _)| *t == table)
            .map(|(_, c, ty)| match ty.as_str() {
                "uuid" => format!("coalesce(encode(uuid_send({c}), 'hex'), '-')"),
                "bytea" => format!("coalesce(encode({c}, 'hex'), '-')"),
                _ => format!("coalesce({c}::text, '-')"),
            })
            .collect();
        let query = format!("SELECT concat_ws('|', {}) FROM {table}", expressions.join(", "));
        let mut rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(query)).fetch_all(&mut conn).await.unwrap();
        rows.sort();
        out.push((table, rows));
    }
    out
}

/// The same dump of a SQLite database, by the Postgres column types.
async fn dump_sqlite(url: &str, like: &str) -> Vec<(String, Vec<String>)> {
    let mut pg = sqlx::PgConnection::connect(like).await.unwrap();
    let columns: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations' \
         ORDER BY table_name, column_name",
    )
    .fetch_all(&mut pg)
    .await
    .unwrap();
    let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
    let mut out = Vec::new();
    for table in tables_of(&columns) {
        let expressions: Vec<String> = columns
            .iter()
            .filter(|(t, _, _)| *t == table)
            .map(|(_, c, ty)| match ty.as_str() {
                // hex(NULL) is '', not NULL.
                "uuid" | "bytea" => format!("CASE WHEN {c} IS NULL THEN '-' ELSE lower(hex({c})) END"),
                _ => format!("coalesce(CAST({c} AS TEXT), '-')"),
            })
            .collect();
        let query = format!("SELECT {} FROM {table}", expressions.join(" || '|' || "));
        let mut rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(query)).fetch_all(&mut conn).await.unwrap();
        rows.sort();
        out.push((table, rows));
    }
    out
}

fn tables_of(columns: &[(String, String, String)]) -> Vec<String> {
    let mut tables: Vec<String> = columns.iter().map(|(t, _, _)| t.clone()).collect();
    tables.dedup();
    tables
}

/// A pairing row with every column set, written straight into the table:
/// pairings are short-lived, and a copy taken while one is open must carry it.
async fn plant_pairing(url: &str, account: &Account) {
    let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
    sqlx::query(
        "INSERT INTO pairings (pairing, secret_hash, state, created_at, expires_at, new_device_id, new_message, \
         account_id, approver_device_id, approver_message, approver_confirm, new_confirm, new_encrypted_name, \
         device_name, bundle) VALUES (424242, ?1, 'approved', 1, 99999999999999, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )
    .bind(vec![1u8; 32])
    .bind(uuid::Uuid::new_v4())
    .bind(vec![2u8; 33])
    .bind(account.id.0)
    .bind(uuid::Uuid::new_v4())
    .bind(vec![3u8; 33])
    .bind(vec![4u8; 32])
    .bind(vec![5u8; 32])
    .bind(vec![6u8; 48])
    .bind(vec![7u8; 48])
    .bind(vec![8u8; 200])
    .execute(&mut conn)
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_moves_every_row_and_devices_continue_where_they_were() {
    let Some(target) = common::postgres_database().await else { return };
    let source = TestServer::sqlite(Default::default()).await;
    let (account, first) = source.register().await;
    let second = source.login(&account).await;
    let records: Vec<RecordId> = (0..30).map(|_| RecordId::random()).collect();
    let batch = records.iter().enumerate().map(|(i, r)| account.envelope(&first, *r, i as u64 + 1, "a")).collect();
    source.push(&first, batch).await;
    source.push(&second, vec![account.envelope(&second, records[0], 1, "edit")]).await;
    let (other, other_device) = source.register().await;
    source.push(&other_device, vec![other.envelope(&other_device, RecordId::random(), 1, "b")]).await;
    let before = source.pull(&second, 0, 1000).await;
    let sqlite_url = source.db.url().to_owned();
    plant_pairing(&sqlite_url, &account).await;
    let db = source.db.share();
    source.stop().await;

    // The target's URL from a file, as the guide runs it.
    let dir = tempfile::tempdir().unwrap();
    let url_file = dir.path().join("database-url");
    std::fs::write(&url_file, format!("{}\n", target.url)).unwrap();
    let output = server(&["copy", "--from", &sqlite_url, "--to-file", url_file.to_str().unwrap()], &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let report = text(&output.stdout);
    assert!(report.contains("envelopes: 32 rows"), "{report}");
    assert!(report.contains("pairings: 1 rows"), "{report}");
    assert_eq!(dump_sqlite(&sqlite_url, &target.url).await, dump_postgres(&target.url).await);

    // The copy refuses a target that is no longer empty, and changes nothing.
    let again = server(&["copy", "--from", &sqlite_url, "--to", &target.url], &[]);
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains("not empty"), "{}", text(&again.stderr));

    // Devices keep their tokens, their cursor positions and the account's counter.
    let target = Arc::new(target);
    let moved = TestServer::on(TestDb::Postgres(target.clone()), Default::default()).await;
    assert_eq!(moved.pull(&second, 0, 1000).await, before);
    let after = before.envelopes.last().unwrap().seq.0;
    assert!(moved.pull(&first, after, 1000).await.envelopes.is_empty());
    let pushed = moved.push(&first, vec![account.envelope(&first, RecordId::random(), 31, "new")]).await;
    assert_eq!(pushed.cursor.0, after + 1, "the account's counter continues from where SQLite left it");
    assert_eq!(moved.pull(&second, after, 1000).await.envelopes.len(), 1);
    drop(db);
}

#[test]
fn copy_refuses_the_wrong_direction_and_a_missing_source() {
    let dir = tempfile::tempdir().unwrap();
    let missing = format!("sqlite://{}", dir.path().join("nope.db").display());
    let cases: [(&[&str], &str); 3] = [
        (&["copy", "--from", "postgres://x@127.0.0.1/a", "--to", "postgres://x@127.0.0.1/b"], "--from must be sqlite"),
        (&["copy", "--from", "sqlite://a.db", "--to", "sqlite://b.db"], "--from must be sqlite"),
        (&["copy", "--from", &missing, "--to", "postgres://x@127.0.0.1:1/b"], "does not exist"),
    ];
    for (args, expected) in cases {
        let output = server(args, &[]);
        assert!(!output.status.success(), "{args:?}");
        assert!(text(&output.stderr).contains(expected), "{args:?}: {}", text(&output.stderr));
    }
    assert!(!dir.path().join("nope.db").exists(), "a missing source is never created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_writes_a_consistent_private_copy_while_the_server_serves() {
    let live = TestServer::sqlite(Default::default()).await;
    let (account, device) = live.register().await;
    let batch = (0..40).map(|i| account.envelope(&device, RecordId::random(), i + 1, "x")).collect();
    live.push(&device, batch).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nightly.db");
    let file_arg = file.to_str().unwrap();

    // Pushes keep arriving while the backup runs.
    let writer = {
        let base = live.base.clone();
        let token = device.token.clone();
        let envelopes: Vec<Vec<u8>> =
            (0..20).map(|i| account.envelope(&device, RecordId::random(), 100 + i, "during")).collect();
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            for envelope in envelopes {
                let body = sealsync_envelope::dto::to_cbor(&sealsync_envelope::dto::PushRequest {
                    envelopes: vec![sealsync_envelope::dto::EnvelopeBytes(envelope)],
                    pull: None,
                });
                let response = http
                    .post(format!("{base}/v1/sync/push"))
                    .bearer_auth(&token)
                    .header("content-type", "application/cbor")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), StatusCode::OK);
            }
        })
    };
    let output = server(&["backup", "--to", file_arg, "--database-url", live.db.url()], &[]);
    writer.await.unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("1 accounts"), "{}", text(&output.stdout));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("nightly.db")], "no partial file is left behind");

    // The copy is a whole database at one moment: its account's counter
    // names exactly the envelopes it holds.
    let backup_url = format!("sqlite://{}", file.display());
    let mut conn = sqlx::SqliteConnection::connect(&backup_url).await.unwrap();
    let (seq, rows, max): (i64, i64, i64) = sqlx::query_as(
        "SELECT a.seq, (SELECT COUNT(*) FROM envelopes), (SELECT MAX(server_seq) FROM envelopes) FROM accounts a",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!((40..=60).contains(&seq), "{seq}");
    assert_eq!((rows, max), (seq, seq));
    drop(conn);

    // It never overwrites.
    let again = server(&["backup", "--to", file_arg, "--database-url", live.db.url()], &[]);
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains("already exists"), "{}", text(&again.stderr));
    live.stop().await;
}

#[test]
fn backup_of_postgres_points_to_pg_dump_and_of_nothing_fails() {
    let output = server(&["backup", "--to", "/tmp/never", "--database-url", "postgres://u@127.0.0.1:1/db"], &[]);
    assert!(!output.status.success());
    assert!(text(&output.stderr).contains("pg_dump"), "{}", text(&output.stderr));
    let dir = tempfile::tempdir().unwrap();
    let missing = format!("sqlite://{}", dir.path().join("none.db").display());
    let to = dir.path().join("b.db");
    let output = server(&["backup", "--to", to.to_str().unwrap(), "--database-url", &missing], &[]);
    assert!(!output.status.success());
    assert!(text(&output.stderr).contains("does not exist"), "{}", text(&output.stderr));
    assert!(!to.exists());
}

#[test]
fn the_database_url_can_come_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("database-url");
    let db = dir.path().join("from-file.db");
    std::fs::write(&secret, format!("sqlite://{}\n", db.display())).unwrap();
    let secret_arg = secret.to_str().unwrap();

    let output = server(&["migrate"], &[("SEALSYNC_DATABASE_URL_FILE", secret_arg)]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(db.exists(), "the URL read from the file was used");
    let output = server(&["migrate", "--database-url-file", secret_arg], &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));

    // Both ways at once, an unreadable file, an empty one: refused, naming the setting.
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let bad = dir.path().join("bad");
    std::fs::write(&bad, "mysql://user:hunter2@db/x").unwrap();
    type Case<'a> = (&'a [&'a str], Vec<(&'a str, &'a str)>, &'a str);
    let cases: [Case; 5] = [
        (
            &["migrate"],
            vec![("SEALSYNC_DATABASE_URL_FILE", secret_arg), ("SEALSYNC_DATABASE_URL", "sqlite://x.db")],
            "both",
        ),
        (&["migrate", "--database-url", "sqlite://x.db"], vec![("SEALSYNC_DATABASE_URL_FILE", secret_arg)], "both"),
        (&["migrate"], vec![("SEALSYNC_DATABASE_URL_FILE", "/nonexistent/url")], "cannot read"),
        (&["migrate"], vec![("SEALSYNC_DATABASE_URL_FILE", empty.to_str().unwrap())], "is empty"),
        (&["migrate"], vec![("SEALSYNC_DATABASE_URL_FILE", bad.to_str().unwrap())], "unsupported database URL scheme"),
    ];
    for (args, envs, expected) in cases {
        let output = server(args, &envs);
        let stderr = text(&output.stderr);
        assert!(!output.status.success(), "{args:?} {envs:?}");
        assert!(stderr.contains(expected), "{args:?} {envs:?}: {stderr}");
        assert!(stderr.contains("SEALSYNC_DATABASE_URL_FILE"), "{stderr}");
        assert!(!stderr.contains("hunter2"), "the file's content is never printed");
    }
    assert!(!Path::new("x.db").exists());
}

fn deploy(file: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy").join(file)
}

#[test]
fn the_shipped_systemd_unit_verifies() {
    if !tool("systemd-analyze", "verifies deploy/sealsync-server.service") {
        return;
    }
    let unit = std::fs::read_to_string(deploy("sealsync-server.service")).unwrap();
    for setting in [
        "DynamicUser=yes",
        "StateDirectory=sealsync",
        "ProtectSystem=strict",
        "PrivateTmp=yes",
        "NoNewPrivileges=yes",
        "CapabilityBoundingSet=\n",
    ] {
        assert!(unit.contains(setting), "the unit lacks {setting:?}");
    }
    // systemd-analyze checks that ExecStart names an executable: point it at this build.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sealsync-server.service");
    let unit = unit.replace("/usr/local/bin/sealsync-server", BIN);
    assert!(unit.contains(BIN));
    std::fs::write(&path, unit).unwrap();
    let output = Command::new("systemd-analyze").arg("verify").arg(&path).output().unwrap();
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let complaints: Vec<&str> = stderr.lines().filter(|l| l.contains("sealsync-server.service")).collect();
    assert!(complaints.is_empty(), "{complaints:?}");
}

#[test]
fn the_shipped_caddyfile_is_valid() {
    if !tool("caddy", "validates deploy/Caddyfile") {
        return;
    }
    let output = Command::new("caddy")
        .args(["adapt", "--adapter", "caddyfile", "--config"])
        .arg(deploy("Caddyfile"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let adapted = json.to_string();
    assert!(adapted.contains("127.0.0.1:8787") && adapted.contains("/metrics"), "{adapted}");
}

#[test]
fn the_example_environment_file_is_accepted_by_the_server() {
    let env = std::fs::read_to_string(deploy("sealsync-server.env")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("s.db").display());
    let mut vars: Vec<(String, String)> = env
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && l.contains('='))
        .map(|l| l.split_once('=').map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())).unwrap())
        .collect();
    assert!(vars.iter().any(|(k, v)| k == "SEALSYNC_TRUST_FORWARDED_FOR" && v == "true"));
    for (key, value) in &mut vars {
        if key == "SEALSYNC_DATABASE_URL" {
            *value = db.clone();
        }
    }
    let envs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let output = server(&["migrate"], &envs);
    assert!(output.status.success(), "{}", text(&output.stderr));
}

#[test]
fn the_example_configuration_file_is_accepted_unchanged() {
    // Its database-url is relative: run where it may create the file.
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(BIN);
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("SEALSYNC_")) {
        command.env_remove(key);
    }
    let example = deploy("sealsync-server.toml");
    let output = command.current_dir(dir.path()).args(["migrate", "--config"]).arg(&example).output().unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(dir.path().join("sealsync.db").exists());
}

#[test]
fn the_configuration_file_sits_beneath_flags_and_environment() {
    let dir = tempfile::tempdir().unwrap();
    let db = |name: &str| format!("sqlite://{}", dir.path().join(name).display());
    let config = dir.path().join("sealsync-server.toml");
    std::fs::write(&config, format!("database-url = \"{}\"\nlog-format = \"json\"\n", db("file.db"))).unwrap();
    let config = config.to_str().unwrap();

    let output = server(&["migrate", "--config", config], &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(dir.path().join("file.db").exists(), "the file's setting applies");
    assert!(text(&output.stderr).contains("{\""), "log-format from the file: {}", text(&output.stderr));

    let env_db = db("env.db");
    let output = server(&["migrate"], &[("SEALSYNC_CONFIG", config), ("SEALSYNC_DATABASE_URL", &env_db)]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(dir.path().join("env.db").exists(), "the environment beats the file");

    let flag_db = db("flag.db");
    let output =
        server(&["migrate", "--config", config, "--database-url", &flag_db], &[("SEALSYNC_DATABASE_URL", &env_db)]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(dir.path().join("flag.db").exists(), "the flag beats the environment");

    // An unknown key and a bad value are refused, naming the key and the file.
    for (content, key) in [("max-conections = 4\n", "`max-conections`"), ("auth-burst = 0\n", "`auth-burst`")] {
        std::fs::write(dir.path().join("bad.toml"), content).unwrap();
        let bad = dir.path().join("bad.toml");
        let output = server(&["migrate", "--config", bad.to_str().unwrap(), "--database-url", &flag_db], &[]);
        assert!(!output.status.success(), "{content}");
        let stderr = text(&output.stderr);
        assert!(stderr.contains(key) && stderr.contains("bad.toml"), "{stderr}");
    }
}

#[tokio::test]
async fn an_older_binary_refuses_a_newer_schema() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("s.db").display());
    let output = server(&["migrate", "--database-url", &url], &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    // A migration this binary does not know, as a newer binary would have left it.
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99990101, 'from a newer release', 1, X'00', 0)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let count = "SELECT COUNT(*) FROM _sqlx_migrations";
    let before: i64 = sqlx::query_scalar(count).fetch_one(&mut conn).await.unwrap();
    for args in [&["migrate", "--database-url", &url][..], &["--database-url", &url, "--bind", "127.0.0.1:0"]] {
        let output = server(args, &[]);
        assert!(!output.status.success(), "{args:?} started on a newer schema");
        let stderr = text(&output.stderr);
        assert!(stderr.contains("99990101"), "{stderr}");
    }
    let after: i64 = sqlx::query_scalar(count).fetch_one(&mut conn).await.unwrap();
    assert_eq!(before, after, "nothing was changed");
}

#[tokio::test]
async fn a_copy_that_fails_midway_leaves_the_target_empty() {
    let Some(target) = common::postgres_database().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("s.db").display());
    assert!(server(&["migrate", "--database-url", &url], &[]).status.success());
    // A whole account, then an envelope whose record id is 15 bytes: the
    // accounts table copies, the envelopes table cannot.
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let account = uuid::Uuid::new_v4();
    sqlx::query(
        "INSERT INTO accounts (id, name, protocol_version, salt_seed, auth_key_hash, created_at) \
         VALUES (?1, 'a@example.org', 1, ?2, ?2, 1)",
    )
    .bind(account)
    .bind(vec![0u8; 32])
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO envelopes (account_id, record_id, device_id, device_seq, server_seq, envelope) \
         VALUES (?1, ?2, ?1, 1, 1, X'00')",
    )
    .bind(account)
    .bind(vec![7u8; 15])
    .execute(&mut conn)
    .await
    .unwrap();
    drop(conn);

    let output = server(&["copy", "--from", &url, "--to", &target.url], &[]);
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(stderr.contains("envelopes") && stderr.contains("record_id"), "{stderr}");
    let mut pg = sqlx::PgConnection::connect(&target.url).await.unwrap();
    let accounts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts").fetch_one(&mut pg).await.unwrap();
    assert_eq!(accounts, 0, "the copy is one transaction: nothing of it stays");
}

/// `accounts`, `registration`, `delete-account` and `schema` on the real
/// binary, beside a running server on the same database.
async fn account_commands_work_beside_a_running_server(live: TestServer) {
    let url = live.db.url().to_owned();
    let db = ["--database-url", url.as_str()];
    let run = |args: &[&str]| server(&[args, &db[..]].concat(), &[]);
    let (account, device) = live.register().await;
    live.push(&device, vec![account.envelope(&device, RecordId::random(), 1, "a note")]).await;
    let (other, _) = live.register().await;

    // The list: counts and sizes, never a name.
    let output = run(&["accounts", "--json"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let list: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(list.len(), 2);
    let entry = list.iter().find(|a| a["id"] == account.id.to_string()).unwrap();
    assert_eq!((entry["devices"].as_i64(), entry["envelopes"].as_i64()), (Some(1), Some(1)));
    assert!(entry["stored_bytes"].as_i64().unwrap() > 0 && entry["last_activity"].is_i64(), "{entry}");
    let table = run(&["accounts"]);
    assert!(table.status.success(), "{}", text(&table.stderr));
    for out in [text(&output.stdout), text(&table.stdout)] {
        assert!(out.contains(&other.id.to_string()), "{out}");
        assert!(!out.contains(&account.name) && !out.contains(&other.name), "{out}");
    }

    // Registration closed in the database: the running server refuses new
    // accounts at once, without a restart; unset, the flag applies again.
    let closed = run(&["registration", "closed"]);
    assert!(closed.status.success(), "{}", text(&closed.stderr));
    let (_, meta) = live.json(Method::GET, "/v1/meta", None, None).await;
    assert_eq!(meta["registration_open"], serde_json::json!(false));
    let request = common::Account::new().register_request(sealsync_envelope::DeviceId::random());
    let (status, body) =
        live.json(Method::POST, "/v1/accounts", None, Some(serde_json::to_value(&request).unwrap())).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("registration_closed")));
    assert!(text(&run(&["registration"]).stdout).contains("registration: closed"));
    assert!(run(&["registration", "unset"]).status.success());
    live.register().await;

    // Deleting asks first: with no terminal and no --yes, nothing is deleted.
    let id = account.id.to_string();
    let refused = run(&["delete-account", &id]);
    assert!(!refused.status.success());
    assert!(text(&refused.stderr).contains("--yes"), "{}", text(&refused.stderr));
    assert!(live.db.rows_of_account(account.id).await > 0);
    let deleted = run(&["delete-account", &id, "--yes"]);
    assert!(deleted.status.success(), "{}", text(&deleted.stderr));
    assert_eq!(live.db.rows_of_account(account.id).await, 0);
    let (status, _) = live.json(Method::GET, "/v1/devices", Some(&device.token), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the deleted account's devices are signed out");
    let again = run(&["delete-account", &id, "--yes"]);
    assert!(text(&again.stderr).contains("no account"), "{}", text(&again.stderr));
    assert!(!run(&["delete-account", "not-an-id", "--yes"]).status.success());

    let schema = run(&["schema"]);
    assert!(text(&schema.stdout).contains("up to date"), "{}", text(&schema.stdout));
    live.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_commands_on_sqlite() {
    account_commands_work_beside_a_running_server(TestServer::sqlite(Default::default()).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_commands_on_postgres() {
    let Some(server) = TestServer::postgres(Default::default()).await else { return };
    account_commands_work_beside_a_running_server(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_says_what_migrate_would_do_and_the_other_commands_wait_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.db");
    let url = format!("sqlite://{}", file.display());
    let missing = server(&["schema", "--database-url", &url], &[]);
    assert!(text(&missing.stderr).contains("does not exist"), "{}", text(&missing.stderr));
    assert!(!file.exists(), "an operator command never creates the database");
    std::fs::write(&file, b"").unwrap();
    let mut urls = vec![url];
    let scratch = common::postgres_database().await;
    urls.extend(scratch.as_ref().map(|pg| pg.url.clone()));
    for url in &urls {
        let fresh = server(&["schema", "--database-url", url], &[]);
        assert!(fresh.status.success(), "{}", text(&fresh.stderr));
        assert!(text(&fresh.stdout).contains("schema applied: none"), "{}", text(&fresh.stdout));
        let accounts = server(&["accounts", "--database-url", url], &[]);
        assert!(!accounts.status.success());
        assert!(text(&accounts.stderr).contains("migrate"), "{}", text(&accounts.stderr));
        assert!(server(&["migrate", "--database-url", url], &[]).status.success());
        assert!(text(&server(&["schema", "--database-url", url], &[]).stdout).contains("up to date"));
    }
}
