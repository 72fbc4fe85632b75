//! Claiming the task the engine's refresh policy chooses.

use chrono::{DateTime, NaiveDate, Utc};
use tickete_core::engine::{ClaimedTask, TaskChooser};
use tickete_core::{StoreError, SyncTask, TaskPriority, WorkClass};

use super::PostgresQueue;
use crate::error::{count, db, product_id};

/// A ready row of `sync_tasks`.
#[derive(sqlx::FromRow)]
struct ReadyTaskRow {
    product_id: i64,
    day: NaiveDate,
    synced_at: Option<DateTime<Utc>>,
    attempts: i32,
    manual: bool,
}

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
        let rows: Vec<ReadyTaskRow> = sqlx::query_as(
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
        for row in rows {
            let date = row.day;
            let class = WorkClass::of(row.manual);
            if candidates
                .first()
                .is_some_and(|first: &SyncTask| first.priority.class != class)
            {
                break;
            }
            candidates.push(SyncTask {
                product: product_id(row.product_id)?,
                date,
                priority: TaskPriority {
                    class,
                    date,
                    synced_at: row.synced_at,
                },
            });
            attempts.push(count(i64::from(row.attempts), "task attempts")?);
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
