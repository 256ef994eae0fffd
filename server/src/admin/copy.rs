//! `sealsync-server copy --from sqlite://FILE --to postgres://…`: moves a
//! server from the embedded SQLite database to Postgres, row for row.
//!
//! Nothing is translated or recomputed: accounts (with their cursor,
//! `accounts.seq`), devices (with their token hashes, so every device stays
//! signed in), keys, device counters, pairings, envelopes (with their
//! `server_seq`) and the server's own secrets arrive exactly as they were, so
//! a device's next sync against the new database is one it could have made
//! against the old one. The tables and columns are read from the target's
//! catalog, so a table added by a later migration is copied without a change
//! here; a table or column the two schemas do not share stops the copy.
//!
//! The whole copy is one Postgres transaction: if anything fails, the
//! target is left as empty as it was found. It refuses a target that holds
//! any row. Run it with the server stopped (docs/self-hosting.md).

use std::collections::{BTreeMap, BTreeSet};

use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::SqliteRow;
use sqlx::{PgPool, Postgres, QueryBuilder, Row, SqlitePool};
use uuid::Uuid;

use super::{AdminError, open_existing_sqlite};
use crate::config::DatabaseUrl;

/// Rows read and inserted per statement: envelopes are up to a few dozen
/// kilobytes each, so a chunk stays within tens of megabytes, and its bind
/// parameters far below Postgres's 65,535.
const ROWS_PER_CHUNK: i64 = 500;

/// A column's type on Postgres: how its SQLite value is carried over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `uuid` (a 16-byte BLOB in SQLite).
    Uuid,
    /// `bytea`.
    Bytes,
    /// `bigint`.
    Int8,
    /// `integer`.
    Int4,
    /// `text`.
    Text,
}

impl Kind {
    fn of(data_type: &str) -> Option<Self> {
        Some(match data_type {
            "uuid" => Self::Uuid,
            "bytea" => Self::Bytes,
            "bigint" => Self::Int8,
            "integer" => Self::Int4,
            "text" => Self::Text,
            _ => return None,
        })
    }
}

/// One value on its way.
enum Cell {
    Uuid(Option<Uuid>),
    Bytes(Option<Vec<u8>>),
    Int8(Option<i64>),
    Int4(Option<i32>),
    Text(Option<String>),
}

/// A table as the target's catalog describes it.
#[derive(Debug, Clone)]
struct Table {
    name: String,
    columns: Vec<(String, Kind)>,
}

/// Rows copied, per table, in the order they were copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyReport {
    /// `(table, rows)`.
    pub tables: Vec<(String, i64)>,
}

/// Copies every row of the SQLite database `from` into the empty Postgres database `to`.
pub async fn copy(from: &DatabaseUrl, to: &DatabaseUrl) -> Result<CopyReport, AdminError> {
    let (DatabaseUrl::Sqlite(from), DatabaseUrl::Postgres(to)) = (from, to) else {
        return Err(AdminError::CopyDirection);
    };
    let source = open_existing_sqlite(from).await?;
    let target = PgPoolOptions::new().max_connections(2).connect(to).await?;
    let result = copy_between(&source, &target).await;
    source.close().await;
    target.close().await;
    result
}

async fn copy_between(source: &SqlitePool, target: &PgPool) -> Result<CopyReport, AdminError> {
    // Both at this binary's schema: the same tables on either side.
    sqlx::migrate!("../migrations/server-sqlite").run(source).await?;
    sqlx::migrate!("../migrations/server-postgres").run(target).await?;
    let tables = target_tables(target).await?;
    for table in &tables {
        let (rows,): (i64,) =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {}", quote(&table.name))))
                .fetch_one(target)
                .await?;
        if rows > 0 {
            return Err(AdminError::TargetNotEmpty { table: table.name.clone(), rows });
        }
        check_source_columns(source, table).await?;
    }

    let mut tx = target.begin().await?;
    for table in &tables {
        copy_table(source, &mut tx, table).await?;
    }
    tx.commit().await?;

    let mut report = CopyReport { tables: Vec::new() };
    for table in &tables {
        let count = format!("SELECT COUNT(*) FROM {}", quote(&table.name));
        let (source_rows,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(count.clone())).fetch_one(source).await?;
        let (target_rows,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(count)).fetch_one(target).await?;
        if source_rows != target_rows {
            return Err(AdminError::CountMismatch { table: table.name.clone(), source_rows, target_rows });
        }
        report.tables.push((table.name.clone(), target_rows));
    }
    Ok(report)
}

