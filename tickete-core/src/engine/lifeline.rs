//! Who owns the work: this process's heartbeat in the store, the rescue of runs whose owner
//! is gone, and their re-plan.
//!
//! Every engine process (server, CLI, replica) registers in the store and beats every
//! [`HEARTBEAT`]; a run records the process that started it. A server looks for runs whose
//! owner has not beaten within [`OWNER_LEASE`]: a shared queue adopts those it holds tasks
//! for, the rest end `interrupted` (one statement, so of two rescuers exactly one ends each)
//! and wait for a re-plan. Creating the re-plan claims it, so each is re-planned once, with
//! the run's own scope and due time: only what it still lacked is fetched. A process that
//! stops cleanly interrupts its own runs at once (the next live server re-plans them) and
//! leaves the store. Another process starting never touches a live owner's runs.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{Engine, EngineError, RunRequest, MANUAL_SYNC_JOB};
use crate::domain::SyncRun;
use crate::store::StoreError;

/// How often a process tells the store it is alive.
pub const HEARTBEAT: Duration = Duration::from_secs(5);

/// An owner not heard from for this long is gone (three missed beats): its runs are rescued.
pub const OWNER_LEASE: Duration = Duration::from_secs(15);

impl Engine {
    /// Registers this process in the store once (at start, or before its first run).
    pub(crate) async fn ensure_registered(&self) {
        self.inner
            .registered
            .get_or_init(|| self.register_process())
            .await;
    }

    /// Registers this process in the store (and again if it was forgotten as gone).
    async fn register_process(&self) {
        let mut process = self.inner.process.clone();
        process.last_seen_at = self.inner.clock.now();
        if let Err(error) = self.inner.store.register_process(&process).await {
            tracing::warn!(%error, "could not register this process in the store");
        }
    }

    /// Beats every [`HEARTBEAT`] until `stop`, on its own task so a slow partner call never
    /// makes a live owner look gone.
    pub(crate) async fn keep_alive(&self, stop: CancellationToken) {
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(HEARTBEAT) => {}
            }
            let now = self.inner.clock.now();
            match self
                .inner
                .store
                .beat_process(&self.inner.process.id, now)
                .await
            {
                Ok(true) => self.count_servers(now).await,
                Ok(false) => {
                    tracing::warn!("this process was taken for gone; registering again");
                    self.register_process().await;
                }
                Err(error) => tracing::warn!(%error, "could not report this process alive"),
            }
        }
    }

    /// Counts the live servers on the store, which share the spare budget between them.
    async fn count_servers(&self, now: chrono::DateTime<chrono::Utc>) {
        let since = now - chrono::Duration::from_std(OWNER_LEASE).expect("lease fits");
        let page = crate::store::PageRequest {
            page: 1,
            limit: crate::store::PageRequest::MAX_LIMIT,
        };
        match self.inner.store.list_processes(since, page).await {
            Ok(live) => {
                let servers = live
                    .items
                    .iter()
                    .filter(|process| process.kind == crate::domain::ProcessKind::Server)
                    .count();
                self.inner
                    .spare
                    .set_servers(u32::try_from(servers).unwrap_or(u32::MAX));
            }
            Err(error) => tracing::debug!(%error, "could not count the live servers"),
        }
    }

    /// A clean stop: this process leaves the store's list of live processes.
    pub(crate) async fn leave(&self) {
        if let Err(error) = self
            .inner
            .store
            .remove_process(&self.inner.process.id)
            .await
        {
            tracing::warn!(%error, "could not remove this process from the store");
        }
    }

    /// Rescues the runs whose owner is gone (no heartbeat within [`OWNER_LEASE`]): a shared
    /// queue adopts those whose tasks it holds; the rest end `interrupted`, waiting for a
    /// re-plan. Returns how many ended.
    pub async fn rescue_orphaned_runs(&self) -> Result<usize, StoreError> {
        let now = self.inner.clock.now();
        let alive_since = now - chrono::Duration::from_std(OWNER_LEASE).expect("small");
        let adopted = self
            .inner
            .queue
            .adopt_orphaned_runs(&self.inner.process.as_owner(), alive_since)
            .await?;
        if adopted > 0 {
            tracing::info!(runs = adopted, "adopted the runs of a replica that is gone");
        }
        let ended = self
            .inner
            .store
            .interrupt_orphaned_runs(alive_since, now)
            .await?;
        for id in &ended {
            let run = self.inner.store.get_run(*id).await?;
            tracing::info!(run = %run.id, job = %run.job, "run of a process that is gone interrupted");
            self.announce(run).await;
        }
        Ok(ended.len())
    }

    /// Re-plans each interrupted run waiting for it, with its own scope, unless it is no
    /// longer wanted: its job was deleted or disabled, a newer run of the job was started
    /// since, or none of its products is still enabled. Left waiting while paused. Returns
    /// how many runs were started.
    pub async fn replan_interrupted(&self) -> Result<usize, StoreError> {
        let mut started = 0;
        for run in self.inner.store.runs_to_replan().await? {
            if let Some(reason) = self.replan_unwanted(&run).await? {
                let mut dismissed = run;
                dismissed.replan_pending = false;
                if dismissed.errors.len() < SyncRun::MAX_ERRORS {
                    dismissed.errors.push(format!("not re-planned: {reason}"));
                }
                self.inner.store.save_run(&dismissed).await?;
                continue;
            }
            match self.start_run(RunRequest::replan_of(&run)).await {
                Ok(replan) => {
                    tracing::info!(run = %run.id, replan = %replan.id, job = %run.job, "interrupted run re-planned");
                    started += 1;
                }
                // Paused: it waits for the resume. Conflict: another process re-planned it.
                Err(EngineError::Paused) => break,
                Err(EngineError::Store(StoreError::Conflict(_))) => {}
                Err(error) => {
                    tracing::warn!(run = %run.id, %error, "could not re-plan an interrupted run");
                }
            }
        }
        Ok(started)
    }

    /// Why the re-plan of `run` is not wanted any more, if it is not.
    async fn replan_unwanted(&self, run: &SyncRun) -> Result<Option<String>, StoreError> {
        if run.job != MANUAL_SYNC_JOB {
            match self.inner.store.get_job(&run.job).await {
                Ok(job) if !job.enabled && !run.manual => {
                    return Ok(Some(format!("job {} is disabled", run.job)));
                }
                Ok(_) => {}
                Err(StoreError::NotFound(_)) => {
                    return Ok(Some(format!("job {} no longer exists", run.job)));
                }
                Err(error) => return Err(error),
            }
            if !run.manual {
                let latest = self.inner.store.last_run(&run.job).await?;
                if latest.is_some_and(|latest| latest.due_at > run.due_at) {
                    return Ok(Some("a newer run of its job covers it".into()));
                }
            }
        }
        if let Some(products) = &run.products {
            let enabled = self.inner.store.enabled_products().await?;
            if !products.iter().any(|id| enabled.contains(id)) {
                return Ok(Some("none of its products is enabled".into()));
            }
        }
        Ok(None)
    }
}
