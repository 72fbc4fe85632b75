//! Starting runs: what a request would do, recording and queueing it, waiting for its end.

use std::time::Duration;

use super::{
    pacing_interval, plan, window_dates, worker, Engine, EngineError, EngineEvent, PlanPreview,
    RunRequest, MAX_WINDOW_DAYS,
};
use crate::domain::{NewRun, RunId, SyncRun, Trigger, WorkClass};
use crate::store::StoreError;

impl Engine {
    /// What `request` would do now, without recording or fetching anything.
    pub async fn preview(&self, request: &RunRequest) -> Result<PlanPreview, EngineError> {
        let (tasks, skipped_fresh, planned) = self.plan_request(request).await?;
        let calls = tasks.len() as u32;
        let per_call = std::num::NonZeroU32::new(self.inner.budget.rate_per_minute())
            .map_or(Duration::ZERO, pacing_interval);
        Ok(PlanPreview {
            planned,
            skipped_fresh,
            calls,
            estimated: per_call * calls.saturating_sub(1),
        })
    }

    /// Records a run for `request`, owned by this process, queues its tasks and returns the
    /// run as recorded.
    ///
    /// Refused while paused. A tick (scheduled or catch-up) of a job whose previous run is
    /// still going supersedes that run: it ends at once, what it had not reached counted as
    /// `missed`. A manual request is refused while a run of the same job is in progress. A
    /// re-plan supersedes nothing: it only takes over what its interrupted run lacked.
    pub async fn start_run(&self, request: RunRequest) -> Result<SyncRun, EngineError> {
        let _serialised = self.inner.start_lock.lock().await;
        if self.inner.pause.borrow().paused {
            return Err(EngineError::Paused);
        }
        // Registered before it owns a run, so no rescuer ever sees the run without its owner.
        self.ensure_registered().await;
        let superseding = request.replans.is_none() && self.is_running(&request.job).await?;
        if superseding && request.trigger == Trigger::Manual {
            return Err(EngineError::AlreadyRunning(request.job));
        }
        if superseding {
            let ended = self
                .inner
                .queue
                .supersede(&request.job, self.inner.clock.now())
                .await?;
            for run in ended {
                tracing::info!(
                    run = %run.id, job = %run.job, missed = run.counts.missed,
                    "a new tick supersedes the run still going"
                );
                self.announce(run).await;
            }
        }
        let now = self.inner.clock.now();
        let due_at = request.due_at.unwrap_or(now);
        let (tasks, skipped_fresh, planned) = self
            .plan_request(&RunRequest {
                due_at: Some(due_at),
                ..request.clone()
            })
            .await?;
        let mut run = self
            .inner
            .store
            .create_run(&NewRun {
                job: request.job.clone(),
                trigger: request.trigger,
                started_at: now,
                due_at,
                window_days: request.window_days,
                products: request.products.clone(),
                manual: request.manual,
                owner: Some(self.inner.process.as_owner()),
                replans: request.replans,
            })
            .await?;
        run.counts.planned = planned;
        run.counts.skipped_fresh = skipped_fresh;
        if tasks.is_empty() {
            run.status = run.counts.final_status();
            run.finished_at = Some(now);
        }
        self.inner.store.save_run(&run).await?;
        if !tasks.is_empty() {
            self.inner.queue.enqueue(&run, &tasks).await?;
        }
        // Counted once the run is in the log, so the two always agree.
        if request.trigger != Trigger::Manual && request.replans.is_none() {
            let outcome = if superseding { "superseded" } else { "ran" };
            record_tick(&request.job, outcome);
        }
        tracing::info!(
            run = %run.id, job = %run.job, trigger = %run.trigger,
            planned, skipped_fresh, queued = tasks.len(), "run started"
        );
        worker::record_queue_depth(self).await;
        if run.finished_at.is_some() {
            self.announce(run.clone()).await;
        }
        self.inner.wake.notify_one();
        Ok(run)
    }

    /// Waits until run `id` finishes and returns it as stored.
    ///
    /// Finishing is seen from this engine's events, and from the store (every second) for
    /// runs another process may finish.
    pub async fn wait_for_run(&self, id: RunId) -> Result<SyncRun, StoreError> {
        let mut events = self.subscribe();
        loop {
            let run = self.inner.store.get_run(id).await?;
            if run.status != crate::domain::RunStatus::Running {
                return Ok(run);
            }
            let check_again = tokio::time::sleep(Duration::from_secs(1));
            tokio::pin!(check_again);
            loop {
                tokio::select! {
                    () = &mut check_again => break,
                    event = events.recv() => match event {
                        Ok(EngineEvent::RunFinished(run)) if run.id == id => return Ok(run),
                        Ok(_) => {}
                        Err(_) => break,
                    },
                }
            }
        }
    }

    async fn plan_request(
        &self,
        request: &RunRequest,
    ) -> Result<(Vec<crate::domain::SyncTask>, u32, u32), EngineError> {
        if request.window_days == 0 || request.window_days > MAX_WINDOW_DAYS {
            return Err(EngineError::InvalidWindow(request.window_days));
        }
        let today = self.today();
        let dates = window_dates(today, request.window_days);
        // What other replicas learnt (and the reads counted) count in this plan's regime.
        if let Err(error) = self.share_learning().await {
            tracing::warn!(%error, "could not share the learnt state with the store");
        }
        let enabled = self.update_policy().await?;
        let products = match &request.products {
            // A re-plan drops products deleted or disabled since its run started.
            Some(only) if request.replans.is_some() => only
                .iter()
                .copied()
                .filter(|id| enabled.contains(id))
                .collect(),
            Some(only) => only.clone(),
            None => enabled,
        };
        let until = dates
            .last()
            .map_or(today, |last| last.succ_opt().unwrap_or(*last));
        let states = self.inner.store.day_states(today, until).await?;
        let due_at = request.due_at.unwrap_or_else(|| self.inner.clock.now());
        let (mut tasks, mut skipped) = plan(&products, &dates, &states, due_at);
        let class = WorkClass::of(request.manual);
        for task in &mut tasks {
            task.priority.class = class;
        }
        // Products the partner does not know are probed once a day (SPEC §4): the rest of
        // their window counts as fresh, it cannot be had.
        let now = self.inner.clock.now();
        let before = tasks.len();
        tasks.retain(|task| {
            !self
                .inner
                .refresh
                .skips(task.product, task.date, today, now)
        });
        skipped += (before - tasks.len()) as u32;
        let planned = (products.len() * dates.len()) as u32;
        Ok((tasks, skipped, planned))
    }
}

/// Counts a tick of `job` in `/metrics`: `ran`, `superseded` (it ran and ended the job's
/// previous run) or `skipped` (paused).
pub(crate) fn record_tick(job: &str, outcome: &'static str) {
    metrics::counter!("tickete_job_ticks_total", "job" => job.to_owned(), "outcome" => outcome)
        .increment(1);
}
