//! The sync engine: plans runs into a merged, prioritised queue and spends the partner budget
//! on it, one paced call at a time.
//!
//! [`Engine`] is a cheap handle (clone it freely). Start the worker with [`Engine::run`] and
//! the cron loop with [`schedule::run_scheduler`]; both stop cooperatively on a cancellation
//! token, finishing the in-flight call and its write.

mod budget;
mod config;
pub mod cron;
mod freshness;
mod learning;
mod lifeline;
mod live;
mod local_queue;
mod partner_status;
mod planner;
pub mod policy;
mod refresh;
mod request;
mod run_tracker;
pub mod schedule;
mod spare;
mod targets;
mod task_queue;
pub mod upkeep;
mod work_queue;
mod worker;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use tokio::sync::{broadcast, watch, Notify};

pub use budget::{pacing_interval, Pacer, PartnerBudget, PACING_MARGIN};
pub use config::{EngineConfig, RetryPolicy, DEFAULT_MAX_HOLD};
pub use freshness::{job_freshness, record_freshness, JobFreshness};
pub use lifeline::{HEARTBEAT, OWNER_LEASE};
pub use live::{LiveDay, LiveOutcome, LiveSettings};
pub use local_queue::LocalQueue;
pub use planner::{plan, window_dates};
pub use policy::PolicyKind;
pub use refresh::{Demand, RefreshPolicy};
pub use request::{PlanPreview, RunRequest};
pub use schedule::{LocalScheduler, Scheduler};
pub use targets::{JobTarget, Targets};
pub use work_queue::{
    ClaimedTask, DropTasks, QueueDepth, Readiness, TaskChooser, TaskOutcome, WorkQueue,
};

use crate::clock::{Clock, SystemClock};
use crate::domain::{
    EngineProcess, NewRun, ProcessKind, ProductId, RunId, SyncRun, Trigger, WorkClass,
};
use crate::source::InventorySource;
use crate::store::{InventoryStore, PauseState, StoreError};

/// Job name recorded for one-off window syncs (`POST /admin/cron/sync`, `tickete sync`).
pub const MANUAL_SYNC_JOB: &str = "manual-sync";

/// Longest window a run may cover (SPEC: `daysToSync` ≤ 62).
pub const MAX_WINDOW_DAYS: u32 = 62;

/// Why the engine refused a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// Syncing is paused; resume first.
    #[error("sync is paused; resume it before starting a run")]
    Paused,
    /// A run of this job is still in progress.
    #[error("job {0} is already running")]
    AlreadyRunning(String),
    /// The requested window is outside 1..=62 days.
    #[error("window of {0} days is outside 1..={MAX_WINDOW_DAYS}")]
    InvalidWindow(u32),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Something that happened in the engine, for progress displays and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineEvent {
    /// A task reached its final outcome.
    TaskSettled {
        /// Product.
        product: ProductId,
        /// Date.
        date: NaiveDate,
        /// Whether the fetch succeeded.
        ok: bool,
    },
    /// The partner started or stopped knowing a product (`partnerStatus` changed).
    PartnerStatusChanged {
        /// Product.
        product: ProductId,
        /// Its status now.
        status: crate::domain::PartnerStatus,
    },
    /// A run's counts moved.
    RunProgress(SyncRun),
    /// A run ended (any final status).
    RunFinished(SyncRun),
}

/// A snapshot of the engine for `GET /sync/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EngineStatus {
    /// Pause flag.
    pub pause: PauseState,
    /// Tasks waiting.
    pub pending: usize,
    /// Tasks being fetched.
    pub in_flight: usize,
    /// Pacing ceiling.
    pub rate_per_minute: u32,
    /// When a partner 429 hold ends, if one is in force.
    pub held_until: Option<DateTime<Utc>>,
}

/// Handle to the sync engine. Clones share one queue and one pacer.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    config: EngineConfig,
    store: Arc<dyn InventoryStore>,
    source: Arc<dyn InventorySource>,
    budget: Arc<dyn PartnerBudget>,
    clock: Arc<dyn Clock>,
    queue: Arc<dyn WorkQueue>,
    /// This process, as registered in the store; it owns the runs this engine starts.
    process: EngineProcess,
    refresh: Arc<RefreshPolicy>,
    partner_status: partner_status::RecordedStatus,
    spare: spare::SpareCalls,
    live: live::LiveState,
    start_lock: tokio::sync::Mutex<()>,
    started: tokio::sync::OnceCell<()>,
    /// Set once this process is registered in the store (before it owns any run).
    registered: tokio::sync::OnceCell<()>,
    /// Serialises pause, resume and re-reads of the flag, so a re-read that began before a
    /// pause cannot overwrite it with the old value.
    pause_lock: tokio::sync::Mutex<()>,
    wake: Notify,
    pause: watch::Sender<PauseState>,
    events: broadcast::Sender<EngineEvent>,
}

/// Builds an [`Engine`].
pub struct EngineBuilder {
    config: EngineConfig,
    store: Arc<dyn InventoryStore>,
    source: Arc<dyn InventorySource>,
    clock: Arc<dyn Clock>,
    budget: Option<Arc<dyn PartnerBudget>>,
    queue: Option<Arc<dyn WorkQueue>>,
    process: Option<EngineProcess>,
}

impl EngineBuilder {
    /// Replaces the default settings.
    pub fn config(mut self, config: EngineConfig) -> Self {
        self.config = config;
        self
    }

    /// Replaces the system clock (tests use [`crate::TokioClock`]).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Replaces the in-process pacer, e.g. with a budget shared by replicas.
    pub fn budget(mut self, budget: Arc<dyn PartnerBudget>) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Replaces the in-process queue, e.g. with a durable queue shared by replicas.
    pub fn queue(mut self, queue: Arc<dyn WorkQueue>) -> Self {
        self.queue = Some(queue);
        self
    }

