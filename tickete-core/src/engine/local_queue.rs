//! The in-process [`WorkQueue`]: priority order in memory, run counts saved to the store as
//! they move.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::run_tracker::RunTracker;
use super::task_queue::{TaskEntry, TaskQueue};
use super::work_queue::{
    ClaimedTask, DropTasks, QueueDepth, Readiness, TaskChooser, TaskOutcome, WorkQueue,
};
use crate::domain::{RunId, RunStatus, SyncRun, SyncTask};
use crate::store::{RunLog, StoreError};

/// Saves of a run before giving up.
const SAVE_ATTEMPTS: u32 = 5;
/// Pause after a failed save, times the attempt number.
const SAVE_RETRY_PAUSE: Duration = Duration::from_millis(500);

/// The in-process queue: priority order in memory, run counts saved to the store as they move.
pub struct LocalQueue {
    store: Arc<dyn RunLog>,
    work: Mutex<Work>,
}

#[derive(Default)]
struct Work {
    queue: TaskQueue,
    runs: RunTracker,
}

impl LocalQueue {
    /// A queue whose runs are saved to `store`.
    pub fn new(store: Arc<dyn RunLog>) -> Self {
        Self {
            store,
            work: Mutex::default(),
        }
    }

    fn work(&self) -> std::sync::MutexGuard<'_, Work> {
        self.work.lock().expect("local queue lock")
    }

    /// Saves each run, retrying a failing store a few times: a final status lost here would
    /// leave the run `running` in the log although it is over. Returns the runs as stored. A
    /// run the store refuses as ended (a server took this process for gone and rescued it)
    /// is no longer this queue's: it is forgotten with the work only it waited on, and
    /// returned as the store has it, so whoever waits for it hears that it ended.
    async fn save_all(&self, runs: Vec<SyncRun>) -> Result<Vec<SyncRun>, StoreError> {
        let mut saved = Vec::with_capacity(runs.len());
        for run in runs {
            let mut attempt = 1;
            loop {
                let error = match self.store.save_run(&run).await {
                    Ok(()) => {
                        saved.push(run);
                        break;
                    }
                    Err(StoreError::Conflict(reason)) => {
                        tracing::warn!(run = %run.id, %reason, "run taken over by another process; leaving it");
                        {
                            let mut work = self.work();
                            work.queue.detach_run(run.id);
                            work.runs.forget(run.id);
                        }
                        saved.push(self.store.get_run(run.id).await?);
                        break;
                    }
                    Err(error) => error,
                };
                if attempt == SAVE_ATTEMPTS {
                    return Err(error);
                }
                tokio::time::sleep(SAVE_RETRY_PAUSE * attempt).await;
                attempt += 1;
            }
        }
        Ok(saved)
    }
}

#[async_trait]
impl WorkQueue for LocalQueue {
    async fn is_running(&self, job: &str) -> Result<bool, StoreError> {
        Ok(self.work().runs.is_running(job))
    }

    async fn enqueue(&self, run: &SyncRun, tasks: &[SyncTask]) -> Result<(), StoreError> {
        let mut work = self.work();
        for task in tasks {
            work.queue.push(task, run.id);
        }
        work.runs.insert(run.clone(), tasks.len() as u32);
        Ok(())
    }

    async fn readiness(&self, now: DateTime<Utc>) -> Result<Readiness, StoreError> {
        Ok(self.work().queue.readiness(now))
    }

    async fn claim(&self, now: DateTime<Utc>) -> Result<Option<ClaimedTask>, StoreError> {
        Ok(self
            .work()
            .queue
            .pop_ready(now)
            .map(|(task, entry)| ClaimedTask {
                task,
                attempts: entry.attempts,
            }))
    }

    async fn claim_chosen(
        &self,
        now: DateTime<Utc>,
        chooser: &dyn TaskChooser,
    ) -> Result<Option<ClaimedTask>, StoreError> {
        Ok(self
            .work()
            .queue
            .pop_chosen(now, chooser)
            .map(|(task, entry)| ClaimedTask {
                task,
                attempts: entry.attempts,
            }))
    }

    async fn release(
        &self,
        claimed: ClaimedTask,
        not_before: Option<DateTime<Utc>>,
        _error: Option<&str>,
    ) -> Result<(), StoreError> {
        let entry = TaskEntry {
            runs: Vec::new(),
            attempts: claimed.attempts,
            not_before,
        };
        self.work().queue.requeue(claimed.task, entry);
        Ok(())
    }

    async fn settle(
        &self,
        task: &SyncTask,
        outcome: &TaskOutcome,
        now: DateTime<Utc>,
    ) -> Result<Vec<SyncRun>, StoreError> {
        let updated: Vec<SyncRun> = {
            let mut work = self.work();
            let runs = work.queue.finish((task.product, task.date));
            runs.into_iter()
                .filter_map(|run| work.runs.record(run, task.product, task.date, outcome, now))
                .collect()
        };
        self.save_all(updated).await
    }

    async fn supersede(&self, job: &str, now: DateTime<Utc>) -> Result<Vec<SyncRun>, StoreError> {
        let ended: Vec<SyncRun> = {
            let mut work = self.work();
            let ids = work.runs.runs_of(job);
            ids.into_iter()
                .filter_map(|id| {
                    work.queue.detach_run(id);
                    work.runs.end_missing_the_rest(id, now)
                })
                .collect()
        };
        self.save_all(ended).await
    }

    async fn drop_tasks(
        &self,
        which: DropTasks,
        now: DateTime<Utc>,
    ) -> Result<Vec<SyncRun>, StoreError> {
        let touched: Vec<SyncRun> = {
            let mut work = self.work();
            let waiting = work
                .queue
                .drop_pending(|(product, date)| which.covers(product, date));
            let mut per_run: HashMap<RunId, u32> = HashMap::new();
            for run in waiting {
                *per_run.entry(run).or_default() += 1;
            }
            per_run
                .into_iter()
                .filter_map(|(run, pairs)| work.runs.miss(run, pairs, now))
                .collect()
        };
        self.save_all(touched).await
    }

    async fn depth(&self) -> Result<QueueDepth, StoreError> {
        let work = self.work();
        Ok(QueueDepth {
            pending: work.queue.pending_len(),
            in_flight: work.queue.in_flight_len(),
        })
    }

    async fn stop(&self, now: DateTime<Utc>) -> Result<Vec<SyncRun>, StoreError> {
        let interrupted = {
            let mut work = self.work();
            work.queue.clear_pending();
            work.runs.end_all(RunStatus::Interrupted, now)
        };
        self.save_all(interrupted).await
    }
}
