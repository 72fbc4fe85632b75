use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgPool, Postgres, Transaction};
use tickete_core::engine::{
    ClaimedTask, DropTasks, QueueDepth, Readiness, TaskChooser, TaskOutcome, WorkQueue,
};
use tickete_core::{
    RunCounts, RunId, RunOwner, StoreError, SyncRun, SyncTask, TaskPriority, WorkClass,
};

use crate::error::{count, db, product_id};
use tickete_store_sql::rows::RUN_COLUMNS;

/// A row of `runs` as Postgres stores it.
type RunRow = tickete_store_sql::rows::RunRow<DateTime<Utc>, Vec<String>>;

mod chosen;
mod enqueue;

use super::missed::{drop_orphan_tasks, miss};
use super::replicas::{interrupt_all, join_replicas, others_alive, LIFECYCLE_LOCK, REPLICA_GONE};

/// A run still `running` with nothing outstanding after this long was cut off between being
/// recorded and being queued (a crash); it is marked `interrupted` so its job can run again.
pub(super) const STALE_RUN: &str = "5 minutes";

/// A run's counts as settling a task left them.
#[derive(sqlx::FromRow)]
struct SettledRunRow {
    id: i64,
    outstanding: i64,
    fetched: i64,
    skipped_fresh: i64,
    failed: i64,
    missed: i64,
}

/// The durable task queue shared by every replica.
///
/// Leases are set and compared with the database's clock, so a replica whose own clock is off
/// cannot take over a task another replica is still fetching; backoff times (`not_before`)
/// come from the engine's clock, which also decides when a worker wakes for them.
#[derive(Debug, Clone)]
pub struct PostgresQueue {
    pool: PgPool,
    replica: String,
    lease: Duration,
}

impl PostgresQueue {
    /// A transaction holding the lock replicas join and leave under.
    async fn lifecycle(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(LIFECYCLE_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(db("lock replica lifecycle"))?;
        Ok(tx)
    }

    /// The runs `ids` as they are now, in the order of `ids`.
    async fn reread(&self, ids: Vec<RunId>) -> Result<Vec<SyncRun>, StoreError> {
        let raw: Vec<i64> = ids.iter().map(|id| id.0).collect();
        let rows: Vec<RunRow> = sqlx::query_as(&format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE id = ANY($1)"
        ))
        .bind(&raw)
        .fetch_all(&self.pool)
        .await
        .map_err(db("read runs"))?;
        let read = rows
            .into_iter()
            .map(RunRow::into_run)
            .collect::<Result<Vec<_>, _>>()?;
        ids.iter()
            .map(|id| {
                read.iter()
                    .find(|run| run.id == *id)
                    .cloned()
                    .ok_or_else(|| StoreError::NotFound(format!("run {id}")))
            })
            .collect()
    }

    /// A queue claiming tasks as `replica`, each under a lease of `lease` (longer than one
    /// partner call and its write).
    pub fn new(pool: PgPool, replica: &str, lease: Duration) -> Self {
        Self {
            pool,
            replica: replica.to_owned(),
            lease,
        }
    }

    fn lease_micros(&self) -> i64 {
        i64::try_from(self.lease.as_micros()).unwrap_or(i64::MAX)
    }

    async fn begin(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        self.pool.begin().await.map_err(db("begin"))
    }
}

