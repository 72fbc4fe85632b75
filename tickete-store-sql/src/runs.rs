//! Jobs, the run log and the pause flag ([`RunLog`](tickete_core::RunLog),
//! [`Control`](tickete_core::Control)), written once for both dialects.

/// Implements [`RunLog`](tickete_core::RunLog) and [`Control`](tickete_core::Control) for a
/// store that implements [`Dialect`](crate::Dialect).
#[macro_export]
macro_rules! impl_runs {
    ($store:ty) => {
        const _: () = {
            use $crate::macro_support::chrono::{DateTime, Utc};
            use $crate::macro_support::tickete_core::{
                Control, JobPatch, NewRun, Page, PageRequest, PauseState, RunId, RunLog,
                RunStatus, StoreError, SyncJob, SyncRun,
            };
            use $crate::macro_support::{async_trait, sqlx, Dialect};
            use $crate::rows::{products_text, JobRow, JOB_COLUMNS, RUN_COLUMNS};

            type Store = $store;
            type RunRow =
                $crate::rows::RunRow<<Store as Dialect>::Instant, <Store as Dialect>::Texts>;
            type PauseRow = $crate::rows::PauseRow<<Store as Dialect>::Instant>;

            #[async_trait]
            impl RunLog for Store {
                async fn insert_job_if_missing(&self, job: &SyncJob) -> Result<bool, StoreError> {
                    let inserted = sqlx::query(
                        "INSERT INTO jobs (name, schedule, window_days, enabled)
                         VALUES ($1, $2, $3, $4)
                         ON CONFLICT (name) DO NOTHING",
                    )
                    .bind(&job.name)
                    .bind(&job.schedule)
                    .bind(i64::from(job.window_days))
                    .bind(job.enabled)
                    .execute(self.pool())
                    .await
                    .map_err(Self::db("insert job"))?;
                    Ok(inserted.rows_affected() == 1)
                }

                async fn list_jobs(&self) -> Result<Vec<SyncJob>, StoreError> {
                    let rows: Vec<JobRow> =
                        sqlx::query_as(&format!("SELECT {JOB_COLUMNS} FROM jobs ORDER BY name"))
                            .fetch_all(self.pool())
                            .await
                            .map_err(Self::db("list jobs"))?;
                    rows.into_iter().map(JobRow::into_job).collect()
                }

                async fn get_job(&self, name: &str) -> Result<SyncJob, StoreError> {
                    let row: JobRow =
                        sqlx::query_as(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE name = $1"))
                            .bind(name)
                            .fetch_optional(self.pool())
                            .await
                            .map_err(Self::db("read job"))?
                            .ok_or_else(|| StoreError::NotFound(format!("job {name}")))?;
                    row.into_job()
                }

                async fn update_job(
                    &self,
                    name: &str,
                    patch: &JobPatch,
                ) -> Result<SyncJob, StoreError> {
                    let row: JobRow = sqlx::query_as(&format!(
                        "UPDATE jobs SET schedule = COALESCE($2, schedule),
                                         window_days = COALESCE($3, window_days),
                                         enabled = COALESCE($4, enabled)
                         WHERE name = $1 RETURNING {JOB_COLUMNS}"
                    ))
                    .bind(name)
                    .bind(patch.schedule.as_deref())
                    .bind(patch.window_days.map(i64::from))
                    .bind(patch.enabled)
                    .fetch_optional(self.pool())
                    .await
                    .map_err(Self::db("update job"))?
                    .ok_or_else(|| StoreError::NotFound(format!("job {name}")))?;
                    row.into_job()
                }

                async fn create_run(&self, new: &NewRun) -> Result<SyncRun, StoreError> {
                    let mut tx = self
                        .pool()
                        .begin_with(Self::BEGIN_WRITE)
                        .await
                        .map_err(Self::db("create run"))?;
                    if let Some(original) = new.replans {
                        let claimed = sqlx::query(
                            "UPDATE runs SET replan_pending = FALSE
                             WHERE id = $1 AND replan_pending",
                        )
                        .bind(original.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(Self::db("claim re-plan"))?;
                        if claimed.rows_affected() == 0 {
                            return Err(StoreError::Conflict(format!(
                                "run {original} is not waiting for a re-plan"
                            )));
                        }
                    }
                    let owner = new.owner.as_ref();
                    let row: RunRow = sqlx::query_as(&format!(
                        "INSERT INTO runs (job, trigger, started_at, due_at, status, window_days,
                                           products, manual, owner_process, owner_kind,
                                           owner_host, owner_pid, replans)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                         RETURNING {RUN_COLUMNS}"
                    ))
                    .bind(&new.job)
                    .bind(new.trigger.as_str())
                    .bind(Self::instant(new.started_at))
                    .bind(Self::instant(new.due_at))
                    .bind(RunStatus::Running.as_str())
                    .bind(i64::from(new.window_days))
                    .bind(products_text(new.products.as_deref()))
                    .bind(new.manual)
                    .bind(owner.map(|o| o.process.as_str()))
                    .bind(owner.map(|o| o.kind.as_str()))
                    .bind(owner.map(|o| o.host.as_str()))
                    .bind(owner.map(|o| i64::from(o.pid)))
                    .bind(new.replans.map(|id| id.0))
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(Self::db("create run"))?;
                    tx.commit().await.map_err(Self::db("create run"))?;
                    row.into_run()
                }

                async fn save_run(&self, record: &SyncRun) -> Result<(), StoreError> {
                    let c = &record.counts;
                    let saved = sqlx::query(
                        "UPDATE runs SET status = $2, finished_at = $3, planned = $4,
                                         fetched = $5, changed = $6, unchanged = $7,
                                         skipped_fresh = $8, failed = $9, errors = $10,
                                         missed = $11, replan_pending = $12, skipped_ticks = $13
                         WHERE id = $1 AND (status = $14 OR status = $2)",
                    )
                    .bind(record.id.0)
                    .bind(record.status.as_str())
                    .bind(record.finished_at.map(Self::instant))
                    .bind(i64::from(c.planned))
                    .bind(i64::from(c.fetched))
                    .bind(i64::from(c.changed))
                    .bind(i64::from(c.unchanged))
                    .bind(i64::from(c.skipped_fresh))
                    .bind(i64::from(c.failed))
                    .bind(Self::texts(&record.errors))
                    .bind(i64::from(c.missed))
                    .bind(record.replan_pending)
                    .bind(i64::from(record.skipped_ticks))
                    .bind(RunStatus::Running.as_str())
                    .execute(self.pool())
                    .await
                    .map_err(Self::db("save run"))?;
                    if saved.rows_affected() == 0 {
                        let stored: Option<String> =
                            sqlx::query_scalar("SELECT status FROM runs WHERE id = $1")
                                .bind(record.id.0)
                                .fetch_optional(self.pool())
                                .await
                                .map_err(Self::db("save run"))?;
                        return Err(match stored {
                            Some(status) => StoreError::Conflict(format!(
                                "run {} has ended {status}",
                                record.id
                            )),
                            None => StoreError::NotFound(format!("run {}", record.id)),
                        });
                    }
                    Ok(())
                }

                async fn get_run(&self, id: RunId) -> Result<SyncRun, StoreError> {
                    let row: RunRow =
                        sqlx::query_as(&format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = $1"))
                            .bind(id.0)
                            .fetch_optional(self.pool())
                            .await
                            .map_err(Self::db("read run"))?
                            .ok_or_else(|| StoreError::NotFound(format!("run {id}")))?;
                    row.into_run()
                }

                async fn list_runs(
                    &self,
                    job: Option<&str>,
                    page: PageRequest,
                ) -> Result<Page<SyncRun>, StoreError> {
                    let (limit, offset) = $crate::limit_offset(page);
                    let mut tx = self
                        .pool()
                        .begin_with(Self::BEGIN_READ)
                        .await
                        .map_err(Self::db("list runs"))?;
                    let total: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM runs WHERE CAST($1 AS TEXT) IS NULL OR job = $1",
                    )
                    .bind(job)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(Self::db("list runs"))?;
                    let rows: Vec<RunRow> = sqlx::query_as(&format!(
                        "SELECT {RUN_COLUMNS} FROM runs
                         WHERE CAST($1 AS TEXT) IS NULL OR job = $1
                         ORDER BY id DESC LIMIT $2 OFFSET $3"
                    ))
                    .bind(job)
                    .bind(limit)
                    .bind(offset)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(Self::db("list runs"))?;
                    tx.commit().await.map_err(Self::db("list runs"))?;
                    Ok(Page {
                        items: rows
                            .into_iter()
                            .map(RunRow::into_run)
                            .collect::<Result<_, _>>()?,
                        total: u64::try_from(total).unwrap_or(0),
                    })
                }

                async fn last_run(&self, job: &str) -> Result<Option<SyncRun>, StoreError> {
                    let row: Option<RunRow> = sqlx::query_as(&format!(
                        "SELECT {RUN_COLUMNS} FROM runs WHERE job = $1
                         ORDER BY due_at DESC, id DESC LIMIT 1"
                    ))
                    .bind(job)
                    .fetch_optional(self.pool())
                    .await
                    .map_err(Self::db("read last run"))?;
                    row.map(RunRow::into_run).transpose()
                }

                async fn interrupt_orphaned_runs(
                    &self,
                    alive_since: DateTime<Utc>,
                    at: DateTime<Utc>,
                ) -> Result<Vec<RunId>, StoreError> {
                    let mut tx = self
                        .pool()
                        .begin_with(Self::BEGIN_WRITE)
                        .await
                        .map_err(Self::db("interrupt runs"))?;
                    let ids: Vec<i64> = sqlx::query_scalar(&format!(
                        "UPDATE runs SET status = $1, finished_at = $2, replan_pending = TRUE,
                                missed = {greatest}(planned - fetched - failed - skipped_fresh,
                                                    missed){resets}
                          WHERE status = $3
                            AND NOT EXISTS (SELECT 1 FROM processes p
                                             WHERE p.id = runs.owner_process
                                               AND p.last_seen_at >= $4)
                          RETURNING id",
                        greatest = Self::GREATEST,
                        resets = Self::INTERRUPTED_RUN_RESETS,
                    ))
                    .bind(RunStatus::Interrupted.as_str())
                    .bind(Self::instant(at))
                    .bind(RunStatus::Running.as_str())
                    .bind(Self::instant(alive_since))
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(Self::db("interrupt runs"))?;
                    sqlx::query("DELETE FROM processes WHERE last_seen_at < $1")
                        .bind(Self::instant(alive_since))
                        .execute(&mut *tx)
                        .await
                        .map_err(Self::db("forget gone processes"))?;
                    tx.commit().await.map_err(Self::db("interrupt runs"))?;
                    let mut ids: Vec<RunId> = ids.into_iter().map(RunId).collect();
                    ids.sort();
                    Ok(ids)
                }

                async fn runs_to_replan(&self) -> Result<Vec<SyncRun>, StoreError> {
                    let rows: Vec<RunRow> = sqlx::query_as(&format!(
                        "SELECT {RUN_COLUMNS} FROM runs WHERE replan_pending AND status = $1
                         ORDER BY id"
                    ))
                    .bind(RunStatus::Interrupted.as_str())
                    .fetch_all(self.pool())
                    .await
                    .map_err(Self::db("list runs to re-plan"))?;
                    rows.into_iter().map(RunRow::into_run).collect()
                }
            }

            #[async_trait]
            impl Control for Store {
                async fn ping(&self) -> Result<(), StoreError> {
                    sqlx::query("SELECT 1")
                        .execute(self.pool())
                        .await
                        .map_err(Self::db("ping"))?;
                    Ok(())
                }

                async fn pause_state(&self) -> Result<PauseState, StoreError> {
                    let row: PauseRow =
                        sqlx::query_as("SELECT paused, paused_at FROM pause WHERE id = 1")
                            .fetch_optional(self.pool())
                            .await
                            .map_err(Self::db("read pause flag"))?
                            .ok_or_else(|| $crate::corrupt("the pause flag row is missing"))?;
                    row.into_state()
                }

                /// One statement: `paused_at` is kept when already paused, so racing pauses
                /// agree.
                async fn set_paused(
                    &self,
                    paused: bool,
                    at: DateTime<Utc>,
                ) -> Result<PauseState, StoreError> {
                    let row: PauseRow = sqlx::query_as(
                        "UPDATE pause
                         SET paused_at = CASE WHEN $1 THEN (CASE WHEN paused THEN paused_at
                                                                 ELSE $2 END)
                                              ELSE NULL END,
                             paused = $1
                         WHERE id = 1 RETURNING paused, paused_at",
                    )
                    .bind(paused)
                    .bind(Self::instant(at))
                    .fetch_optional(self.pool())
                    .await
                    .map_err(Self::db("set pause flag"))?
                    .ok_or_else(|| $crate::corrupt("the pause flag row is missing"))?;
                    row.into_state()
                }
            }
        };
    };
}
