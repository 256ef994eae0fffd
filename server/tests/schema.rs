//! The Postgres schema is ready to be distributed by account (Citus,
//! deploy/citus.sql), checked on plain Postgres over the real migrated schema:
//!
//! - every table is named in deploy/citus.sql, as distributed, reference or
//!   local, so a migration that adds a table fails here until its
//!   distribution is decided;
//! - every distributed table's primary key begins with its distribution
//!   column, every unique index includes it (Citus refuses one that does
//!   not), and every foreign key between distributed tables joins the two
//!   distribution columns (so it stays within one account's shard group);
//! - every SQL statement of the store and the admin commands that touches a
//!   distributed table names one account (`account_id = $N`, or the account
//!   row's `id = $N`): it runs on one shard group. The few lookups by a key
//!   that is unique across the server (a token hash, an account name) are
//!   listed below with why they are fine. Statements are read from the Rust
//!   sources (pg_stat_statements cannot be loaded without a server restart).
//!
//! An ignored test measures the bytes a stored envelope takes on disk
//! (docs/self-hosting.md, "Beyond one node").

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::{Account, TestServer};
use sealsync_envelope::RecordId;
use sealsync_server::store::Store;
use sealsync_server::store::postgres::PgStore;
use sealsync_testkit::ScratchPostgres;
use sqlx::{Connection, PgConnection};

/// What deploy/citus.sql decides for each table.
#[derive(Debug, Default)]
struct CitusPlan {
    /// Table → (distribution column, the table it is co-located with).
    distributed: BTreeMap<String, (String, Option<String>)>,
    reference: BTreeSet<String>,
    local: BTreeSet<String>,
}

impl CitusPlan {
    fn read() -> Self {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/citus.sql");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut plan = Self::default();
        let mut named = 0;
        for line in text.lines().map(str::trim) {
            let quoted: Vec<&str> = line.split('\'').skip(1).step_by(2).collect();
            if line.starts_with("SELECT create_distributed_table(") {
                let colocate = quoted.get(2).map(|t| (*t).to_owned());
                plan.distributed.insert(quoted[0].to_owned(), (quoted[1].to_owned(), colocate));
            } else if line.starts_with("SELECT create_reference_table(") {
                plan.reference.insert(quoted[0].to_owned());
            } else if let Some(rest) = line.strip_prefix("-- local:") {
                plan.local.extend(rest.split([',', ' ']).filter(|t| !t.is_empty()).map(str::to_owned));
            } else {
                continue;
            }
            named += 1;
        }
        let tables = plan.tables();
        assert_eq!(
            tables.len(),
            plan.distributed.len() + plan.reference.len() + plan.local.len(),
            "a table is named twice in deploy/citus.sql"
        );
        assert!(named >= tables.len());
        plan
    }

    fn tables(&self) -> BTreeSet<String> {
        self.distributed.keys().chain(&self.reference).chain(&self.local).cloned().collect()
    }
}

/// A fresh database at the server's current schema, or `None` to skip.
async fn migrated() -> Option<(ScratchPostgres, PgConnection)> {
    let db = common::postgres_database().await?;
    let store = PgStore::connect(&db.url, 2).await.unwrap();
    store.migrate().await.unwrap();
    let conn = PgConnection::connect(&db.url).await.unwrap();
    Some((db, conn))
}

#[tokio::test]
async fn deploy_citus_sql_names_every_table_of_the_migrated_schema() {
    let Some((_db, mut conn)) = migrated().await else { return };
    let plan = CitusPlan::read();
    let tables: BTreeSet<String> = sqlx::query_scalar(
        "SELECT relname::text FROM pg_class WHERE relnamespace = current_schema()::regnamespace \
         AND relkind IN ('r', 'p')",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap()
    .into_iter()
    .collect();
    let named = plan.tables();
    let undecided: Vec<_> = tables.difference(&named).collect();
    assert!(undecided.is_empty(), "tables without a distribution in deploy/citus.sql: {undecided:?}");
    let missing: Vec<_> = named.difference(&tables).collect();
    assert!(missing.is_empty(), "deploy/citus.sql names tables the schema does not have: {missing:?}");
    for table in ["accounts", "account_keys", "devices", "device_counters", "envelopes"] {
        assert!(plan.distributed.contains_key(table), "{table} holds one account's rows: it must be distributed");
    }

    // A table keyed by account is distributed by it.
    let keyed_by_account: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT c.relname::text FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid \
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) \
         WHERE i.indisprimary AND a.attname = 'account_id' AND c.relnamespace = current_schema()::regnamespace",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    for table in keyed_by_account {
        assert_eq!(plan.distributed.get(&table).map(|(c, _)| c.as_str()), Some("account_id"), "{table}");
    }
}

