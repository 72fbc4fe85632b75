//! Which replicas are alive: each reports itself every few seconds, and the last one to stop
//! (or a start that finds none alive) ends the shared runs no process will finish.

use chrono::{DateTime, Utc};
use sqlx::{Postgres, Transaction};
use tickete_core::{RunId, StoreError};

use super::queue::STALE_RUN;
use crate::error::db;

/// A replica not seen for this long is gone (it reports every few seconds).
pub(super) const REPLICA_GONE: &str = "30 seconds";
/// Advisory lock key serialising replicas that join or leave, so of two stopping at once
/// exactly one sees itself as the last.
pub(super) const LIFECYCLE_LOCK: i64 = 0x7469_636b_6574_6501;

/// Registers `replica` as alive now.
pub(super) async fn join_replicas<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    replica: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO replicas (name, seen_at) VALUES ($1, now())
         ON CONFLICT (name) DO UPDATE SET seen_at = now()",
    )
    .bind(replica)
    .execute(executor)
    .await
    .map_err(db("report replica alive"))?;
    Ok(())
}

/// Whether a replica other than `replica` reported itself alive recently.
pub(super) async fn others_alive(
    tx: &mut Transaction<'static, Postgres>,
    replica: &str,
) -> Result<bool, StoreError> {
    sqlx::query_scalar(&format!(
        "SELECT EXISTS (SELECT 1 FROM replicas
                         WHERE name <> $1 AND seen_at > now() - INTERVAL '{REPLICA_GONE}')"
    ))
    .bind(replica)
    .fetch_one(&mut **tx)
    .await
    .map_err(db("look for live replicas"))
}

/// No replica is left to finish the running runs of the shared queue: they end
/// `interrupted` (what they had not reached counted as missed), waiting for a re-plan, and the
/// queue is emptied; the next start re-plans them. Runs whose owner is another live process
/// (a CLI with its own in-process queue) are left to it.
pub(super) async fn interrupt_all(
    tx: &mut Transaction<'static, Postgres>,
    replica: &str,
    now: DateTime<Utc>,
) -> Result<Vec<RunId>, StoreError> {
    // Tasks before runs, the order settling and queueing take their locks in.
    sqlx::query("DELETE FROM sync_tasks")
        .execute(&mut **tx)
        .await
        .map_err(db("clear the queue"))?;
    let ids: Vec<i64> = sqlx::query_scalar(&format!(
        "UPDATE runs SET status = 'interrupted', finished_at = $1, replan_pending = TRUE,
                missed = missed + GREATEST(outstanding, 0), outstanding = 0
          WHERE status = 'running'
            AND (outstanding > 0 OR started_at < now() - INTERVAL '{STALE_RUN}'
                 OR owner_process = $2)
            AND NOT EXISTS (SELECT 1 FROM processes p
                             WHERE p.id = runs.owner_process AND p.id <> $2
                               AND p.last_seen_at >= $1 - $3 * INTERVAL '1 microsecond')
      RETURNING id"
    ))
    .bind(now)
    .bind(replica)
    .bind(i64::try_from(tickete_core::engine::OWNER_LEASE.as_micros()).unwrap_or(i64::MAX))
    .fetch_all(&mut **tx)
    .await
    .map_err(db("interrupt runs"))?;
    Ok(ids.into_iter().map(RunId).collect())
}
