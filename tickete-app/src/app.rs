//! The opened application: settings, the store chosen by URL, and engines assembled over it.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveDate;
use tickete_core::engine::{EngineConfig, LocalScheduler, PartnerBudget, Scheduler, WorkQueue};
use tickete_core::{
    DaySnapshot, Engine, EngineProcess, InventorySource, InventoryStore, PageRequest, ProcessKind,
    Product, ProductId, SourceError, StoreError, SyncJob, SystemClock,
};
use tickete_store_postgres::coordination::{Coordination, PostgresBudget, PostgresQueue};
use tickete_store_postgres::PostgresStore;
use tickete_store_sqlite::{SqliteBudget, SqliteStore};

use crate::actions::Actions;
use crate::error::AppError;
use crate::feed::{DeliveryWorker, WorkerConfig};
use crate::settings::Settings;

/// Settings and the store they name, opened and migrated.
#[derive(Clone)]
pub struct App {
    settings: Settings,
    store: Arc<dyn InventoryStore>,
    /// The Postgres store, whose pool also coordinates replicas; `None` on SQLite.
    postgres: Option<PostgresStore>,
    /// The SQLite store, whose file also holds the partner budget of every process on it.
    sqlite: Option<SqliteStore>,
}

impl App {
    /// Opens (and migrates) the store `DATABASE_URL` names.
    pub async fn open(settings: Settings) -> Result<Self, StoreError> {
        let url = &settings.store.database_url;
        let (store, postgres, sqlite): (Arc<dyn InventoryStore>, _, _) = if url.is_postgres() {
            let store = PostgresStore::connect(url.expose()).await?;
            (Arc::new(store.clone()), Some(store), None)
        } else {
            let store = SqliteStore::open(url.expose()).await?;
            (Arc::new(store.clone()), None, Some(store))
        };
        Ok(Self {
            settings,
            store,
            postgres,
            sqlite,
        })
    }