/// (name, table, referenced table, its columns, the referenced columns).
type ForeignKey = (String, String, String, Vec<String>, Vec<String>);

#[tokio::test]
async fn distributed_tables_are_keyed_and_joined_by_account() {
    let Some((_db, mut conn)) = migrated().await else { return };
    let plan = CitusPlan::read();
    for (table, (column, colocate)) in &plan.distributed {
        // Co-located tables must share the distribution column's type.
        let kind: String = sqlx::query_scalar(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2",
        )
        .bind(table)
        .bind(column)
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert_eq!(kind, "uuid", "{table}.{column}");
        if table == "accounts" {
            assert_eq!(column, "id");
        } else {
            assert_eq!(colocate.as_deref(), Some("accounts"), "{table} is co-located with accounts");
        }

        let primary_key: Vec<String> = sqlx::query_scalar(
            "SELECT a.attname::text FROM pg_index i, unnest(i.indkey) WITH ORDINALITY AS k (attnum, n), pg_attribute a \
             WHERE i.indrelid = $1::regclass AND i.indisprimary AND a.attrelid = i.indrelid AND a.attnum = k.attnum \
             ORDER BY k.n",
        )
        .bind(table)
        .fetch_all(&mut conn)
        .await
        .unwrap();
        assert_eq!(primary_key.first(), Some(column), "{table}'s primary key {primary_key:?} begins with {column}");

        let unique: Vec<(String, Vec<String>)> = sqlx::query_as(
            "SELECT c.relname::text, ARRAY(SELECT a.attname::text FROM pg_attribute a \
               WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)) \
             FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
             WHERE i.indrelid = $1::regclass AND i.indisunique",
        )
        .bind(table)
        .fetch_all(&mut conn)
        .await
        .unwrap();
        for (index, columns) in unique {
            assert!(columns.contains(column), "unique index {index} {columns:?} lacks {column}: Citus refuses it");
        }
    }

    let foreign_keys: Vec<ForeignKey> = sqlx::query_as(
        "SELECT k.conname::text, c.relname::text, p.relname::text, \
           ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY AS u (attnum, n) \
             JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum ORDER BY u.n), \
           ARRAY(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY AS u (attnum, n) \
             JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.attnum ORDER BY u.n) \
         FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid \
         WHERE k.contype = 'f' AND k.connamespace = current_schema()::regnamespace",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(foreign_keys.len() >= 3, "{foreign_keys:?}");
    for (name, child, parent, from, to) in &foreign_keys {
        match (plan.distributed.get(child), plan.distributed.get(parent)) {
            (Some((child_column, _)), Some((parent_column, _))) => assert!(
                from.iter().zip(to).any(|(f, t)| f == child_column && t == parent_column),
                "{name}: {child} {from:?} → {parent} {to:?} leaves the account"
            ),
            (Some(_), None) => assert!(plan.reference.contains(parent), "{name}: {parent} must be a reference table"),
            (None, Some(_)) => panic!("{name}: {child} is not distributed but points into {parent}"),
            (None, None) => {}
        }
    }
}

/// Statements that touch a distributed table without naming its account,
/// with why each is fine: a lookup by a key that is unique across the server
/// (its answer is one account's row; on Citus it visits every shard of the
/// table, one index probe each), or a SQLite-only count.
const GLOBAL_LOOKUPS: [(&str, &str); 6] = [
    (
        "SELECT id, protocol_version, salt_seed, auth_key_hash FROM accounts WHERE name = $1",
        "login: the name is all a device knows (unique via account_names)",
    ),
    (
        "SELECT account_id, id, last_seen_at FROM devices WHERE token_hash = $1 AND revoked_at IS NULL",
        "authentication: the bearer token is all a request carries",
    ),
    (
        "SELECT COUNT(*) FROM devices WHERE token_hash = $1 AND revoked_at IS NOT NULL",
        "a revoked token's answer (device_revoked), after authentication failed",
    ),
    ("SELECT COUNT(*) FROM accounts", "the SQLite backup's check of its copy (never Postgres)"),
    ("SELECT COUNT(*) FROM envelopes", "the SQLite backup's check of its copy (never Postgres)"),
    (
        "SELECT a.id, a.created_at, (SELECT COUNT(*) FROM devices d WHERE d.account_id = a.id AND d.revoked_at IS NULL), \
         (SELECT COUNT(*) FROM envelopes e WHERE e.account_id = a.id), a.stored_bytes, \
         (SELECT MAX(d.last_seen_at) FROM devices d WHERE d.account_id = a.id) FROM accounts a ORDER BY a.created_at, a.id",
        "`sealsync-server accounts`: the operator's listing of every account, on the operator's command only",
    ),
];

/// The string literals of a Rust source, with `\` line continuations joined
/// the way the compiler joins them. Comments and `'"'` are skipped.
fn string_literals(source: &str) -> Vec<String> {
    let chars: Vec<char> = source.chars().collect();
    let mut literals = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '/' if chars.get(i + 1) == Some(&'/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '\'' if chars.get(i + 1) == Some(&'"') && chars.get(i + 2) == Some(&'\'') => i += 3,
            '"' => {
                let mut text = String::new();
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' {
                        i += 1;
                        match chars.get(i) {
                            Some('\n') => {
                                while chars.get(i + 1).is_some_and(|c| c.is_whitespace()) {
                                    i += 1;
                                }
                            }
                            Some('n') => text.push('\n'),
                            Some(&c) => text.push(c),
                            None => {}
                        }
                    } else {
                        text.push(chars[i]);
                    }
                    i += 1;
                }
                literals.push(text);
            }
            _ => {}
        }
        i += 1;
    }
    literals
}

