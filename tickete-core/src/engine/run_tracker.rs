//! Live bookkeeping of running runs: counts, errors, completion.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};

use super::work_queue::TaskOutcome;
use crate::domain::{ProductId, RunId, RunStatus, SyncRun};

#[derive(Debug, Default)]
pub(crate) struct RunTracker {
    runs: HashMap<RunId, Tracked>,
}

#[derive(Debug)]
struct Tracked {
    run: SyncRun,
    outstanding: u32,
}

impl RunTracker {
    /// Starts tracking `run`, which waits on `outstanding` tasks.
    pub fn insert(&mut self, run: SyncRun, outstanding: u32) {
        self.runs.insert(run.id, Tracked { run, outstanding });
    }

    /// Whether a run of `job` is in progress.
    pub fn is_running(&self, job: &str) -> bool {
        self.runs.values().any(|tracked| tracked.run.job == job)
    }

    /// Counts `outcome` for `run_id`; returns the updated run, finished if it was the last task.
    pub fn record(
        &mut self,
        run_id: RunId,
        product: ProductId,
        date: NaiveDate,
        outcome: &TaskOutcome,
        now: DateTime<Utc>,
    ) -> Option<SyncRun> {
        let tracked = self.runs.get_mut(&run_id)?;
        tracked.run.counts.add(&outcome.counts());
        if let Some(line) = outcome.error_line(product, date) {
            if tracked.run.errors.len() < SyncRun::MAX_ERRORS {
                tracked.run.errors.push(line);
            }
        }
        tracked.outstanding = tracked.outstanding.saturating_sub(1);
        self.finish_if_done(run_id, now)
    }

    /// Ids of the tracked runs of `job`.
    pub fn runs_of(&self, job: &str) -> Vec<RunId> {
        self.runs
            .values()
            .filter(|tracked| tracked.run.job == job)
            .map(|tracked| tracked.run.id)
            .collect()
    }

    /// Counts `pairs` of `run_id` as missed; returns the updated run, finished if nothing is
    /// left outstanding.
    pub fn miss(&mut self, run_id: RunId, pairs: u32, now: DateTime<Utc>) -> Option<SyncRun> {
        let tracked = self.runs.get_mut(&run_id)?;
        let pairs = pairs.min(tracked.outstanding);
        tracked.run.counts.missed += pairs;
        tracked.outstanding -= pairs;
        self.finish_if_done(run_id, now)
    }

    /// The run, finished and no longer tracked when nothing is left outstanding.
    fn finish_if_done(&mut self, run_id: RunId, now: DateTime<Utc>) -> Option<SyncRun> {
        let tracked = self.runs.get(&run_id)?;
        if tracked.outstanding > 0 {
            return Some(tracked.run.clone());
        }
        let mut run = self.runs.remove(&run_id)?.run;
        run.status = run.counts.final_status();
        run.finished_at = Some(now);
        Some(run)
    }

    /// Ends `run_id` now, its outstanding pairs missed.
    pub fn end_missing_the_rest(&mut self, run_id: RunId, now: DateTime<Utc>) -> Option<SyncRun> {
        let outstanding = self.runs.get(&run_id)?.outstanding;
        let mut tracked = self.runs.remove(&run_id)?;
        tracked.run.counts.missed += outstanding;
        if tracked.run.errors.len() < SyncRun::MAX_ERRORS {
            tracked.run.errors.push(super::SUPERSEDED.to_owned());
        }
        tracked.run.status = tracked.run.counts.final_status();
        tracked.run.finished_at = Some(now);
        Some(tracked.run)
    }

    /// Forgets `run_id` (another process took it over).
    pub fn forget(&mut self, run_id: RunId) {
        self.runs.remove(&run_id);
    }

    /// Ends every tracked run with `status`; returns them for saving.
    pub fn end_all(&mut self, status: RunStatus, now: DateTime<Utc>) -> Vec<SyncRun> {
        self.runs
            .drain()
            .map(|(_, tracked)| {
                let mut run = tracked.run;
                run.counts.missed += tracked.outstanding;
                run.status = status;
                run.finished_at = Some(now);
                run.replan_pending = status == RunStatus::Interrupted;
                run
            })
            .collect()
    }
}