    /// The resolved settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn InventoryStore> {
        &self.store
    }

    /// True on Postgres: other processes (replicas) may be running against the same store.
    pub fn is_shared(&self) -> bool {
        self.postgres.is_some()
    }

    /// Seeds an empty catalogue from `TICKETE_PRODUCTS` and inserts missing default jobs.
    pub async fn seed(&self) -> Result<(), StoreError> {
        let catalogue = self
            .store
            .list_products(PageRequest { page: 1, limit: 1 })
            .await?;
        if catalogue.total == 0 {
            for &id in &self.settings.sync.products {
                let product = Product {
                    id,
                    name: format!("Product {id}"),
                    enabled: true,
                };
                self.store.upsert_product(&product).await?;
            }
            tracing::info!(products = ?self.settings.sync.products, "seeded the empty catalogue");
        }
        for job in SyncJob::defaults() {
            if self.store.insert_job_if_missing(&job).await? {
                tracing::info!(job = %job.name, schedule = %job.schedule, "seeded job");
            }
        }
        Ok(())
    }

    /// The engine settings.
    pub fn engine_config(&self) -> EngineConfig {
        EngineConfig {
            rate_per_minute: self.settings.partner.rate_per_minute,
            time_zone: self.settings.sync.timezone,
            max_hold: self.settings.partner.max_hold,
            spare_share: self.settings.sync.spare_share,
            live: tickete_core::engine::LiveSettings {
                wait: self.settings.sync.live_wait,
                share: self.settings.sync.live_share,
                per_client_per_minute: self.settings.sync.live_per_client_per_minute,
            },
            ..EngineConfig::default()
        }
    }

    /// The long-running service's engine and scheduler: on Postgres, a replica that shares
    /// the tick claims, the durable queue and the partner budget with the others.
    pub async fn service_engine(
        &self,
        source: Arc<dyn InventorySource>,
    ) -> Result<(Engine, Arc<dyn Scheduler>), StoreError> {
        let process = EngineProcess::current(ProcessKind::Server, chrono::Utc::now());
        let mut builder = Engine::builder(self.store.clone(), source)
            .config(self.engine_config())
            .process(process.clone());
        let mut scheduler: Arc<dyn Scheduler> = Arc::new(LocalScheduler);
        if let Some(postgres) = &self.postgres {
            let replica = process.id;
            let coordination = Coordination::new(
                postgres,
                &replica,
                self.settings.partner.rate_per_minute,
                self.settings.server.task_lease,
            );
            tracing::info!(%replica, "coordinating with other replicas through Postgres");
            builder = builder
                .queue(Arc::new(coordination.queue))
                .budget(Arc::new(coordination.budget));
            scheduler = Arc::new(coordination.scheduler);
        } else if let Some(budget) = self.shared_budget() {
            builder = builder.budget(budget);
        }
        Ok((builder.build().await?, scheduler))
    }

    /// An engine for one run in this process (`tickete sync`): its own queue, so it waits for
    /// its own tasks only, but the partner budget of the deployment (stored in the database),
    /// so a one-off sync next to a running server spends the same budget instead of adding
    /// to it.
    pub async fn one_off_engine(
        &self,
        source: Arc<dyn InventorySource>,
    ) -> Result<Engine, StoreError> {
        let process = EngineProcess::current(ProcessKind::Cli, chrono::Utc::now());
        let mut builder = Engine::builder(self.store.clone(), source)
            .config(self.engine_config())
            .process(process);
        if let Some(budget) = self.shared_budget() {
            builder = builder.budget(budget);
        }
        builder.build().await
    }

    /// The partner budget every process on the store spends: one GCRA state in the database
    /// (a row on Postgres, shared by replicas; a row in the file on SQLite).
    fn shared_budget(&self) -> Option<Arc<dyn PartnerBudget>> {
        let rate = self.settings.partner.rate_per_minute;
        if let Some(postgres) = &self.postgres {
            return Some(Arc::new(PostgresBudget::new(postgres.pool().clone(), rate)));
        }
        self.sqlite.as_ref().map(|sqlite| {
            Arc::new(SqliteBudget::new(
                sqlite.pool().clone(),
                rate,
                Arc::new(SystemClock),
            )) as Arc<dyn PartnerBudget>
        })
    }

    /// An engine that plans, reads and edits but never reaches the partner (its worker is
    /// never started): admin actions and `sync --dry-run` in the CLI.
    pub async fn planning_engine(&self) -> Result<Engine, StoreError> {
        self.one_off_engine(Arc::new(NoPartner)).await
    }

    /// The admin actions over `engine`; on Postgres their status shows the replicas' shared
    /// queue whatever queue `engine` has.
    pub fn actions(&self, engine: Engine) -> Actions {
        Actions::new(engine, self.shared_queue())
            .allow_private_webhooks(self.settings.feed.webhook_allow_private)
    }

    /// The webhook delivery worker over `engine`'s store and clock; on Postgres it also wakes,
    /// and `engine`'s feed subscriptions are told, on the `NOTIFY` of events committed by any
    /// replica.
    pub fn delivery_worker(&self, engine: &Engine) -> Result<DeliveryWorker, AppError> {
        let config = WorkerConfig {
            allow_private: self.settings.feed.webhook_allow_private,
            release_claims_at_start: !self.is_shared(),
            proxy: self
                .settings
                .feed
                .webhook_proxy
                .as_ref()
                .map(|proxy| proxy.expose().to_owned()),
            ..WorkerConfig::default()
        };
        let worker = DeliveryWorker::new(engine.store().clone(), engine.clock().clone(), config)
            .map_err(AppError::Partner)?;
        if let Some(postgres) = &self.postgres {
            tokio::spawn(tickete_store_postgres::feed::wake_on_events(
                postgres.clone(),
                worker.waker(),
                engine.commits().clone(),
            ));
        }
        Ok(worker)
    }

    /// On Postgres, the queue every replica shares (read for its depth).
    fn shared_queue(&self) -> Option<Arc<dyn WorkQueue>> {
        self.postgres.as_ref().map(|postgres| {
            Arc::new(PostgresQueue::new(
                postgres.pool().clone(),
                "status",
                self.settings.server.task_lease,
            )) as Arc<dyn WorkQueue>
        })
    }
}

/// The source of a planning-only engine: its worker is never started, so it is never asked.
struct NoPartner;

#[async_trait]
impl InventorySource for NoPartner {
    async fn fetch(&self, _: ProductId, _: NaiveDate) -> Result<DaySnapshot, SourceError> {
        Err(SourceError::Permanent(
            "a planning engine never calls the partner".into(),
        ))
    }
}