/// SQL words, placeholders (`$1`, `?1`) and operators; qualifiers (`a.`) dropped.
fn tokens(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_alphanumeric() || c == '_' || ((c == '$' || c == '?') && chars.peek().is_some_and(char::is_ascii_digit))
        {
            let mut word = c.to_string();
            while let Some(&n) = chars.peek().filter(|n| n.is_alphanumeric() || **n == '_') {
                word.push(n);
                chars.next();
            }
            out.push(word);
        } else if matches!(c, '<' | '>' | '!') {
            let mut op = c.to_string();
            if let Some(&n) = chars.peek().filter(|n| matches!(n, '=' | '>')) {
                op.push(n);
                chars.next();
            }
            out.push(op);
        } else if !c.is_whitespace() && c != '.' {
            out.push(c.to_string());
        }
    }
    out
}

#[test]
fn every_statement_on_a_distributed_table_names_one_account() {
    let plan = CitusPlan::read();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut statements = Vec::new();
    let mut dirs = vec![root.join("store"), root.join("admin")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let source = std::fs::read_to_string(&path).unwrap();
                let name = path.strip_prefix(&root).unwrap().display().to_string();
                statements.extend(
                    string_literals(&source)
                        .into_iter()
                        .filter(|s| {
                            ["SELECT ", "INSERT ", "UPDATE ", "DELETE ", "WITH "]
                                .iter()
                                .any(|k| s.trim_start().starts_with(k))
                        })
                        .map(|s| (name.clone(), s)),
                );
            }
        }
    }
    assert!(statements.len() >= 60, "the audit found only {} statements", statements.len());

    let mut lookups_seen = BTreeSet::new();
    let mut audited = 0;
    for (file, sql) in &statements {
        if let Some((lookup, _)) = GLOBAL_LOOKUPS.iter().find(|(s, _)| s == sql) {
            lookups_seen.insert(*lookup);
            continue;
        }
        match one_account(&plan, sql) {
            None => {}
            Some(Ok(())) => audited += 1,
            Some(Err(why)) => panic!("{file}: {why}: {sql}"),
        }
    }
    assert!(audited >= 40, "only {audited} statements touch a distributed table");
    let stale: Vec<_> = GLOBAL_LOOKUPS.iter().filter(|(s, _)| !lookups_seen.contains(s)).collect();
    assert!(stale.is_empty(), "listed lookups no longer in the sources: {stale:?}");
}

