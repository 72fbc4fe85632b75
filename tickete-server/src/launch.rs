//! Starting and stopping the whole service: store, partner, engine, scheduler, HTTP.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tickete_core::engine::schedule::run_scheduler;
use tickete_core::engine::{EngineConfig, LocalScheduler, Scheduler};
use tickete_core::{
    Engine, EngineEvent, InventorySource, InventoryStore, Product, StoreError, SyncJob,
};
use tickete_partner::sim::{SimConfig, Simulator};
use tickete_partner::{PartnerClient, PartnerConfig};
use tickete_store_postgres::coordination::{replica_name, Coordination};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::app::router;
use crate::config::{Config, PartnerTarget};
use crate::state::AppState;
use crate::stores::open_store;
use crate::telemetry::metrics_handle;

/// Why the service could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// The store could not be opened or seeded.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The partner client or simulator could not be set up.
    #[error("partner: {0}")]
    Partner(String),
    /// The HTTP listener failed.
    #[error("http: {0}")]
    Io(#[from] std::io::Error),
}

/// Path under which `--partner-sim` mounts the simulator on the service's own port.
pub const SIM_MOUNT: &str = "/partner-sim";

/// Seeds an empty catalogue from `TICKETE_PRODUCTS` and inserts missing default jobs.
pub async fn seed(store: &dyn InventoryStore, config: &Config) -> Result<(), StoreError> {
    let catalogue = store
        .list_products(tickete_core::PageRequest { page: 1, limit: 1 })
        .await?;
    if catalogue.total == 0 {
        for &id in &config.products {
            let product = Product {
                id,
                name: format!("Product {id}"),
                enabled: true,
            };
            store.upsert_product(&product).await?;
        }
        tracing::info!(products = ?config.products, "seeded the empty catalogue");
    }
    for job in SyncJob::defaults() {
        if store.insert_job_if_missing(&job).await? {
            tracing::info!(job = %job.name, schedule = %job.schedule, "seeded job");
        }
    }
    Ok(())
}

/// The engine settings from the service config.
pub fn engine_config(config: &Config) -> EngineConfig {
    EngineConfig {
        rate_per_minute: config.partner_rate_per_minute,
        time_zone: config.timezone,
        max_hold: config.partner_max_hold,
        ..EngineConfig::default()
    }
}

/// Builds the partner client for `config`; with the simulator, also the simulator to mount.
pub fn partner_source(
    config: &Config,
    local_address: SocketAddr,
) -> Result<(Arc<dyn InventorySource>, Option<Simulator>), LaunchError> {
    let (base_url, simulator) = match &config.partner {
        PartnerTarget::Simulator => {
            let simulator = Simulator::new(SimConfig::default())
                .map_err(|e| LaunchError::Partner(e.to_string()))?;
            let address = if local_address.ip().is_unspecified() {
                SocketAddr::from(([127, 0, 0, 1], local_address.port()))
            } else {
                local_address
            };
            (format!("http://{address}{SIM_MOUNT}"), Some(simulator))
        }
        PartnerTarget::Url(url) => {
            if config.partner_api_key.is_none() {
                tracing::warn!(%url, "TICKETE_PARTNER_API_KEY is not set: the partner will likely refuse every call");
            }
            (url.clone(), None)
        }
    };
    Ok((partner_client(config, &base_url)?, simulator))
}

/// A partner client for `base_url` with the configured API key, e.g. for a simulator that a
/// caller started on its own listener (`tickete` with `TICKETE_PARTNER_URL=sim`).
pub fn partner_client(
    config: &Config,
    base_url: &str,
) -> Result<Arc<dyn InventorySource>, LaunchError> {
    let url = base_url
        .parse()
        .map_err(|e| LaunchError::Partner(format!("partner URL `{base_url}`: {e}")))?;
    let mut partner = PartnerConfig::new(url);
    partner.api_key = config.partner_api_key.clone();
    partner.max_hold = config.partner_max_hold;
    let client = PartnerClient::new(partner).map_err(|e| LaunchError::Partner(e.to_string()))?;
    Ok(Arc::new(client))
}

