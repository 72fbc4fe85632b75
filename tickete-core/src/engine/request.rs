//! What a run covers, and what it would do before it is started.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::MANUAL_SYNC_JOB;
use crate::domain::{ProductId, SyncJob, Trigger};

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
