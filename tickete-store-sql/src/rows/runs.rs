//! Rows of `jobs`, `runs` and `pause`.

use chrono::{DateTime, Utc};
use tickete_core::{
    EngineProcess, PauseState, ProcessKind, ProductId, RunCounts, RunId, RunOwner, RunStatus,
    StoreError, SyncJob, SyncRun, Trigger,
};

use crate::stored::{load_optional, Stored};
use crate::{corrupt, count};

/// The columns of [`JobRow`].
pub const JOB_COLUMNS: &str = "name, schedule, window_days, enabled";

/// The columns of [`RunRow`].
pub const RUN_COLUMNS: &str = "id, job, trigger, started_at, due_at, finished_at, status, \
     planned, fetched, changed, unchanged, skipped_fresh, failed, errors, missed, window_days, \
     products, manual, owner_process, owner_kind, owner_host, owner_pid, replans, \
     replan_pending, skipped_ticks";

/// The columns of [`ProcessRow`].
pub const PROCESS_COLUMNS: &str = "id, kind, host, pid, started_at, last_seen_at";

/// A run's products as stored: ids joined by commas; `None` (every enabled product) as NULL.
pub fn products_text(products: Option<&[ProductId]>) -> Option<String> {
    products.map(|ids| {
        ids.iter()
            .map(|id| id.get().to_string())
            .collect::<Vec<_>>()
            .join(",")
    })
}

fn parse_products(text: &str) -> Result<Vec<ProductId>, StoreError> {
    text.split(',')
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse::<ProductId>()
                .map_err(|_| corrupt("run products"))
        })
        .collect()
}

/// A row of `jobs`.
#[derive(sqlx::FromRow)]
pub struct JobRow {
    name: String,
    schedule: String,
    window_days: i64,
    enabled: bool,
}

impl JobRow {
    /// The job.
    pub fn into_job(self) -> Result<SyncJob, StoreError> {
        Ok(SyncJob {
            name: self.name,
            schedule: self.schedule,
            window_days: count(self.window_days, "job window")?,
            enabled: self.enabled,
        })
    }
}

/// A row of `runs`, with instants stored as `I` and the error list as `L`.
#[derive(sqlx::FromRow)]
pub struct RunRow<I, L> {
    id: i64,
    job: String,
    trigger: String,
    started_at: I,
    due_at: I,
    finished_at: Option<I>,
    status: String,
    planned: i64,
    fetched: i64,
    changed: i64,
    unchanged: i64,
    skipped_fresh: i64,
    failed: i64,
    missed: i64,
    window_days: i64,
    errors: L,
    products: Option<String>,
    manual: bool,
    owner_process: Option<String>,
    owner_kind: Option<String>,
    owner_host: Option<String>,
    owner_pid: Option<i64>,
    replans: Option<i64>,
    replan_pending: bool,
    skipped_ticks: i64,
}

impl<I: Stored<DateTime<Utc>>, L: Stored<Vec<String>>> RunRow<I, L> {
    /// The run.
    pub fn into_run(self) -> Result<SyncRun, StoreError> {
        Ok(SyncRun {
            id: RunId(self.id),
            job: self.job,
            trigger: self.trigger.parse::<Trigger>().map_err(corrupt)?,
            started_at: self.started_at.load()?,
            due_at: self.due_at.load()?,
            finished_at: load_optional(self.finished_at)?,
            status: self.status.parse::<RunStatus>().map_err(corrupt)?,
            counts: RunCounts {
                planned: count(self.planned, "planned")?,
                fetched: count(self.fetched, "fetched")?,
                changed: count(self.changed, "changed")?,
                unchanged: count(self.unchanged, "unchanged")?,
                skipped_fresh: count(self.skipped_fresh, "skipped_fresh")?,
                failed: count(self.failed, "failed")?,
                missed: count(self.missed, "missed")?,
            },
            window_days: count(self.window_days, "window_days")?,
            errors: self.errors.load()?,
            products: self.products.as_deref().map(parse_products).transpose()?,
            manual: self.manual,
            owner: match (self.owner_process, self.owner_kind, self.owner_host) {
                (Some(process), Some(kind), Some(host)) => Some(RunOwner {
                    process,
                    kind: kind.parse::<ProcessKind>().map_err(corrupt)?,
                    host,
                    pid: count(self.owner_pid.unwrap_or(0), "owner pid")?,
                }),
                _ => None,
            },
            replans: self.replans.map(RunId),
            replan_pending: self.replan_pending,
            skipped_ticks: count(self.skipped_ticks, "skipped_ticks")?,
        })
    }
}

/// A row of `processes`, with instants stored as `I`.
#[derive(sqlx::FromRow)]
pub struct ProcessRow<I> {
    id: String,
    kind: String,
    host: String,
    pid: i64,
    started_at: I,
    last_seen_at: I,
}

impl<I: Stored<DateTime<Utc>>> ProcessRow<I> {
    /// The process.
    pub fn into_process(self) -> Result<EngineProcess, StoreError> {
        Ok(EngineProcess {
            id: self.id,
            kind: self.kind.parse::<ProcessKind>().map_err(corrupt)?,
            host: self.host,
            pid: count(self.pid, "process pid")?,
            started_at: self.started_at.load()?,
            last_seen_at: self.last_seen_at.load()?,
        })
    }
}

/// The row of `pause`, with its instant stored as `I`.
#[derive(sqlx::FromRow)]
pub struct PauseRow<I> {
    paused: bool,
    paused_at: Option<I>,
}

impl<I: Stored<DateTime<Utc>>> PauseRow<I> {
    /// The pause flag.
    pub fn into_state(self) -> Result<PauseState, StoreError> {
        Ok(PauseState {
            paused: self.paused,
            paused_at: load_optional(self.paused_at)?,
        })
    }
}