/// Runs the service on `listener` until `shutdown` resolves: then stops taking tasks, lets the
/// in-flight partner call and its write finish, marks unfinished runs `interrupted`, and drains
/// HTTP requests.
pub async fn launch(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), LaunchError> {
    let opened = open_store(&config.database_url).await?;
    let store = opened.store;
    seed(store.as_ref(), &config).await?;
    let clock: Arc<dyn tickete_core::Clock> = Arc::new(tickete_core::SystemClock);
    if !opened.shared {
        // Single node: a run still `running` was cut off by a crash or kill.
        let stale = store.interrupt_running_runs(clock.now()).await?;
        if stale > 0 {
            tracing::info!(
                stale,
                "marked runs left over from a previous process as interrupted"
            );
        }
    }
    let local_address = listener.local_addr()?;
    let (source, simulator) = partner_source(&config, local_address)?;
    let mut builder = Engine::builder(store.clone(), source)
        .config(engine_config(&config))
        .clock(clock);
    let mut scheduler: Arc<dyn Scheduler> = Arc::new(LocalScheduler);
    if let Some(postgres) = &opened.postgres {
        let replica = replica_name();
        let coordination = Coordination::new(
            postgres,
            &replica,
            config.partner_rate_per_minute,
            config.task_lease,
        );
        tracing::info!(%replica, "coordinating with other replicas through Postgres");
        builder = builder
            .queue(Arc::new(coordination.queue))
            .budget(Arc::new(coordination.budget));
        scheduler = Arc::new(coordination.scheduler);
    }
    let engine = builder.build().await?;

    let admin_token = match config.admin_token.clone() {
        Some(token) => {
            if token.len() < 16 {
                tracing::warn!("TICKETE_ADMIN_TOKEN is shorter than 16 characters: easy to guess");
            }
            token
        }
        None => {
            let token = hex::encode(rand::random::<[u8; 24]>());
            // stderr, so a JSON log stream on stdout stays JSON.
            eprintln!(
                "tickete admin token (generated; set TICKETE_ADMIN_TOKEN to choose one): {token}"
            );
            token
        }
    };
    let state = AppState::new(
        engine.clone(),
        &admin_token,
        metrics_handle(),
        config.public_rate_per_minute,
        config.trust_forwarded_for,
    );
    let mut app = router(state.clone());
    if let Some(simulator) = &simulator {
        app = app.nest_service(SIM_MOUNT, simulator.router());
    }

    let stop = CancellationToken::new();
    let worker = tokio::spawn({
        let (engine, stop) = (engine.clone(), stop.clone());
        async move { engine.run(stop).await }
    });
    let scheduler = tokio::spawn(run_scheduler(engine.clone(), scheduler, stop.clone()));
    let background = tokio::spawn(watch_engine(state.clone(), stop.clone()));

    tracing::info!(address = %local_address, config = ?config, "tickete listening");
    let http_stop = stop.clone();
    let limits = crate::serve::ServeLimits::default();
    let served = crate::serve::serve(listener, app, limits, async move {
        tokio::select! {
            () = shutdown => {}
            () = http_stop.cancelled() => {}
        }
        tracing::info!("shutting down: finishing the in-flight partner call");
        http_stop.cancel();
    })
    .await;
    stop.cancel();
    if let Some(simulator) = &simulator {
        simulator.release_hangs();
    }
    let _ = tokio::join!(worker, scheduler, background);
    tracing::info!("stopped");
    served.map_err(LaunchError::Io)
}

/// Keeps the read cache and pause flag in step: invalidates a product's cached reads when one
/// of its days is applied, re-reads the pause flag (another process may change it), prunes
/// past days from the store, and prunes the public rate limiter's per-client state.
async fn watch_engine(state: AppState, stop: CancellationToken) {
    let mut events = state.engine().subscribe();
    let mut pause_refresh = tokio::time::interval(Duration::from_secs(3));
    let mut limiter_pruning = tokio::time::interval(Duration::from_secs(60));
    // First tick at once: past days are pruned at start, then hourly.
    let mut day_pruning = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            event = events.recv() => match event {
                Ok(EngineEvent::TaskSettled { product, ok: true, .. }) => state.cache().invalidate(product),
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => state.cache().clear(),
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            },
            _ = day_pruning.tick() => prune_past_days(&state).await,
            _ = limiter_pruning.tick() => {
                // One entry per client address: forget clients whose limit has refilled.
                if let Some(limiter) = state.public_limiter() {
                    limiter.retain_recent();
                    limiter.shrink_to_fit();
                }
            }
            _ = pause_refresh.tick() => {
                if let Err(error) = state.engine().refresh_pause().await {
                    tracing::warn!(%error, "could not re-read the pause flag");
                }
            }
        }
    }
}

/// Days before today are no longer bookable: their inventory goes, so the store stays the
/// size of the synced windows and derived facts (`availableDays`, `timeSlotType`) describe
/// what can still be booked.
async fn prune_past_days(state: &AppState) {
    let today = state.engine().today();
    match state.store().prune_before(today).await {
        Ok(0) => {}
        Ok(days) => {
            state.cache().clear();
            tracing::info!(days, before = %today, "pruned past days");
        }
        Err(error) => tracing::warn!(%error, "could not prune past days"),
    }
}