#[async_trait]
impl WorkQueue for PostgresQueue {
    async fn is_running(&self, job: &str) -> Result<bool, StoreError> {
        sqlx::query_scalar(&format!(
            "SELECT EXISTS (SELECT 1 FROM runs WHERE job = $1 AND status = 'running'
                AND owner_kind IS DISTINCT FROM 'cli'
                AND (outstanding > 0 OR started_at > now() - INTERVAL '{STALE_RUN}'))"
        ))
        .bind(job)
        .fetch_one(&self.pool)
        .await
        .map_err(db("check running runs"))
    }

    async fn enqueue(&self, run: &SyncRun, tasks: &[SyncTask]) -> Result<(), StoreError> {
        self.enqueue_run(run, tasks).await
    }

    async fn readiness(&self, now: DateTime<Utc>) -> Result<Readiness, StoreError> {
        let row = sqlx::query_as(
            "SELECT COALESCE(bool_or((lease_until IS NULL OR lease_until <= clock_timestamp())
                                 AND (not_before IS NULL OR not_before <= $1)), FALSE),
                    min(GREATEST(lease_until, not_before))
               FROM sync_tasks",
        )
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(db("read queue readiness"))?;
        let (ready, next): (bool, Option<DateTime<Utc>>) = row;
        Ok(match (ready, next) {
            (true, _) => Readiness::Ready,
            (false, Some(at)) => Readiness::At(at),
            (false, None) => Readiness::Empty,
        })
    }

    async fn claim(&self, now: DateTime<Utc>) -> Result<Option<ClaimedTask>, StoreError> {
        let row: Option<TaskRow> = sqlx::query_as(
            "UPDATE sync_tasks
                SET lease_owner = $2,
                    lease_until = clock_timestamp() + $3 * INTERVAL '1 microsecond'
              WHERE (product_id, day) = (
                    SELECT product_id, day FROM sync_tasks
                     WHERE (lease_until IS NULL OR lease_until <= clock_timestamp())
                       AND (not_before IS NULL OR not_before <= $1)
                     ORDER BY manual DESC, day, synced_at NULLS FIRST, product_id
                     LIMIT 1
                     FOR UPDATE SKIP LOCKED)
             RETURNING product_id, day, synced_at, attempts, manual",
        )
        .bind(now)
        .bind(&self.replica)
        .bind(self.lease_micros())
        .fetch_optional(&self.pool)
        .await
        .map_err(db("claim task"))?;
        row.map(TaskRow::into_claimed).transpose()
    }

    async fn claim_chosen(
        &self,
        now: DateTime<Utc>,
        chooser: &dyn TaskChooser,
    ) -> Result<Option<ClaimedTask>, StoreError> {
        self.claim_chosen_by(now, chooser).await
    }

    async fn release(
        &self,
        claimed: ClaimedTask,
        not_before: Option<DateTime<Utc>>,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE sync_tasks
                SET lease_owner = NULL, lease_until = NULL, not_before = $3, attempts = $4,
                    last_error = COALESCE($6, last_error)
              WHERE product_id = $1 AND day = $2 AND lease_owner = $5",
        )
        .bind(i64::from(claimed.task.product.get()))
        .bind(claimed.task.date)
        .bind(not_before)
        .bind(i32::try_from(claimed.attempts).unwrap_or(i32::MAX))
        .bind(&self.replica)
        .bind(error)
        .execute(&self.pool)
        .await
        .map_err(db("release task"))?;
        // No run waits on it any more (superseded while it was being fetched): it goes.
        sqlx::query(
            "DELETE FROM sync_tasks t
              WHERE product_id = $1 AND day = $2 AND lease_owner IS NULL
                AND NOT EXISTS (SELECT 1 FROM sync_task_runs r
                                 WHERE r.product_id = t.product_id AND r.day = t.day)",
        )
        .bind(i64::from(claimed.task.product.get()))
        .bind(claimed.task.date)
        .execute(&self.pool)
        .await
        .map_err(db("drop released orphan task"))?;
        Ok(())
    }

    async fn settle(
        &self,
        task: &SyncTask,
        outcome: &TaskOutcome,
        now: DateTime<Utc>,
    ) -> Result<Vec<SyncRun>, StoreError> {
        let product = i64::from(task.product.get());
        let mut tx = self.begin().await?;
        // Locking the task row first serialises with a run attaching to it right now.
        let locked =
            sqlx::query("SELECT 1 FROM sync_tasks WHERE product_id = $1 AND day = $2 FOR UPDATE")
                .bind(product)
                .bind(task.date)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db("lock task"))?;
        if locked.is_none() {
            // Another replica settled it after our lease expired; its runs are counted.
            return Ok(Vec::new());
        }
        let run_ids: Vec<i64> = sqlx::query_scalar(
            "DELETE FROM sync_task_runs WHERE product_id = $1 AND day = $2 RETURNING run_id",
        )
        .bind(product)
        .bind(task.date)
        .fetch_all(&mut *tx)
        .await
        .map_err(db("detach runs"))?;
        sqlx::query("DELETE FROM sync_tasks WHERE product_id = $1 AND day = $2")
            .bind(product)
            .bind(task.date)
            .execute(&mut *tx)
            .await
            .map_err(db("remove task"))?;
        let add = outcome.counts();
        let error = outcome.error_line(task.product, task.date);
        let counted: Vec<SettledRunRow> = sqlx::query_as(
            "UPDATE runs SET fetched = fetched + $2, changed = changed + $3,
                    unchanged = unchanged + $4, failed = failed + $5, missed = missed + $8,
                    errors = CASE WHEN $6::TEXT IS NOT NULL AND cardinality(errors) < $7
                                  THEN array_append(errors, $6::TEXT) ELSE errors END,
                    outstanding = outstanding - 1
              WHERE id = ANY($1) AND status = 'running'
          RETURNING id, outstanding, fetched, skipped_fresh, failed, missed",
        )
        .bind(&run_ids)
        .bind(i64::from(add.fetched))
        .bind(i64::from(add.changed))
        .bind(i64::from(add.unchanged))
        .bind(i64::from(add.failed))
        .bind(error)
        .bind(SyncRun::MAX_ERRORS as i32)
        .bind(i64::from(add.missed))
        .fetch_all(&mut *tx)
        .await
        .map_err(db("count task outcome"))?;
        let mut touched = Vec::with_capacity(counted.len());
        for row in &counted {
            touched.push(RunId(row.id));
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
                .bind(row.id)
                .bind(counts.final_status().as_str())
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(db("finish run"))?;
        }
        tx.commit().await.map_err(db("commit task outcome"))?;
        self.reread(touched).await
    }

    async fn supersede(&self, job: &str, now: DateTime<Utc>) -> Result<Vec<SyncRun>, StoreError> {
        let mut tx = self.begin().await?;
        // Detach first, then lock the runs: the order a settling replica takes them in
        // (task, its run links, then the runs), so the two wait rather than deadlock.
        sqlx::query(
            "DELETE FROM sync_task_runs WHERE run_id IN
                (SELECT id FROM runs WHERE job = $1 AND status = 'running'
                    AND owner_kind IS DISTINCT FROM 'cli')",
        )
        .bind(job)
        .execute(&mut *tx)
        .await
        .map_err(db("detach superseded runs"))?;
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT id, outstanding FROM runs WHERE job = $1 AND status = 'running'
                AND owner_kind IS DISTINCT FROM 'cli' FOR UPDATE",
        )
        .bind(job)
        .fetch_all(&mut *tx)
        .await
        .map_err(db("lock running runs"))?;
        let missing: Vec<(i64, i64)> = rows
            .into_iter()
            .map(|(id, outstanding)| (id, outstanding.max(0)))
            .collect();
        drop_orphan_tasks(&mut tx).await?;
        let ids: Vec<i64> = missing.iter().map(|&(id, _)| id).collect();
        sqlx::query(
            "UPDATE runs SET errors = array_append(errors, $2)
              WHERE id = ANY($1) AND cardinality(errors) < $3",
        )
        .bind(&ids)
        .bind(tickete_core::engine::SUPERSEDED)
        .bind(SyncRun::MAX_ERRORS as i32)
        .execute(&mut *tx)
        .await
        .map_err(db("note superseded runs"))?;
        let ended = miss(&mut tx, &missing, now).await?;
        tx.commit().await.map_err(db("commit supersede"))?;
        self.reread(ended).await
    }

    async fn drop_tasks(
        &self,
        which: DropTasks,
        now: DateTime<Utc>,
    ) -> Result<Vec<SyncRun>, StoreError> {
        let (before, product) = match which {
            DropTasks::Before(date) => (Some(date), None),
            DropTasks::Product(product) => (None, Some(i64::from(product.get()))),
        };
        let mut tx = self.begin().await?;
        // Tasks being fetched finish as they are; the rest leave now.
        let dropped: Vec<(i64, NaiveDate)> = sqlx::query_as(
            "SELECT product_id, day FROM sync_tasks
              WHERE (day < $1 OR product_id = $2)
                AND (lease_until IS NULL OR lease_until <= clock_timestamp())
                FOR UPDATE SKIP LOCKED",
        )
        .bind(before)
        .bind(product)
        .fetch_all(&mut *tx)
        .await
        .map_err(db("find dropped tasks"))?;
        let (products, days): (Vec<i64>, Vec<NaiveDate>) = dropped.into_iter().unzip();
        let missing: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT run_id, count(*) FROM sync_task_runs
              WHERE (product_id, day) IN (SELECT * FROM UNNEST($1::BIGINT[], $2::DATE[]))
              GROUP BY run_id",
        )
        .bind(&products)
        .bind(&days)
        .fetch_all(&mut *tx)
        .await
        .map_err(db("count runs of dropped tasks"))?;
        sqlx::query(
            "DELETE FROM sync_tasks
              WHERE (product_id, day) IN (SELECT * FROM UNNEST($1::BIGINT[], $2::DATE[]))",
        )
        .bind(&products)
        .bind(&days)
        .execute(&mut *tx)
        .await
        .map_err(db("drop tasks"))?;
        let touched = miss(&mut tx, &missing, now).await?;
        tx.commit().await.map_err(db("commit dropped tasks"))?;
        self.reread(touched).await
    }

    async fn depth(&self) -> Result<QueueDepth, StoreError> {
        let row = sqlx::query_as(
            "SELECT count(*) FILTER (WHERE lease_until IS NULL OR lease_until <= now()),
                    count(*) FILTER (WHERE lease_until > now())
               FROM sync_tasks",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(db("read queue depth"))?;
        let (pending, in_flight): (i64, i64) = row;
        Ok(QueueDepth {
            pending: usize::try_from(pending).unwrap_or(0),
            in_flight: usize::try_from(in_flight).unwrap_or(0),
        })
    }

    async fn stop(&self, now: DateTime<Utc>) -> Result<Vec<SyncRun>, StoreError> {
        // Hand our claims back at once; the runs go on in other replicas, or, when we are the
        // last one, end `interrupted` and are re-planned at the next start.
        sqlx::query(
            "UPDATE sync_tasks SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1",
        )
        .bind(&self.replica)
        .execute(&self.pool)
        .await
        .map_err(db("release leases"))?;
        let mut tx = self.lifecycle().await?;
        sqlx::query("DELETE FROM replicas WHERE name = $1")
            .bind(&self.replica)
            .execute(&mut *tx)
            .await
            .map_err(db("leave the replicas"))?;
        let ended = if others_alive(&mut tx, &self.replica).await? {
            Vec::new()
        } else {
            interrupt_all(&mut tx, &self.replica, now).await?
        };
        tx.commit().await.map_err(db("commit stop"))?;
        self.reread(ended).await
    }

    async fn recover(&self, now: DateTime<Utc>) -> Result<Vec<SyncRun>, StoreError> {
        let mut tx = self.lifecycle().await?;
        let alive = others_alive(&mut tx, &self.replica).await?;
        sqlx::query(&format!(
            "DELETE FROM replicas WHERE seen_at <= now() - INTERVAL '{REPLICA_GONE}'"
        ))
        .execute(&mut *tx)
        .await
        .map_err(db("forget gone replicas"))?;
        join_replicas(&mut *tx, &self.replica).await?;
        let ended = if alive {
            Vec::new()
        } else {
            interrupt_all(&mut tx, &self.replica, now).await?
        };
        tx.commit().await.map_err(db("commit recovery"))?;
        self.reread(ended).await
    }

    async fn adopt_orphaned_runs(
        &self,
        owner: &RunOwner,
        alive_since: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let adopted = sqlx::query(
            "UPDATE runs SET owner_process = $1, owner_kind = $2, owner_host = $3, owner_pid = $4
              WHERE status = 'running' AND outstanding > 0
                AND NOT EXISTS (SELECT 1 FROM processes p
                                 WHERE p.id = runs.owner_process AND p.last_seen_at >= $5)",
        )
        .bind(&owner.process)
        .bind(owner.kind.as_str())
        .bind(&owner.host)
        .bind(i64::from(owner.pid))
        .bind(alive_since)
        .execute(&self.pool)
        .await
        .map_err(db("adopt runs"))?;
        Ok(adopted.rows_affected())
    }

    async fn heartbeat(&self) -> Result<(), StoreError> {
        join_replicas(&self.pool, &self.replica).await
    }

    fn poll_interval(&self) -> Option<Duration> {
        Some(Duration::from_millis(500))
    }
}

/// A claimed row of `sync_tasks`.
#[derive(sqlx::FromRow)]
struct TaskRow {
    product_id: i64,
    day: NaiveDate,
    synced_at: Option<DateTime<Utc>>,
    attempts: i32,
    manual: bool,
}

impl TaskRow {
    fn into_claimed(self) -> Result<ClaimedTask, StoreError> {
        Ok(ClaimedTask {
            task: SyncTask {
                product: product_id(self.product_id)?,
                date: self.day,
                priority: TaskPriority {
                    class: WorkClass::of(self.manual),
                    date: self.day,
                    synced_at: self.synced_at,
                },
            },
            attempts: count(i64::from(self.attempts), "task attempts")?,
        })
    }
}