    /// Names the process this engine runs in (default: a server process of this host and
    /// pid). A CLI passes [`ProcessKind::Cli`]; replicas pass the name their queue uses.
    pub fn process(mut self, process: EngineProcess) -> Self {
        self.process = Some(process);
        self
    }

    /// Loads the persisted pause flag and returns the engine.
    pub async fn build(self) -> Result<Engine, StoreError> {
        let pause = self.store.pause_state().await?;
        let budget = self.budget.unwrap_or_else(|| {
            Arc::new(Pacer::new(self.config.rate_per_minute, self.clock.clone()))
        });
        let queue = self
            .queue
            .unwrap_or_else(|| Arc::new(LocalQueue::new(self.store.clone())));
        let process = self
            .process
            .unwrap_or_else(|| EngineProcess::current(ProcessKind::Server, self.clock.now()));
        let (events, _) = broadcast::channel(1024);
        let refresh = Arc::new(RefreshPolicy::new(
            self.config.policy,
            self.config.rate_per_minute.get(),
        ));
        Ok(Engine {
            inner: Arc::new(Inner {
                config: self.config,
                store: self.store,
                source: self.source,
                budget,
                clock: self.clock,
                queue,
                process,
                refresh,
                partner_status: partner_status::RecordedStatus::default(),
                spare: spare::SpareCalls::default(),
                live: live::LiveState::default(),
                start_lock: tokio::sync::Mutex::new(()),
                started: tokio::sync::OnceCell::new(),
                registered: tokio::sync::OnceCell::new(),
                pause_lock: tokio::sync::Mutex::new(()),
                wake: Notify::new(),
                pause: watch::Sender::new(pause),
                events,
            }),
        })
    }
}

impl Engine {
    /// Starts building an engine over `store` and `source`.
    pub fn builder(
        store: Arc<dyn InventoryStore>,
        source: Arc<dyn InventorySource>,
    ) -> EngineBuilder {
        EngineBuilder {
            config: EngineConfig::default(),
            store,
            source,
            clock: Arc::new(SystemClock),
            budget: None,
            queue: None,
            process: None,
        }
    }

    /// The process this engine runs in; it owns the runs the engine starts.
    pub fn process(&self) -> &EngineProcess {
        &self.inner.process
    }

    /// The store the engine writes to.
    pub fn store(&self) -> &Arc<dyn InventoryStore> {
        &self.inner.store
    }

    /// The engine's clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// The engine's settings.
    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    /// Today in the service time zone.
    pub fn today(&self) -> NaiveDate {
        self.inner
            .clock
            .now()
            .with_timezone(&self.inner.config.time_zone)
            .date_naive()
    }

    /// Events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.inner.events.subscribe()
    }

    /// The pause flag as this engine last saw it.
    pub fn pause_state(&self) -> PauseState {
        *self.inner.pause.borrow()
    }

    /// Current queue, pause and budget state.
    pub async fn status(&self) -> Result<EngineStatus, StoreError> {
        let depth = self.inner.queue.depth().await?;
        Ok(EngineStatus {
            pause: self.pause_state(),
            pending: depth.pending,
            in_flight: depth.in_flight,
            rate_per_minute: self.inner.budget.rate_per_minute(),
            held_until: self.inner.budget.read_hold().await?,
        })
    }

    /// Lifts a partner 429 hold now (an operator's call, e.g. after the partner raised the
    /// limit): calls resume at the normal pace. Returns the hold that was in force, if any.
    pub async fn clear_hold(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let lifted = self.inner.budget.clear_hold().await?;
        if let Some(until) = lifted {
            tracing::info!(%until, "partner rate-limit hold lifted by an operator");
        }
        Ok(lifted)
    }

    /// Whether a run of `job` is in progress.
    pub async fn is_running(&self, job: &str) -> Result<bool, StoreError> {
        self.inner.queue.is_running(job).await
    }

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
                let mut run = run;
                if run.errors.len() < SyncRun::MAX_ERRORS {
                    run.errors
                        .push("superseded by a newer tick of its job before it finished".into());
                    self.inner.store.save_run(&run).await?;
                }
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

    /// Pauses partner calls (persisted). The in-flight call, if any, finishes.
    pub async fn pause(&self) -> Result<PauseState, EngineError> {
        let _serialised = self.inner.pause_lock.lock().await;
        let state = self
            .inner
            .store
            .set_paused(true, self.inner.clock.now())
            .await?;
        self.inner.pause.send_replace(state);
        tracing::info!("sync paused");
        Ok(state)
    }

    /// Resumes partner calls (persisted); queued work continues.
    pub async fn resume(&self) -> Result<PauseState, EngineError> {
        let _serialised = self.inner.pause_lock.lock().await;
        let state = self
            .inner
            .store
            .set_paused(false, self.inner.clock.now())
            .await?;
        self.inner.pause.send_replace(state);
        self.inner.wake.notify_one();
        tracing::info!("sync resumed");
        Ok(state)
    }

    /// Re-reads the pause flag from the store (another process may have changed it).
    pub async fn refresh_pause(&self) -> Result<PauseState, StoreError> {
        let _serialised = self.inner.pause_lock.lock().await;
        let state = self.inner.store.pause_state().await?;
        self.inner.pause.send_if_modified(|current| {
            let changed = *current != state;
            *current = state;
            changed
        });
        if !state.paused {
            self.inner.wake.notify_one();
        }
        Ok(state)
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

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.inner.config)
            .field("pause", &self.pause_state())
            .finish()
    }
}
