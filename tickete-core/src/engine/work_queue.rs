//! Where planned tasks wait and where run counts live: the [`WorkQueue`] the engine talks to,
//! and the types its implementations share.
//!
//! One process uses [`LocalQueue`](super::LocalQueue) (memory; the next start re-plans what a
//! shutdown left). Replicas share a durable queue in the database, claimed with leases, so a
//! replica that dies mid-task loses nothing.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::{ProductId, RunCounts, RunOwner, SyncRun, SyncTask};
use crate::store::{ApplyOutcome, StoreError};

/// Final outcome of one task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskOutcome {
    /// Fetched and applied.
    Fetched(ApplyOutcome),
    /// Gave up; the message says why.
    Failed(String),
    /// Not fetched: its product left the catalogue or was disabled after it was queued.
    Dropped,
}

impl TaskOutcome {
    /// What this outcome adds to the counters of every run waiting on the task.
    pub fn counts(&self) -> RunCounts {
        let (fetched, changed, unchanged, failed, missed) = match self {
            TaskOutcome::Fetched(ApplyOutcome::Changed) => (1, 1, 0, 0, 0),
            TaskOutcome::Fetched(ApplyOutcome::Unchanged) => (1, 0, 1, 0, 0),
            TaskOutcome::Failed(_) => (0, 0, 0, 1, 0),
            TaskOutcome::Dropped => (0, 0, 0, 0, 1),
        };
        RunCounts {
            fetched,
            changed,
            unchanged,
            failed,
            missed,
            ..RunCounts::default()
        }
    }

    /// The run-log line of a failure of (product, date); `None` for a success.
    pub fn error_line(&self, product: ProductId, date: NaiveDate) -> Option<String> {
        match self {
            TaskOutcome::Fetched(_) | TaskOutcome::Dropped => None,
            TaskOutcome::Failed(message) => Some(format!("product {product} on {date}: {message}")),
        }
    }
}

/// The error line a superseded run ends with (its queue adds it as it ends the run).
pub const SUPERSEDED: &str = "superseded by a newer tick of its job before it finished";

/// Queued work that is no longer wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropTasks {
    /// Dates before this one: midnight moved every window past them.
    Before(NaiveDate),
    /// Every date of a product that was deleted or disabled.
    Product(ProductId),
}

impl DropTasks {
    /// Whether the task of (product, date) is dropped.
    pub fn covers(self, product: ProductId, date: NaiveDate) -> bool {
        match self {
            DropTasks::Before(first_kept) => date < first_kept,
            DropTasks::Product(dropped) => product == dropped,
        }
    }
}

/// A task this worker may fetch now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedTask {
    /// What to fetch.
    pub task: SyncTask,
    /// Earlier attempts that ended in a transient failure.
    pub attempts: u32,
}

/// Whether the queue has work for a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// A task can be claimed now.
    Ready,
    /// Every pending task is backing off; the first is ready at this time.
    At(DateTime<Utc>),
    /// Nothing pending.
    Empty,
}

/// Queue sizes for status and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueDepth {
    /// Tasks waiting.
    pub pending: usize,
    /// Tasks claimed and being fetched.
    pub in_flight: usize,
}

/// Picks which of the ready tasks a worker claims (the refresh policy).
pub trait TaskChooser: Send + Sync {
    /// Index of the task to fetch next among `candidates` (in the queue's own order:
    /// nearest date, then oldest data), `None` to take none.
    fn choose(&self, candidates: &[SyncTask], now: DateTime<Utc>) -> Option<usize>;

    /// Whether [`TaskChooser::choose`] would pick the first ready candidate of the queue's
    /// order now, so a queue may take it without listing the others.
    fn takes_first(&self) -> bool {
        false
    }
}