/// The target's tables (but sqlx's own), with their columns, ordered so that
/// a table comes after every table its foreign keys point to.
async fn target_tables(target: &PgPool) -> Result<Vec<Table>, AdminError> {
    let columns: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations' \
         ORDER BY table_name, ordinal_position",
    )
    .fetch_all(target)
    .await?;
    let mut tables: BTreeMap<String, Vec<(String, Kind)>> = BTreeMap::new();
    for (table, column, data_type) in columns {
        let kind = Kind::of(&data_type).ok_or_else(|| AdminError::Value {
            table: table.clone(),
            column: column.clone(),
            why: format!("copy does not know the Postgres type {data_type}"),
        })?;
        tables.entry(table).or_default().push((column, kind));
    }
    let references: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.relname::text, p.relname::text FROM pg_constraint k \
         JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid \
         WHERE k.contype = 'f' AND k.connamespace = current_schema()::regnamespace",
    )
    .fetch_all(target)
    .await?;
    let mut ordered = Vec::new();
    let mut done = BTreeSet::new();
    while done.len() < tables.len() {
        let ready: Vec<String> = tables
            .keys()
            .filter(|t| !done.contains(*t))
            .filter(|t| references.iter().all(|(from, to)| from != *t || to == *t || done.contains(to)))
            .cloned()
            .collect();
        if ready.is_empty() {
            return Err(AdminError::SchemaMismatch("the foreign keys of the target form a cycle".to_owned()));
        }
        for name in ready {
            done.insert(name.clone());
            ordered.push(Table { columns: tables[&name].clone(), name });
        }
    }
    Ok(ordered)
}

/// The source has the table and exactly its columns.
async fn check_source_columns(source: &SqlitePool, table: &Table) -> Result<(), AdminError> {
    let names: Vec<(String,)> =
        sqlx::query_as("SELECT name FROM pragma_table_info(?1)").bind(&table.name).fetch_all(source).await?;
    if names.is_empty() {
        return Err(AdminError::SchemaMismatch(format!("SQLite has no table {}", table.name)));
    }
    let source: BTreeSet<&str> = names.iter().map(|(n,)| n.as_str()).collect();
    let target: BTreeSet<&str> = table.columns.iter().map(|(n, _)| n.as_str()).collect();
    if source != target {
        return Err(AdminError::SchemaMismatch(format!(
            "table {} has columns {source:?} in SQLite but {target:?} in Postgres",
            table.name
        )));
    }
    Ok(())
}

/// Copies one table, a chunk at a time in rowid order.
async fn copy_table(
    source: &SqlitePool,
    tx: &mut sqlx::Transaction<'static, Postgres>,
    table: &Table,
) -> Result<(), AdminError> {
    let names: Vec<String> = table.columns.iter().map(|(n, _)| quote(n)).collect();
    let select = format!(
        "SELECT rowid, {} FROM {} WHERE rowid > ?1 ORDER BY rowid LIMIT ?2",
        names.join(", "),
        quote(&table.name)
    );
    let insert = format!("INSERT INTO {} ({}) ", quote(&table.name), names.join(", "));
    let mut after = i64::MIN;
    loop {
        let rows: Vec<SqliteRow> =
            sqlx::query(sqlx::AssertSqlSafe(select.clone())).bind(after).bind(ROWS_PER_CHUNK).fetch_all(source).await?;
        let Some(last) = rows.last() else { return Ok(()) };
        after = last.try_get(0)?;
        let cells = rows.iter().map(|row| read_row(row, table)).collect::<Result<Vec<_>, _>>()?;
        let mut builder = QueryBuilder::<Postgres>::new(insert.clone());
        builder.push_values(cells, |mut values, row| {
            for cell in row {
                match cell {
                    Cell::Uuid(v) => values.push_bind(v),
                    Cell::Bytes(v) => values.push_bind(v),
                    Cell::Int8(v) => values.push_bind(v),
                    Cell::Int4(v) => values.push_bind(v),
                    Cell::Text(v) => values.push_bind(v),
                };
            }
        });
        builder.build().execute(&mut **tx).await?;
    }
}

/// One SQLite row as the target's columns want it (column 0 is the rowid).
fn read_row(row: &SqliteRow, table: &Table) -> Result<Vec<Cell>, AdminError> {
    table
        .columns
        .iter()
        .enumerate()
        .map(|(i, (column, kind))| {
            let bad = |why: String| AdminError::Value { table: table.name.clone(), column: column.clone(), why };
            let i = i + 1;
            Ok(match kind {
                Kind::Uuid => {
                    let bytes: Option<Vec<u8>> = row.try_get(i).map_err(|e| bad(e.to_string()))?;
                    Cell::Uuid(
                        bytes
                            .map(|b| Uuid::from_slice(&b))
                            .transpose()
                            .map_err(|_| bad("a stored id is not 16 bytes".to_owned()))?,
                    )
                }
                Kind::Bytes => Cell::Bytes(row.try_get(i).map_err(|e| bad(e.to_string()))?),
                Kind::Int8 => Cell::Int8(row.try_get(i).map_err(|e| bad(e.to_string()))?),
                Kind::Int4 => {
                    let value: Option<i64> = row.try_get(i).map_err(|e| bad(e.to_string()))?;
                    Cell::Int4(
                        value
                            .map(i32::try_from)
                            .transpose()
                            .map_err(|_| bad("a value does not fit a Postgres integer".to_owned()))?,
                    )
                }
                Kind::Text => Cell::Text(row.try_get(i).map_err(|e| bad(e.to_string()))?),
            })
        })
        .collect()
}

/// A catalog name as an SQL identifier.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
