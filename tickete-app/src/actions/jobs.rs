//! Jobs: the list with next runs, edits, and starting runs.

use tickete_core::engine::schedule::{next_tick, parse_schedule};
use tickete_core::engine::{RunRequest, MAX_WINDOW_DAYS};
use tickete_core::{JobPatch, PageRequest, SyncJob, SyncRun, Trigger};

use super::Actions;
use crate::error::ActionError;
use crate::views::{JobBody, PageEnvelope};

/// A change to a job (`PUT /admin/cron/{name}`, `tickete jobs set-schedule|enable|disable`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobUpdate {
    /// New cron expression, checked before it is stored.
    pub schedule: Option<String>,
    /// New window, 1..=62 days.
    pub window_days: Option<u32>,
    /// Enable or disable.
    pub enabled: Option<bool>,
}

impl Actions {
    /// A job with its latest run and next tick.
    pub async fn job_view(&self, job: &SyncJob) -> Result<JobBody, ActionError> {
        let last = self.engine.run_log().last_run(&job.name).await?;
        let next = parse_schedule(&job.schedule).ok().and_then(|cron| {
            next_tick(
                &cron,
                self.engine.config().time_zone,
                self.engine.clock().now(),
            )
        });
        Ok(JobBody::new(job, last.as_ref(), next))
    }

    /// Jobs ordered by name, one page.
    pub async fn list_jobs(&self, page: PageRequest) -> Result<PageEnvelope<JobBody>, ActionError> {
        let jobs = self.engine.run_log().list_jobs().await?;
        let offset = usize::try_from(page.offset()).unwrap_or(usize::MAX);
        let mut data = Vec::new();
        for job in jobs.iter().skip(offset).take(page.limit as usize) {
            data.push(self.job_view(job).await?);
        }
        Ok(PageEnvelope::new(data, jobs.len() as u64, page))
    }

    /// Changes a job; takes effect at the scheduler's next look, without a restart.
    pub async fn update_job(&self, name: &str, update: JobUpdate) -> Result<JobBody, ActionError> {
        if let Some(schedule) = &update.schedule {
            parse_schedule(schedule)?;
        }
        if let Some(days) = update.window_days {
            if !(1..=MAX_WINDOW_DAYS).contains(&days) {
                return Err(ActionError::Invalid(format!(
                    "windowDays {days} is out of range: expected an integer from 1 to {MAX_WINDOW_DAYS}"
                )));
            }
        }
        let patch = JobPatch {
            schedule: update.schedule,
            window_days: update.window_days,
            enabled: update.enabled,
        };
        let job = self.engine.run_log().update_job(name, &patch).await?;
        self.job_view(&job).await
    }

    /// Enables or disables a job.
    pub async fn set_job_enabled(&self, name: &str, enabled: bool) -> Result<JobBody, ActionError> {
        self.update_job(
            name,
            JobUpdate {
                enabled: Some(enabled),
                ..JobUpdate::default()
            },
        )
        .await
    }

    /// Starts a run of a stored job now (refused while paused).
    pub async fn trigger_job(&self, name: &str) -> Result<SyncRun, ActionError> {
        let job = self.engine.run_log().get_job(name).await?;
        Ok(self
            .engine
            .start_run(RunRequest::for_job(&job, Trigger::Manual))
            .await?)
    }

    /// Starts a one-off sync of the next `days` days (refused while paused).
    pub async fn sync_days(&self, days: u32) -> Result<SyncRun, ActionError> {
        Ok(self.engine.start_run(RunRequest::next_days(days)).await?)
    }
}
