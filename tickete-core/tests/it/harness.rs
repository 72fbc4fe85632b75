//! A paused-clock engine over the in-memory store and the scripted fake partner.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
use tickete_core::store::prelude::*;

use chrono::{DateTime, NaiveDate, Utc};
use tickete_core::engine::schedule::run_scheduler;
use tickete_core::engine::{LocalScheduler, RunRequest};
use tickete_core::testing::{FakeSource, MemoryStore};
use tickete_core::{
    Engine, EngineConfig, NewRun, PageRequest, Product, ProductId, RunStatus, SyncJob, SyncRun,
    TokioClock, Trigger,
};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const START: &str = "2026-03-01T08:00:00Z";

pub fn pid(raw: u32) -> ProductId {
    ProductId::new(raw).unwrap()
}

pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()
}

pub fn day(offset: u64) -> NaiveDate {
    today() + chrono::Days::new(offset)
}

pub struct Harness {
    pub store: Arc<MemoryStore>,
    pub source: Arc<FakeSource>,
    pub clock: Arc<TokioClock>,
    pub engine: Engine,
    pub shutdown: CancellationToken,
    worker: Option<JoinHandle<()>>,
    scheduler: Option<JoinHandle<()>>,
}

impl Harness {
    pub async fn new(products: &[u32], rate: u32) -> Self {
        Self::at(products, rate, START, chrono_tz::Tz::UTC).await
    }

    /// A harness whose clock starts at `start` (RFC 3339), in service time zone `zone`.
    pub async fn at(products: &[u32], rate: u32, start: &str, zone: chrono_tz::Tz) -> Self {
        let config = EngineConfig {
            rate_per_minute: NonZeroU32::new(rate).unwrap(),
            time_zone: zone,
            ..EngineConfig::default()
        };
        Self::starting(products, config, start).await
    }

    /// A harness with engine settings of its own, starting at the usual instant.
    pub async fn with_config(products: &[u32], config: EngineConfig) -> Self {
        Self::starting(products, config, START).await
    }

    async fn starting(products: &[u32], config: EngineConfig, start: &str) -> Self {
        let store = Arc::new(MemoryStore::new());
        for &id in products {
            store
                .upsert_product(&Product {
                    id: pid(id),
                    name: format!("Product {id}"),
                    enabled: true,
                })
                .await
                .unwrap();
        }
        let source = Arc::new(FakeSource::new());
        let clock = Arc::new(TokioClock::starting_at(
            DateTime::parse_from_rfc3339(start).unwrap().to_utc(),
        ));
        let engine = Engine::builder(store.clone(), source.clone())
            .config(config)
            .clock(clock.clone())
            .build()
            .await
            .unwrap();
        Self {
            store,
            source,
            clock,
            engine,
            shutdown: CancellationToken::new(),
            worker: None,
            scheduler: None,
        }
    }

    /// A new process on the same store, partner and clock (after `stop`, or instead of a
    /// process that was killed).
    pub async fn restart(&mut self) {
        let config = self.engine.config().clone();
        self.engine = Engine::builder(self.store.clone(), self.source.clone())
            .config(config)
            .clock(self.clock.clone())
            .build()
            .await
            .unwrap();
        self.shutdown = CancellationToken::new();
    }

    pub fn start_worker(&mut self) {
        let engine = self.engine.clone();
        let shutdown = self.shutdown.clone();
        self.worker = Some(tokio::spawn(async move { engine.run(shutdown).await }));
    }

    /// Starts the cron loop (local scheduler) over the stored jobs.
    pub fn start_scheduler(&mut self) {
        self.scheduler = Some(tokio::spawn(run_scheduler(
            self.engine.clone(),
            Arc::new(LocalScheduler),
            self.shutdown.clone(),
        )));
    }

    /// Records a finished run of `job`, as an earlier process would have left it (an
    /// interrupted one waiting for its re-plan, as a stopping process leaves it).
    pub async fn record_run(&self, job: &str, due_at: DateTime<Utc>, status: RunStatus) -> SyncRun {
        let new = NewRun {
            job: job.into(),
            trigger: Trigger::Schedule,
            started_at: due_at,
            due_at,
            window_days: 1,
            products: None,
            manual: false,
            owner: None,
            replans: None,
        };
        let mut run = self.store.create_run(&new).await.unwrap();
        run.status = status;
        run.replan_pending = status == RunStatus::Interrupted;
        self.store.save_run(&run).await.unwrap();
        run
    }

    pub async fn stop(&mut self) {
        self.shutdown.cancel();
        for task in [self.worker.take(), self.scheduler.take()]
            .into_iter()
            .flatten()
        {
            task.await.unwrap();
        }
    }

    pub async fn sync(&self, job: &str, days: u32) -> SyncRun {
        self.engine
            .start_run(RunRequest {
                job: job.into(),
                ..RunRequest::next_days(days)
            })
            .await
            .unwrap()
    }
}

/// Most calls in any half-open window `[t, t + 60 s)` starting at a call.
pub fn max_calls_in_any_minute(calls: &[tokio::time::Instant]) -> usize {
    calls
        .iter()
        .map(|start| {
            calls
                .iter()
                .filter(|at| **at >= *start && **at < *start + Duration::from_secs(60))
                .count()
        })
        .max()
        .unwrap_or(0)
}

pub async fn seed_jobs(store: &MemoryStore) {
    for job in SyncJob::defaults() {
        store.insert_job_if_missing(&job).await.unwrap();
    }
}

pub async fn runs_of(store: &MemoryStore, job: &str) -> Vec<SyncRun> {
    store
        .list_runs(
            Some(job),
            PageRequest {
                page: 1,
                limit: 100,
            },
        )
        .await
        .unwrap()
        .items
}
