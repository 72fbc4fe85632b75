//! A run as the API serves it and as `sync.run.finished` carries it (SPEC §2, §6).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::SyncRun;

/// A run of the execution log.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RunBody {
    /// Run id.
    pub id: i64,
    /// Job name.
    pub job: String,
    /// `schedule`, `manual` or `catch-up`.
    pub trigger: String,
    /// Start time.
    pub started_at: DateTime<Utc>,
    /// When it was due.
    pub due_at: DateTime<Utc>,
    /// End time.
    pub finished_at: Option<DateTime<Utc>>,
    /// `running`, `succeeded`, `partial`, `failed` or `interrupted`.
    pub status: String,
    /// (product, date) pairs in the window.
    pub planned: u32,
    /// Successful fetches.
    pub fetched: u32,
    /// Fetches that changed stored content.
    pub changed: u32,
    /// Fetches with unchanged content.
    pub unchanged: u32,
    /// Pairs already fresh.
    pub skipped_fresh: u32,
    /// Pairs that failed.
    pub failed: u32,
    /// Pairs the budget could not reach before the run ended (superseded by the job's next
    /// tick, dates passed at midnight, product deleted or disabled, or interrupted).
    pub missed: u32,
    /// Error lines.
    pub errors: Vec<String>,
}

impl From<&SyncRun> for RunBody {
    fn from(run: &SyncRun) -> Self {
        Self {
            id: run.id.0,
            job: run.job.clone(),
            trigger: run.trigger.as_str().to_owned(),
            started_at: run.started_at,
            due_at: run.due_at,
            finished_at: run.finished_at,
            status: run.status.as_str().to_owned(),
            planned: run.counts.planned,
            fetched: run.counts.fetched,
            changed: run.counts.changed,
            unchanged: run.counts.unchanged,
            skipped_fresh: run.counts.skipped_fresh,
            failed: run.counts.failed,
            missed: run.counts.missed,
            errors: run.errors.clone(),
        }
    }
}
