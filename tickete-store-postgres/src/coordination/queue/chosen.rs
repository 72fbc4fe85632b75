//! Claiming the task the engine's refresh policy chooses.

use chrono::{DateTime, NaiveDate, Utc};
use tickete_core::engine::{ClaimedTask, TaskChooser};
use tickete_core::{StoreError, SyncTask, TaskPriority, WorkClass};

use super::PostgresQueue;
use crate::error::{column, count, db, product_id};

impl PostgresQueue {
    /// The refresh policy picks among the ready tasks of the first class that has any (manual
    /// work before scheduled work; read without locks); the lease is
    /// then taken only if the task is still free, re-checked under the row lock, so two
    /// replicas never claim one pair (the loser claims again).
    pub(super) async fn claim_chosen_by(
        &self,
        now: DateTime<Utc>,
        chooser: &dyn TaskChooser,
    ) -> Result<Option<ClaimedTask>, StoreError> {
        let rows = sqlx::query(
            "SELECT product_id, day, synced_at, attempts, manual FROM sync_tasks
              WHERE (lease_until IS NULL OR lease_until <= clock_timestamp())
                AND (not_before IS NULL OR not_before <= $1)
              ORDER BY manual DESC, day, synced_at NULLS FIRST, product_id",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(db("read ready tasks"))?;
        let mut candidates = Vec::with_capacity(rows.len());
        let mut attempts = Vec::with_capacity(rows.len());
        for row in &rows {
            let date: NaiveDate = column(row, 1)?;
            let class = WorkClass::of(column(row, 4)?);
            if candidates
                .first()
                .is_some_and(|first: &SyncTask| first.priority.class != class)
            {
                break;
            }
            candidates.push(SyncTask {
                product: product_id(column(row, 0)?)?,
                date,
                priority: TaskPriority {
                    class,
                    date,
                    synced_at: column(row, 2)?,
                },
            });
            let tries: i32 = column(row, 3)?;
            attempts.push(count(i64::from(tries), "task attempts")?);
        }
        let Some(index) = chooser.choose(&candidates, now) else {
            return Ok(None);
        };
        let (Some(task), Some(&tries)) = (candidates.get(index), attempts.get(index)) else {
            return Ok(None);
        };
        let taken = sqlx::query(
            "UPDATE sync_tasks
                SET lease_owner = $3,
                    lease_until = clock_timestamp() + $4 * INTERVAL '1 microsecond'
              WHERE product_id = $1 AND day = $2
                AND (lease_until IS NULL OR lease_until <= clock_timestamp())",
        )
        .bind(i64::from(task.product.get()))
        .bind(task.date)
        .bind(&self.replica)
        .bind(self.lease_micros())
        .execute(&self.pool)
        .await
        .map_err(db("claim chosen task"))?;
        if taken.rows_affected() == 0 {
            return Ok(None);
        }
        Ok(Some(ClaimedTask {
            task: task.clone(),
            attempts: tries,
        }))
    }
}
