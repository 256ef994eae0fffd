//! The push's read on Postgres stays an index lookup per pushed pair (and
//! a range of the cursor index for its page), whichever plan Postgres
//! caches for it. After five executions of a
//! prepared statement Postgres may switch to a generic plan, costed for an
//! average account; on a server of many small accounts that once made one
//! large account's every push hash all of its envelopes.

mod common;

use sealsync_server::store::Store;
use sealsync_server::store::postgres::{PUSH_READ, PgStore};
use serde_json::Value;
use sqlx::{AssertSqlSafe, Connection, PgConnection, Row};

/// Every `envelopes` scan in an `EXPLAIN (FORMAT JSON)` plan, with its
/// index condition (`None` for a scan without one).
fn envelope_scans(node: &Value, out: &mut Vec<Option<String>>) {
    if node["Relation Name"] == "envelopes" {
        out.push(node["Index Cond"].as_str().map(str::to_owned));
    }
    for child in node["Plans"].as_array().into_iter().flatten() {
        envelope_scans(child, out);
    }
}

#[tokio::test]
async fn a_push_reads_one_large_account_by_pair_under_generic_and_custom_plans() {
    let Some(db) = common::postgres_database().await else { return };
    let store = PgStore::connect(&db.url, 2).await.unwrap();
    store.migrate().await.unwrap();
    let mut conn = PgConnection::connect(&db.url).await.unwrap();
    // One account of 20,000 envelopes among 5,000 of one envelope each.
    sqlx::raw_sql(
        "INSERT INTO envelopes (account_id, record_id, device_id, device_seq, server_seq, envelope) \
           SELECT '00000000-0000-0000-0000-000000000001', gen_random_uuid(), \
                  '00000000-0000-0000-0000-0000000000aa', g, g, '\\x00' FROM generate_series(1, 20000) g; \
         INSERT INTO envelopes (account_id, record_id, device_id, device_seq, server_seq, envelope) \
           SELECT gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), 1, 1, '\\x00' \
             FROM generate_series(1, 5000); \
         ANALYZE envelopes",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::raw_sql(AssertSqlSafe(format!("PREPARE push_read (uuid, uuid[], uuid[], int8, int8) AS {PUSH_READ}")))
        .execute(&mut conn)
        .await
        .unwrap();

    for mode in ["force_generic_plan", "force_custom_plan"] {
        sqlx::raw_sql(AssertSqlSafe(format!("SET plan_cache_mode = {mode}"))).execute(&mut conn).await.unwrap();
        let row = sqlx::query(
            "EXPLAIN (FORMAT JSON) EXECUTE push_read ('00000000-0000-0000-0000-000000000001', \
             ARRAY['00000000-0000-0000-0000-000000000002'::uuid], \
             ARRAY['00000000-0000-0000-0000-0000000000aa'::uuid], 0, 0)",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        // `json`, which sqlx decodes without its `json` feature only unchecked.
        let plan: Value = serde_json::from_str(&row.try_get_unchecked::<String, _>(0).unwrap()).unwrap();
        let mut scans = Vec::new();
        envelope_scans(&plan[0]["Plan"], &mut scans);
        assert!(!scans.is_empty(), "{mode}: the plan reads no envelopes: {plan}");
        for scan in scans {
            let condition = scan.unwrap_or_default();
            let by_pair = condition.contains("record_id") && condition.contains("device_id");
            let by_cursor = condition.contains("server_seq");
            assert!(by_pair || by_cursor, "{mode}: envelopes read by `{condition}`, not by pair or cursor: {plan:#}");
        }
    }
}
