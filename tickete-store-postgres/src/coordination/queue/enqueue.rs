//! Queueing a run's tasks in the shared queue.

use chrono::{DateTime, NaiveDate, Utc};
use tickete_core::{StoreError, SyncRun, SyncTask, WorkClass};

use super::{PostgresQueue, STALE_RUN};
use crate::error::db;

impl PostgresQueue {
    /// Records `run`'s tasks in the shared queue, merged with those queued already (manual
    /// beats scheduled, never-synced beats any time), and its outstanding count.
    pub(super) async fn enqueue_run(
        &self,
        run: &SyncRun,
        tasks: &[SyncTask],
    ) -> Result<(), StoreError> {
        let products: Vec<i64> = tasks.iter().map(|t| i64::from(t.product.get())).collect();
        let days: Vec<NaiveDate> = tasks.iter().map(|t| t.date).collect();
        let synced: Vec<Option<DateTime<Utc>>> =
            tasks.iter().map(|t| t.priority.synced_at).collect();
        let manual: Vec<bool> = tasks
            .iter()
            .map(|t| t.priority.class == WorkClass::Manual)
            .collect();
        let mut tx = self.begin().await?;
        // Never the run being queued: it has nothing outstanding yet.
        sqlx::query(&format!(
            "UPDATE runs SET status = 'interrupted', finished_at = now(), replan_pending = TRUE
              WHERE status = 'running' AND outstanding = 0 AND id <> $1
                AND owner_kind IS DISTINCT FROM 'cli'
                AND started_at < now() - INTERVAL '{STALE_RUN}'"
        ))
        .bind(run.id.0)
        .execute(&mut *tx)
        .await
        .map_err(db("reap stale runs"))?;
        // A merged task keeps the higher priority: manual beats scheduled, never-synced (NULL)
        // beats any time.
        sqlx::query(
            "INSERT INTO sync_tasks (product_id, day, synced_at, manual)
             SELECT * FROM UNNEST($1::BIGINT[], $2::DATE[], $3::TIMESTAMPTZ[], $4::BOOLEAN[])
             ON CONFLICT (product_id, day) DO UPDATE SET synced_at =
                 CASE WHEN sync_tasks.synced_at IS NULL OR EXCLUDED.synced_at IS NULL THEN NULL
                      ELSE LEAST(sync_tasks.synced_at, EXCLUDED.synced_at) END,
                 manual = sync_tasks.manual OR EXCLUDED.manual",
        )
        .bind(&products)
        .bind(&days)
        .bind(&synced)
        .bind(&manual)
        .execute(&mut *tx)
        .await
        .map_err(db("queue tasks"))?;
        sqlx::query(
            "INSERT INTO sync_task_runs (product_id, day, run_id)
             SELECT p, d, $3 FROM UNNEST($1::BIGINT[], $2::DATE[]) AS t (p, d)
             ON CONFLICT DO NOTHING",
        )
        .bind(&products)
        .bind(&days)
        .bind(run.id.0)
        .execute(&mut *tx)
        .await
        .map_err(db("attach run to tasks"))?;
        sqlx::query("UPDATE runs SET outstanding = $2 WHERE id = $1")
            .bind(run.id.0)
            .bind(tasks.len() as i64)
            .execute(&mut *tx)
            .await
            .map_err(db("count run tasks"))?;
        tx.commit().await.map_err(db("commit queue"))
    }
}
