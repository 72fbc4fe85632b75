//! What commands share: resolved settings, the store, and an engine over the partner.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{NaiveDate, Utc};
use tickete_core::engine::{PartnerBudget, QueueDepth, WorkQueue};
use tickete_core::{DaySnapshot, Engine, InventorySource, InventoryStore, ProductId, SourceError};
use tickete_partner::sim::{SimConfig, Simulator};
use tickete_server::config::{redact_url, Config, PartnerTarget};
use tickete_server::launch::{engine_config, partner_client, partner_source, seed};
use tickete_server::stores::{open_store, OpenedStore};
use tickete_store_postgres::coordination::{PostgresBudget, PostgresQueue};
use tickete_store_postgres::PostgresStore;
use tokio::net::TcpListener;
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;

use crate::error::CliError;

/// Settings and output mode of one invocation.
pub struct Ctx {
    /// Resolved settings (flags > env > file > defaults).
    pub config: Config,
    /// `--json`.
    pub json: bool,
    /// The store, opened (and migrated) once on first use.
    opened: OnceCell<OpenedStore>,
}

/// The partner of this process; with `TICKETE_PARTNER_URL=sim`, a simulator served on a
/// loopback port until this is dropped.
pub struct Partner {
    /// Where fetches go.
    pub source: Arc<dyn InventorySource>,
    stop: CancellationToken,
}

impl Drop for Partner {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Ctx {
    /// Settings and output mode of one invocation.
    pub fn new(config: Config, json: bool) -> Self {
        Self {
            config,
            json,
            opened: OnceCell::new(),
        }
    }

    /// The store, opened (and migrated) on first use.
    pub async fn store(&self) -> Result<Arc<dyn InventoryStore>, CliError> {
        Ok(self.opened().await?.store.clone())
    }

    async fn opened(&self) -> Result<&OpenedStore, CliError> {
        self.opened
            .get_or_try_init(|| async {
                open_store(&self.config.database_url).await.map_err(|e| {
                    CliError::failure(format!(
                        "cannot open the store {}: {e}",
                        redact_url(&self.config.database_url)
                    ))
                })
            })
            .await
    }

    /// Opens the store and seeds what the server seeds at start: the default jobs, and
    /// `TICKETE_PRODUCTS` into an empty catalogue.
    pub async fn seeded_store(&self) -> Result<Arc<dyn InventoryStore>, CliError> {
        let store = self.store().await?;
        seed(store.as_ref(), &self.config).await?;
        Ok(store)
    }

    /// Today in the service time zone.
    pub fn today(&self) -> NaiveDate {
        Utc::now().with_timezone(&self.config.timezone).date_naive()
    }

    /// The configured partner client; for the simulator, starts one on 127.0.0.1.
    pub async fn partner(&self) -> Result<Partner, CliError> {
        let stop = CancellationToken::new();
        let source = match &self.config.partner {
            PartnerTarget::Simulator => {
                let simulator = Simulator::new(SimConfig::default())
                    .map_err(|e| CliError::failure(e.to_string()))?;
                let listener = TcpListener::bind("127.0.0.1:0").await?;
                let url = format!("http://{}", listener.local_addr()?);
                tracing::info!(%url, "serving the partner simulator for this run");
                tokio::spawn(simulator.serve(listener, stop.clone().cancelled_owned()));
                partner_client(&self.config, &url)?
            }
            PartnerTarget::Url(_) => {
                let unused = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
                partner_source(&self.config, unused)?.0
            }
        };
        Ok(Partner { source, stop })
    }

    /// An engine over `store` and `source` with the configured rate and time zone.
    pub async fn engine(
        &self,
        store: Arc<dyn InventoryStore>,
        source: Arc<dyn InventorySource>,
    ) -> Result<Engine, CliError> {
        let mut builder = Engine::builder(store, source).config(engine_config(&self.config));
        if let Some(budget) = self.shared_budget().await? {
            builder = builder.budget(budget);
        }
        Ok(builder.build().await?)
    }

    /// On Postgres, the size of the task queue every server replica shares; `None` on
    /// SQLite, where the queue lives in the server's memory.
    pub async fn shared_queue_depth(&self) -> Result<Option<QueueDepth>, CliError> {
        let Some(store) = self.postgres().await? else {
            return Ok(None);
        };
        let queue = PostgresQueue::new(store.pool().clone(), "tickete-cli", self.config.task_lease);
        Ok(Some(queue.depth().await?))
    }

    async fn postgres(&self) -> Result<Option<PostgresStore>, CliError> {
        Ok(self.opened().await?.postgres.clone())
    }

    /// On Postgres, the partner budget every server replica shares: a CLI sync next to
    /// running servers then spends the same budget instead of adding to it.
    async fn shared_budget(&self) -> Result<Option<Arc<dyn PartnerBudget>>, CliError> {
        Ok(self
            .postgres_budget()
            .await?
            .map(|budget| Arc::new(budget) as Arc<dyn PartnerBudget>))
    }

    /// On Postgres, the shared budget itself (its 429 hold is read and lifted there); `None`
    /// on SQLite, where the hold lives in the running server's memory.
    pub async fn postgres_budget(&self) -> Result<Option<PostgresBudget>, CliError> {
        let Some(store) = self.postgres().await? else {
            return Ok(None);
        };
        Ok(Some(PostgresBudget::new(
            store.pool().clone(),
            self.config.partner_rate_per_minute,
        )))
    }

    /// An engine that can plan but never reaches the partner (`sync --dry-run`).
    pub async fn planning_engine(
        &self,
        store: Arc<dyn InventoryStore>,
    ) -> Result<Engine, CliError> {
        self.engine(store, Arc::new(NoPartner)).await
    }
}

/// The source of a planning-only engine: its worker is never started, so it is never asked.
struct NoPartner;

#[async_trait]
impl InventorySource for NoPartner {
    async fn fetch(&self, _: ProductId, _: NaiveDate) -> Result<DaySnapshot, SourceError> {
        Err(SourceError::Permanent(
            "a dry run never calls the partner".into(),
        ))
    }
}
