//! Work no run will get: pairs counted as missed on the runs waiting for them, and tasks no
//! run waits on any more.

use chrono::{DateTime, Utc};
use sqlx::{Postgres, Transaction};
use tickete_core::{RunCounts, RunId, StoreError};

use crate::error::{count, db};

/// Counts `pairs` as missed on each (run, pairs) that is still running, and finishes those
/// with nothing left outstanding; returns the runs touched.
pub(super) async fn miss(
    tx: &mut Transaction<'static, Postgres>,
    missing: &[(i64, i64)],
    now: DateTime<Utc>,
) -> Result<Vec<RunId>, StoreError> {
    let mut touched = Vec::with_capacity(missing.len());
    for &(id, pairs) in missing {
        let row: Option<RunProgressRow> = sqlx::query_as(
            "UPDATE runs SET missed = missed + LEAST($2, GREATEST(outstanding, 0)),
                    outstanding = GREATEST(outstanding - $2, 0)
              WHERE id = $1 AND status = 'running'
          RETURNING outstanding, fetched, skipped_fresh, failed, missed",
        )
        .bind(id)
        .bind(pairs)
        .fetch_optional(&mut **tx)
        .await
        .map_err(db("count missed pairs"))?;
        let Some(row) = row else { continue };
        touched.push(RunId(id));
        if row.outstanding > 0 {
            continue;
        }
        let counts = RunCounts {
            fetched: count(row.fetched, "fetched")?,
            skipped_fresh: count(row.skipped_fresh, "skipped")?,
            failed: count(row.failed, "failed")?,
            missed: count(row.missed, "missed")?,
            ..RunCounts::default()
        };
        sqlx::query("UPDATE runs SET status = $2, finished_at = $3 WHERE id = $1")
            .bind(id)
            .bind(counts.final_status().as_str())
            .bind(now)
            .execute(&mut **tx)
            .await
            .map_err(db("finish run"))?;
    }
    Ok(touched)
}

/// Removes queued tasks no run waits on any more (not those being fetched: their settle
/// removes them).
pub(super) async fn drop_orphan_tasks(
    tx: &mut Transaction<'static, Postgres>,
) -> Result<(), StoreError> {
    sqlx::query(
        "DELETE FROM sync_tasks t
          WHERE (lease_until IS NULL OR lease_until <= clock_timestamp())
            AND NOT EXISTS (SELECT 1 FROM sync_task_runs r
                             WHERE r.product_id = t.product_id AND r.day = t.day)",
    )
    .execute(&mut **tx)
    .await
    .map_err(db("drop orphan tasks"))?;
    Ok(())
}

/// The progress columns of a row of `runs`.
#[derive(sqlx::FromRow)]
struct RunProgressRow {
    outstanding: i64,
    fetched: i64,
    skipped_fresh: i64,
    failed: i64,
    missed: i64,
}
