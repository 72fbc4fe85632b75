//! A run as the API serves it and as `sync.run.finished` carries it (SPEC §2, §6).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{RunOwner, SyncRun};

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
    /// `running`, `succeeded`, `partial`, `failed`, `interrupted` or `skipped` (ticks not
    /// run while paused; `skippedTicks` says how many).
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
    /// The process that runs it; `null` for runs recorded before owners were kept.
    pub owner: Option<OwnerBody>,
    /// What it covers.
    pub scope: ScopeBody,
    /// The interrupted run this one re-plans, if it is a re-plan.
    pub replans: Option<i64>,
    /// For a `skipped` row: the consecutive ticks it stands for (0 otherwise).
    pub skipped_ticks: u32,
}

/// The process that owns a run.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OwnerBody {
    /// `server` or `cli`.
    pub kind: String,
    /// Host name.
    pub host: String,
    /// Process id.
    pub pid: u32,
}

/// What a run covers: its products and window.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ScopeBody {
    /// Product ids, or `"all"` for every enabled product.
    pub products: ScopeProducts,
    /// Days from today.
    pub window_days: u32,
}

/// `"all"` or a list of product ids.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum ScopeProducts {
    /// These products only.
    Only(Vec<u32>),
    /// Every enabled product.
    All(AllProducts),
}

/// The spelling `"all"`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AllProducts {
    /// Every enabled product.
    #[serde(rename = "all")]
    All,
}

impl RunBody {
    /// The owner in one word, `server@host:pid`, or `-` when none was recorded.
    pub fn owner_text(&self) -> String {
        self.owner.as_ref().map_or_else(
            || "-".to_owned(),
            |owner| format!("{}@{}:{}", owner.kind, owner.host, owner.pid),
        )
    }

    /// The scope in one word: `all×30d`, or the product ids, `2,15×7d`.
    pub fn scope_text(&self) -> String {
        let products = match &self.scope.products {
            ScopeProducts::All(_) => "all".to_owned(),
            ScopeProducts::Only(ids) => {
                ids.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
            }
        };
        format!("{products}×{}d", self.scope.window_days)
    }
}

impl From<&RunOwner> for OwnerBody {
    fn from(owner: &RunOwner) -> Self {
        Self {
            kind: owner.kind.as_str().to_owned(),
            host: owner.host.clone(),
            pid: owner.pid,
        }
    }
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
            owner: run.owner.as_ref().map(OwnerBody::from),
            scope: ScopeBody {
                products: match &run.products {
                    Some(ids) => ScopeProducts::Only(ids.iter().map(|id| id.get()).collect()),
                    None => ScopeProducts::All(AllProducts::All),
                },
                window_days: run.window_days,
            },
            replans: run.replans.map(|id| id.0),
            skipped_ticks: run.skipped_ticks,
        }
    }
}
