//! Jobs, the run log and the pause flag.

use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::SqlitePool;
use tickete_core::{
    JobPatch, NewRun, Page, PageRequest, PauseState, RunCounts, RunId, RunStatus, StoreError,
    SyncJob, SyncRun, Trigger,
};

use crate::codec::{column, count, instant, limit_offset, parse_instant};
use crate::error::{corrupt, db};

const JOB_COLUMNS: &str = "name, schedule, window_days, enabled";

fn job(row: &SqliteRow) -> Result<SyncJob, StoreError> {
    Ok(SyncJob {
        name: column(row, 0)?,
        schedule: column(row, 1)?,
        window_days: count(column(row, 2)?, "job window")?,
        enabled: column::<i64>(row, 3)? != 0,
    })
}

pub(crate) async fn insert_job_if_missing(
    pool: &SqlitePool,
    job: &SyncJob,
) -> Result<bool, StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO jobs (name, schedule, window_days, enabled) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(&job.name)
    .bind(&job.schedule)
    .bind(i64::from(job.window_days))
    .bind(job.enabled)
    .execute(pool)
    .await
    .map_err(db("insert job"))?;
    Ok(inserted.rows_affected() == 1)
}

pub(crate) async fn list_jobs(pool: &SqlitePool) -> Result<Vec<SyncJob>, StoreError> {
    let rows = sqlx::query(&format!("SELECT {JOB_COLUMNS} FROM jobs ORDER BY name"))
        .fetch_all(pool)
        .await
        .map_err(db("list jobs"))?;
    rows.iter().map(job).collect()
}

pub(crate) async fn get_job(pool: &SqlitePool, name: &str) -> Result<SyncJob, StoreError> {
    let row = sqlx::query(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE name = ?1"))
        .bind(name)
        .fetch_optional(pool)
        .await
        .map_err(db("read job"))?
        .ok_or_else(|| StoreError::NotFound(format!("job {name}")))?;
    job(&row)
}

pub(crate) async fn update_job(
    pool: &SqlitePool,
    name: &str,
    patch: &JobPatch,
) -> Result<SyncJob, StoreError> {
    let row = sqlx::query(&format!(
        "UPDATE jobs SET schedule = COALESCE(?2, schedule),
                         window_days = COALESCE(?3, window_days),
                         enabled = COALESCE(?4, enabled)
         WHERE name = ?1 RETURNING {JOB_COLUMNS}"
    ))
    .bind(name)
    .bind(patch.schedule.as_deref())
    .bind(patch.window_days.map(i64::from))
    .bind(patch.enabled)
    .fetch_optional(pool)
    .await
    .map_err(db("update job"))?
    .ok_or_else(|| StoreError::NotFound(format!("job {name}")))?;
    job(&row)
}

const RUN_COLUMNS: &str = "id, job, trigger, started_at, due_at, finished_at, status, planned, \
                           fetched, changed, unchanged, skipped_fresh, failed, errors, missed, window_days";

fn run(row: &SqliteRow) -> Result<SyncRun, StoreError> {
    let counter = |index: usize, what: &str| count(column(row, index)?, what);
    let errors: String = column(row, 13)?;
    Ok(SyncRun {
        id: RunId(column(row, 0)?),
        job: column(row, 1)?,
        trigger: column::<String>(row, 2)?
            .parse::<Trigger>()
            .map_err(corrupt)?,
        started_at: parse_instant(column(row, 3)?)?,
        due_at: parse_instant(column(row, 4)?)?,
        finished_at: column::<Option<i64>>(row, 5)?
            .map(parse_instant)
            .transpose()?,
        status: column::<String>(row, 6)?
            .parse::<RunStatus>()
            .map_err(corrupt)?,
        counts: RunCounts {
            planned: counter(7, "planned")?,
            fetched: counter(8, "fetched")?,
            changed: counter(9, "changed")?,
            unchanged: counter(10, "unchanged")?,
            skipped_fresh: counter(11, "skipped_fresh")?,
            failed: counter(12, "failed")?,
            missed: counter(14, "missed")?,
        },
        window_days: counter(15, "window_days")?,
        errors: serde_json::from_str(&errors).map_err(|_| corrupt("run errors"))?,
    })
}

pub(crate) async fn create_run(pool: &SqlitePool, new: &NewRun) -> Result<SyncRun, StoreError> {
    let row = sqlx::query(&format!(
        "INSERT INTO runs (job, trigger, started_at, due_at, status, window_days)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         RETURNING {RUN_COLUMNS}"
    ))
    .bind(&new.job)
    .bind(new.trigger.as_str())
    .bind(instant(new.started_at))
    .bind(instant(new.due_at))
    .bind(RunStatus::Running.as_str())
    .bind(i64::from(new.window_days))
    .fetch_one(pool)
    .await
    .map_err(db("create run"))?;
    run(&row)
}

pub(crate) async fn save_run(pool: &SqlitePool, record: &SyncRun) -> Result<(), StoreError> {
    let errors = serde_json::to_string(&record.errors).map_err(|_| corrupt("run errors"))?;
    let c = &record.counts;
    let saved = sqlx::query(
        "UPDATE runs SET status = ?2, finished_at = ?3, planned = ?4, fetched = ?5, changed = ?6,
                         unchanged = ?7, skipped_fresh = ?8, failed = ?9, errors = ?10,
                         missed = ?11
         WHERE id = ?1",
    )
    .bind(record.id.0)
    .bind(record.status.as_str())
    .bind(record.finished_at.map(instant))
    .bind(i64::from(c.planned))
    .bind(i64::from(c.fetched))
    .bind(i64::from(c.changed))
    .bind(i64::from(c.unchanged))
    .bind(i64::from(c.skipped_fresh))
    .bind(i64::from(c.failed))
    .bind(errors)
    .bind(i64::from(c.missed))
    .execute(pool)
    .await
    .map_err(db("save run"))?;
    if saved.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("run {}", record.id)));
    }
    Ok(())
}

