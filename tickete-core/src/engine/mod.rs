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
mod runs;
use runs::record_tick;
mod run_tracker;
pub mod schedule;
mod spare;
mod targets;
mod task_queue;
pub mod upkeep;
mod work_queue;
mod worker;

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use tokio::sync::{broadcast, watch, Notify};

pub use budget::{
    calls_from_rows, minute_of, minute_start, pacing_interval, CallsByMinute, Pacer, PartnerBudget,
    CALLS_KEPT_MINUTES, PACING_MARGIN,
};
pub use config::{EngineConfig, RetryPolicy, DEFAULT_MAX_HOLD, DEFAULT_RATE_PER_MINUTE};
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
    ClaimedTask, DropTasks, QueueDepth, Readiness, TaskChooser, TaskOutcome, WorkQueue, SUPERSEDED,
};

use crate::clock::{Clock, SystemClock};
use crate::domain::{EngineProcess, ProcessKind, ProductId, SyncRun};
use crate::source::InventorySource;
use crate::store::{Catalogue, Control, Inventory, InventoryStore, PauseState, RunLog, StoreError};

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
    commits: Arc<crate::feed::Commits>,
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
                commits: Arc::default(),
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

    /// The store the engine writes to, with every capability. A caller that needs one
    /// capability asks for it ([`Engine::catalogue`] and the like) instead.
    pub fn store(&self) -> &Arc<dyn InventoryStore> {
        &self.inner.store
    }

    /// The product catalogue.
    pub fn catalogue(&self) -> &dyn Catalogue {
        self.inner.store.as_ref()
    }

    /// Synced inventory and the served bodies.
    pub fn inventory(&self) -> &dyn Inventory {
        self.inner.store.as_ref()
    }

    /// Jobs and the run log.
    pub fn run_log(&self) -> &dyn RunLog {
        self.inner.store.as_ref()
    }

    /// The pause flag and the store's health.
    pub fn control(&self) -> &dyn Control {
        self.inner.store.as_ref()
    }

    /// Webhook subscriptions and their deliveries.
    pub fn webhooks(&self) -> &dyn crate::feed::Webhooks {
        self.inner.store.as_ref()
    }

    /// The dashboard's sign-in sessions.
    pub fn sessions(&self) -> &dyn crate::sessions::Sessions {
        self.inner.store.as_ref()
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

    /// Announcements of change-feed events committed by any process on the store: whoever
    /// listens for them (the Postgres `NOTIFY`) announces them here, and this engine's feed
    /// subscriptions wake on them.
    pub fn commits(&self) -> &Arc<crate::feed::Commits> {
        &self.inner.commits
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

    /// Partner calls spent per minute since `since`, by every process sharing the budget
    /// (see [`PartnerBudget::calls_by_minute`]).
    pub async fn calls_by_minute(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, u32)>, StoreError> {
        self.inner.budget.calls_by_minute(since).await
    }

    /// Whether a run of `job` is in progress.
    pub async fn is_running(&self, job: &str) -> Result<bool, StoreError> {
        self.inner.queue.is_running(job).await
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
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.inner.config)
            .field("pause", &self.pause_state())
            .finish()
    }
}