/// The task queue and the live counts of running runs.
///
/// Tasks are keyed by (product, date): a task queued by several runs is fetched once and its
/// outcome counted for each of them.
#[async_trait]
pub trait WorkQueue: Send + Sync + 'static {
    /// Whether a run of `job` is in progress.
    async fn is_running(&self, job: &str) -> Result<bool, StoreError>;
    /// Queues `tasks` for `run` (already recorded, with `planned` and `skipped_fresh` set),
    /// merging with pending or in-flight tasks of the same (product, date).
    async fn enqueue(&self, run: &SyncRun, tasks: &[SyncTask]) -> Result<(), StoreError>;
    /// Whether a task could be claimed at `now`.
    async fn readiness(&self, now: DateTime<Utc>) -> Result<Readiness, StoreError>;
    /// Takes the highest-priority ready task, if any.
    async fn claim(&self, now: DateTime<Utc>) -> Result<Option<ClaimedTask>, StoreError>;
    /// Takes the ready task `chooser` picks (the engine's refresh policy); a queue that
    /// cannot offer its candidates takes its highest-priority one.
    async fn claim_chosen(
        &self,
        now: DateTime<Utc>,
        _chooser: &dyn TaskChooser,
    ) -> Result<Option<ClaimedTask>, StoreError> {
        self.claim(now).await
    }
    /// Returns a claimed task to the queue, ready again at `not_before` (now when `None`),
    /// with the transient error that sent it back, if any.
    async fn release(
        &self,
        claimed: ClaimedTask,
        not_before: Option<DateTime<Utc>>,
        error: Option<&str>,
    ) -> Result<(), StoreError>;
    /// Records the final outcome of a claimed task on every run waiting on it, persists
    /// those runs, and returns them (finished ones with their final status).
    async fn settle(
        &self,
        task: &SyncTask,
        outcome: &TaskOutcome,
        now: DateTime<Utc>,
    ) -> Result<Vec<SyncRun>, StoreError>;
    /// Ends the running runs of `job` at once (a newer tick of the job supersedes them): each
    /// counts what it had not settled as `missed`, gains the error line [`SUPERSEDED`], and
    /// ends `partial` when it missed anything;
    /// queued tasks no other run waits on leave the queue. Returns the ended runs.
    async fn supersede(&self, job: &str, now: DateTime<Utc>) -> Result<Vec<SyncRun>, StoreError>;
    /// Drops the queued (not in-flight) tasks `which` covers; every run waiting on one counts
    /// it as `missed` and finishes when nothing else is outstanding. Returns the runs touched.
    async fn drop_tasks(
        &self,
        which: DropTasks,
        now: DateTime<Utc>,
    ) -> Result<Vec<SyncRun>, StoreError>;
    /// Current sizes.
    async fn depth(&self) -> Result<QueueDepth, StoreError>;
    /// This worker stops: returns the runs that ended `interrupted` because of it, waiting
    /// for a re-plan (a local queue: every run it holds; a shared queue: only when no other
    /// replica is left to go on with them).
    async fn stop(&self, now: DateTime<Utc>) -> Result<Vec<SyncRun>, StoreError>;
    /// This process starts on the queue. A shared queue registers it as alive and, when no
    /// other process is, ends the runs a previous process left `running` as `interrupted`
    /// and clears their tasks (the scheduler re-plans them); returns those runs. A local
    /// queue starts empty (its front-end interrupts leftover runs of the store).
    async fn recover(&self, _now: DateTime<Utc>) -> Result<Vec<SyncRun>, StoreError> {
        Ok(Vec::new())
    }
    /// Takes over, as `owner`, the running runs whose owner was not seen since `alive_since`
    /// and that this queue can go on with (a shared queue: runs with tasks still queued), so
    /// they are not interrupted. Returns how many. A local queue holds only its own runs.
    async fn adopt_orphaned_runs(
        &self,
        _owner: &RunOwner,
        _alive_since: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        Ok(0)
    }
    /// Tells other processes this one is still alive (called every few seconds).
    async fn heartbeat(&self) -> Result<(), StoreError> {
        Ok(())
    }
    /// How often an idle worker looks for work queued by other processes (`None`: never;
    /// local enqueues wake it directly).
    fn poll_interval(&self) -> Option<Duration> {
        None
    }
}