pub(crate) async fn get_run(pool: &SqlitePool, id: RunId) -> Result<SyncRun, StoreError> {
    let row = sqlx::query(&format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1"))
        .bind(id.0)
        .fetch_optional(pool)
        .await
        .map_err(db("read run"))?
        .ok_or_else(|| StoreError::NotFound(format!("run {id}")))?;
    run(&row)
}

pub(crate) async fn list_runs(
    pool: &SqlitePool,
    job: Option<&str>,
    page: PageRequest,
) -> Result<Page<SyncRun>, StoreError> {
    let (limit, offset) = limit_offset(page);
    let mut tx = pool.begin().await.map_err(db("list runs"))?;
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM runs WHERE ?1 IS NULL OR job = ?1")
        .bind(job)
        .fetch_one(&mut *tx)
        .await
        .map_err(db("list runs"))?;
    let rows = sqlx::query(&format!(
        "SELECT {RUN_COLUMNS} FROM runs WHERE ?1 IS NULL OR job = ?1
         ORDER BY id DESC LIMIT ?2 OFFSET ?3"
    ))
    .bind(job)
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *tx)
    .await
    .map_err(db("list runs"))?;
    tx.commit().await.map_err(db("list runs"))?;
    Ok(Page {
        items: rows.iter().map(run).collect::<Result<_, _>>()?,
        total: u64::try_from(total).unwrap_or(0),
    })
}

pub(crate) async fn last_run(pool: &SqlitePool, job: &str) -> Result<Option<SyncRun>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {RUN_COLUMNS} FROM runs WHERE job = ?1 ORDER BY due_at DESC, id DESC LIMIT 1"
    ))
    .bind(job)
    .fetch_optional(pool)
    .await
    .map_err(db("read last run"))?;
    row.as_ref().map(run).transpose()
}

pub(crate) async fn interrupt_running_runs(
    pool: &SqlitePool,
    at: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "UPDATE runs SET status = ?1, finished_at = ?2,
                missed = MAX(planned - fetched - failed - skipped_fresh, missed)
          WHERE status = ?3",
    )
    .bind(RunStatus::Interrupted.as_str())
    .bind(instant(at))
    .bind(RunStatus::Running.as_str())
    .execute(pool)
    .await
    .map_err(db("interrupt runs"))?;
    Ok(done.rows_affected())
}

fn pause(row: &SqliteRow) -> Result<PauseState, StoreError> {
    Ok(PauseState {
        paused: column::<i64>(row, 0)? != 0,
        paused_at: column::<Option<i64>>(row, 1)?
            .map(parse_instant)
            .transpose()?,
    })
}

pub(crate) async fn pause_state(pool: &SqlitePool) -> Result<PauseState, StoreError> {
    let row = sqlx::query("SELECT paused, paused_at FROM pause WHERE id = 1")
        .fetch_optional(pool)
        .await
        .map_err(db("read pause flag"))?
        .ok_or_else(|| corrupt("the pause flag row is missing"))?;
    pause(&row)
}

/// One statement: `paused_at` is kept when already paused, so racing pauses agree.
pub(crate) async fn set_paused(
    pool: &SqlitePool,
    paused: bool,
    at: DateTime<Utc>,
) -> Result<PauseState, StoreError> {
    let row = sqlx::query(
        "UPDATE pause
         SET paused_at = CASE WHEN ?1 THEN (CASE WHEN paused = 1 THEN paused_at ELSE ?2 END)
                              ELSE NULL END,
             paused = ?1
         WHERE id = 1 RETURNING paused, paused_at",
    )
    .bind(paused)
    .bind(instant(at))
    .fetch_optional(pool)
    .await
    .map_err(db("set pause flag"))?
    .ok_or_else(|| corrupt("the pause flag row is missing"))?;
    pause(&row)
}
