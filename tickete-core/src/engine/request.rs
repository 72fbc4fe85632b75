//! What a run covers, and what it would do before it is started.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::MANUAL_SYNC_JOB;
use crate::domain::{ProductId, RunId, SyncJob, SyncRun, Trigger};

/// What a run covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRequest {
    /// Job name recorded on the run.
    pub job: String,
    /// Days from today.
    pub window_days: u32,
    /// Only these products (all enabled products when `None`).
    pub products: Option<Vec<ProductId>>,
    /// What started it.
    pub trigger: Trigger,
    /// When it was due; `None` = now.
    pub due_at: Option<DateTime<Utc>>,
    /// Manual work, fetched before scheduled work (a trigger, a one-off sync, a re-plan of
    /// one).
    pub manual: bool,
    /// The interrupted run this re-plans (its re-plan is claimed when the run is recorded).
    pub replans: Option<RunId>,
}

impl RunRequest {
    /// A run of a stored job.
    pub fn for_job(job: &SyncJob, trigger: Trigger) -> Self {
        Self {
            job: job.name.clone(),
            window_days: job.window_days,
            products: None,
            trigger,
            due_at: None,
            manual: trigger == Trigger::Manual,
            replans: None,
        }
    }

    /// A one-off manual sync of the next `days` days.
    pub fn next_days(days: u32) -> Self {
        Self {
            job: MANUAL_SYNC_JOB.to_owned(),
            window_days: days,
            products: None,
            trigger: Trigger::Manual,
            due_at: None,
            manual: true,
            replans: None,
        }
    }

    /// The re-plan of interrupted run `run`: its own scope (job, products, window, class),
    /// due as it was, so what it fetched counts as fresh and only what it lacked is fetched.
    pub fn replan_of(run: &SyncRun) -> Self {
        Self {
            job: run.job.clone(),
            window_days: run.window_days.clamp(1, super::MAX_WINDOW_DAYS),
            products: run.products.clone(),
            trigger: Trigger::CatchUp,
            due_at: Some(run.due_at),
            manual: run.manual,
            replans: Some(run.id),
        }
    }
}

/// The plan a run would make, without calling the partner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanPreview {
    /// (product, date) pairs in the window.
    pub planned: u32,
    /// Pairs already fresh.
    pub skipped_fresh: u32,
    /// Partner calls the run would spend (without retries).
    pub calls: u32,
    /// How long those calls take at the pacing ceiling.
    pub estimated: Duration,
}
