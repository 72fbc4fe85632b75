//! Running the engine: the worker, the scheduler and the upkeep a long-running engine needs,
//! spawned together and stopped together.

use std::sync::Arc;
use std::time::Duration;

use tickete_core::engine::schedule::run_scheduler;
use tickete_core::engine::Scheduler;
use tickete_core::{Engine, StoreError};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::partner::Partner;

/// The engine's worker, spending the partner budget on the queue until stopped.
pub struct Worker {
    stop: CancellationToken,
    join: JoinHandle<()>,
}

impl Worker {
    /// Spawns the worker of `engine`.
    pub fn spawn(engine: &Engine) -> Self {
        let stop = CancellationToken::new();
        let join = tokio::spawn({
            let (engine, stop) = (engine.clone(), stop.clone());
            async move { engine.run(stop).await }
        });
        Self { stop, join }
    }

    /// Stops taking tasks and waits for the in-flight call and its write.
    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.join.await;
    }
}

/// Called after past days were pruned, with how many (e.g. to clear a read cache).
pub type AfterPrune = Arc<dyn Fn(u64) + Send + Sync>;

/// A running service engine: worker, scheduler and upkeep.
pub struct Running {
    engine: Engine,
    worker: Worker,
    stop: CancellationToken,
    background: Vec<JoinHandle<()>>,
    partner: Partner,
}

impl Running {
    /// Spawns the worker, the scheduler and the upkeep loop. Runs left by processes that are
    /// gone (a crash, a kill) are rescued by the scheduler once their owner's lease has run
    /// out; a live process's runs (a CLI sync beside this server) are never touched.
    pub async fn start(
        engine: Engine,
        scheduler: Arc<dyn Scheduler>,
        partner: Partner,
        after_prune: Option<AfterPrune>,
    ) -> Result<Self, StoreError> {
        // Recovery first: a run a request starts once the service is up is never taken for
        // one a stopped process left.
        engine.start_upkeep().await;
        let stop = CancellationToken::new();
        let worker = Worker::spawn(&engine);
        let background = vec![
            tokio::spawn(run_scheduler(engine.clone(), scheduler, stop.clone())),
            tokio::spawn(upkeep(engine.clone(), after_prune, stop.clone())),
        ];
        Ok(Self {
            engine,
            worker,
            stop,
            background,
            partner,
        })
    }

    /// Starts delivering webhooks with `worker`, woken by the engine; stopped with the rest.
    pub fn deliver_webhooks(mut self, worker: crate::feed::DeliveryWorker) -> Self {
        let events = self.engine.subscribe();
        self.background
            .push(tokio::spawn(worker.run(events, self.stop.clone())));
        self
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Stops taking tasks, lets the in-flight partner call and its write finish, and waits
    /// for the scheduler and upkeep to end.
    pub async fn shutdown(self) {
        self.stop.cancel();
        self.partner.release_hangs();
        self.worker.stop().await;
        for task in self.background {
            let _ = task.await;
        }
    }
}

/// How often the refresh policy's learnt state and reads are shared with the store and the
/// freshness metrics recomputed.
pub const POLICY_SHARING: Duration = Duration::from_secs(60);

/// Re-reads the pause flag every 3 s (another process may change it), shares what the refresh
/// policy learnt and counted every minute (and refreshes the freshness and demand metrics),
/// and prunes past days at start and then hourly.
async fn upkeep(engine: Engine, after_prune: Option<AfterPrune>, stop: CancellationToken) {
    let mut pause_refresh = tokio::time::interval(Duration::from_secs(3));
    let mut day_pruning = tokio::time::interval(Duration::from_secs(3600));
    let mut policy_sharing = tokio::time::interval(POLICY_SHARING);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = policy_sharing.tick() => {
                tickete_core::engine::upkeep::share_learning(&engine).await;
            }
            _ = day_pruning.tick() => {
                if let Some(days) = prune_past_days(&engine).await {
                    if let Some(after_prune) = &after_prune {
                        after_prune(days);
                    }
                }
            }
            _ = pause_refresh.tick() => {
                if let Err(error) = engine.refresh_pause().await {
                    tracing::warn!(%error, "could not re-read the pause flag");
                }
            }
        }
    }
}

/// Days before today are no longer bookable: their inventory goes, so the store stays the
/// size of the synced windows and derived facts (`availableDays`, `timeSlotType`) describe
/// what can still be booked. Returns how many days went, when any did.
async fn prune_past_days(engine: &Engine) -> Option<u64> {
    // Feed events are kept 7 days (SPEC §6).
    let keep = chrono::Duration::days(tickete_core::feed::EVENT_RETENTION_DAYS);
    match engine
        .store()
        .prune_events(engine.clock().now() - keep)
        .await
    {
        Ok(0) => {}
        Ok(events) => tracing::info!(events, "pruned feed events older than 7 days"),
        Err(error) => tracing::warn!(%error, "could not prune feed events"),
    }
    tickete_core::engine::upkeep::prune_learning(engine).await;
    let today = engine.today();
    match engine.inventory().prune_before(today).await {
        Ok(0) => None,
        Ok(days) => {
            tracing::info!(days, before = %today, "pruned past days");
            Some(days)
        }
        Err(error) => {
            tracing::warn!(%error, "could not prune past days");
            None
        }
    }
}