/// Whether `sql` names exactly one account, if it touches a distributed
/// table at all: `column = $N` on a named table's distribution column, all
/// with one placeholder, or an insert that lists that column first.
fn one_account(plan: &CitusPlan, sql: &str) -> Option<Result<(), &'static str>> {
    let words = tokens(sql);
    let named: BTreeSet<&str> = words
        .windows(2)
        .filter(|w| matches!(w[0].as_str(), "FROM" | "JOIN" | "INTO" | "UPDATE"))
        .map(|w| w[1].as_str())
        .filter(|t| plan.distributed.contains_key(*t))
        .collect();
    if named.is_empty() {
        return None;
    }
    let columns: BTreeSet<&str> = named.iter().map(|t| plan.distributed[*t].0.as_str()).collect();
    // `column = $N` (or `column = ` closing a fragment whose bind follows).
    let pins: BTreeSet<&str> = (0..words.len())
        .filter(|&i| columns.contains(words[i].as_str()) && words.get(i + 1).is_some_and(|w| w == "="))
        .filter_map(|i| match words.get(i + 2) {
            None => Some("(bound next)"),
            Some(w) if w.starts_with('$') || w.starts_with('?') => Some(w.as_str()),
            Some(_) => None,
        })
        .collect();
    let inserts_account = words.windows(4).any(|w| {
        w[0] == "INTO" && plan.distributed.get(&w[1]).is_some_and(|(column, _)| w[2] == "(" && w[3] == *column)
    });
    Some(if pins.len() > 1 {
        Err("names two accounts")
    } else if pins.is_empty() && !inserts_account {
        Err("names no account")
    } else {
        Ok(())
    })
}

/// The audit itself catches what it is for.
#[test]
fn the_statement_audit_refuses_statements_across_accounts() {
    let plan = CitusPlan::read();
    let check = |sql| one_account(&plan, sql);
    assert_eq!(check("SELECT value FROM server_secrets WHERE name = $1"), None);
    assert_eq!(check("SELECT envelope FROM envelopes WHERE account_id = $1 AND server_seq > $2"), Some(Ok(())));
    assert_eq!(check("UPDATE accounts SET seq = ?2 WHERE id = ?1"), Some(Ok(())));
    assert_eq!(check("INSERT INTO devices (account_id, id) VALUES ($1, $2)"), Some(Ok(())));
    assert_eq!(check("SELECT COUNT(*) FROM envelopes"), Some(Err("names no account")));
    assert_eq!(check("SELECT * FROM devices WHERE id = $1"), Some(Err("names no account")));
    assert_eq!(check("INSERT INTO envelopes (record_id, account_id) VALUES ($1, $2)"), Some(Err("names no account")));
    assert_eq!(
        check("SELECT * FROM accounts a JOIN devices d ON d.account_id = $2 WHERE a.id = $1"),
        Some(Err("names two accounts"))
    );
}

/// Bytes on disk per stored envelope, for the capacity figures in
/// docs/self-hosting.md. Run by hand:
/// `cargo test -p sealsync-server --test schema -- --ignored --nocapture`.
/// 100 accounts of 1,000 records pushed over HTTP, each envelope the
/// smallest a client sends (its record padded to the 512-byte bucket).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, run by hand"]
async fn measure_bytes_per_stored_envelope() {
    const ACCOUNTS: usize = 100;
    const RECORDS: usize = 1_000;
    const BATCH: usize = 500;
    // Registrations from one address, faster than the default budget allows.
    let settings = sealsync_server::Settings { auth_per_minute: 10_000, auth_burst: 10_000, ..Default::default() };
    let Some(server) = TestServer::postgres(settings).await else { return };
    let note = "x".repeat(190);
    let mut envelope_bytes = 0;
    for _ in 0..ACCOUNTS {
        let (account, phone): (Account, _) = server.register().await;
        for batch in 0..RECORDS / BATCH {
            let envelopes: Vec<Vec<u8>> = (0..BATCH)
                .map(|i| account.envelope(&phone, RecordId::random(), (batch * BATCH + i + 1) as u64, &note))
                .collect();
            envelope_bytes += envelopes.iter().map(Vec::len).sum::<usize>();
            server.push(&phone, envelopes).await;
        }
    }
    let mut conn = PgConnection::connect(server.db.url()).await.unwrap();
    sqlx::query("VACUUM ANALYZE").execute(&mut conn).await.unwrap();
    let records = (ACCOUNTS * RECORDS) as f64;
    println!("envelopes: {records}, mean envelope {:.0} B", envelope_bytes as f64 / records);
    let mut total = 0i64;
    for table in ["envelopes", "accounts", "account_names", "account_keys", "devices", "device_counters"] {
        let (bytes, heap, rows): (i64, i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT pg_total_relation_size('{table}'), pg_relation_size('{table}'), (SELECT COUNT(*) FROM {table})"
        )))
        .fetch_one(&mut conn)
        .await
        .unwrap();
        total += bytes;
        println!("{table}: {rows} rows, {bytes} B total ({heap} B heap), {:.1} B per envelope", bytes as f64 / records);
    }
    println!("all tables: {total} B, {:.1} B per stored envelope", total as f64 / records);
}
