//! Starting and stopping the whole service: the application of `tickete-app` (store, partner,
//! engine with its scheduler and upkeep) behind the HTTP router.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tickete_app::partner::Partner;
use tickete_app::runtime::Running;
use tickete_app::{App, AppError, Settings};
use tickete_core::{EngineEvent, StoreError};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::router::router;
use crate::state::AppState;
use crate::telemetry::metrics_handle;

/// Why the service could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// The application could not be assembled.
    #[error(transparent)]
    App(#[from] AppError),
    /// The HTTP listener failed.
    #[error("http: {0}")]
    Io(#[from] std::io::Error),
}

impl From<StoreError> for LaunchError {
    fn from(error: StoreError) -> Self {
        Self::App(error.into())
    }
}

/// Runs the service on `listener` until `shutdown` resolves: then stops taking tasks, lets the
/// in-flight partner call and its write finish, marks unfinished runs `interrupted`, and drains
/// HTTP requests.
pub async fn launch(
    settings: Settings,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), LaunchError> {
    let app = App::open(settings).await?;
    app.seed().await?;
    let partner = Partner::start(&app.settings().partner).await?;
    let (engine, scheduler) = app.service_engine(partner.source.clone()).await?;
    let state = AppState::new(
        app.actions(engine.clone()),
        &admin_token(&app),
        metrics_handle(),
        app.settings().server.public_rate_per_minute,
        app.settings().server.trust_forwarded_for,
    );
    let cache = state.clone();
    let engine_for_feed = engine.clone();
    let after_prune = Arc::new(move |_days: u64| cache.cache().clear());
    let running = Running::start(engine, scheduler, partner, Some(after_prune))
        .await?
        .deliver_webhooks(app.delivery_worker(&engine_for_feed)?);

    let stop = CancellationToken::new();
    let http_upkeep = tokio::spawn(http_upkeep(state.clone(), stop.clone()));
    let local_address = listener.local_addr()?;
    tracing::info!(address = %local_address, settings = ?app.settings(), "tickete listening");
    let http_stop = stop.clone();
    let streams = state.streams_stop().clone();
    let limits = crate::serve::ServeLimits::default();
    let served = crate::serve::serve(listener, router(state), limits, async move {
        tokio::select! {
            () = shutdown => {}
            () = http_stop.cancelled() => {}
        }
        tracing::info!("shutting down: finishing the in-flight partner call");
        http_stop.cancel();
        streams.cancel();
    })
    .await;
    stop.cancel();
    running.shutdown().await;
    let _ = http_upkeep.await;
    tracing::info!("stopped");
    served.map_err(LaunchError::Io)
}

/// The configured admin token, or a random one printed once (on stderr, so a JSON log stream
/// on stdout stays JSON).
fn admin_token(app: &App) -> String {
    match &app.settings().server.admin_token {
        Some(token) => {
            if token.expose().len() < 16 {
                tracing::warn!("TICKETE_ADMIN_TOKEN is shorter than 16 characters: easy to guess");
            }
            token.expose().to_owned()
        }
        None => {
            let token = hex::encode(rand::random::<[u8; 24]>());
            eprintln!(
                "tickete admin token (generated; set TICKETE_ADMIN_TOKEN to choose one): {token}"
            );
            token
        }
    }
}

/// HTTP-side upkeep: invalidates a product's cached reads when one of its days is applied or
/// its partner status changes, and prunes the public rate limiter's per-client state.
async fn http_upkeep(state: AppState, stop: CancellationToken) {
    let mut events = state.engine().subscribe();
    let mut limiter_pruning = tokio::time::interval(Duration::from_secs(60));
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            event = events.recv() => match event {
                Ok(EngineEvent::TaskSettled { product, ok: true, .. })
                | Ok(EngineEvent::PartnerStatusChanged { product, .. }) => state.cache().invalidate(product),
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => state.cache().clear(),
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            },
            _ = limiter_pruning.tick() => {
                // One entry per client address: forget clients whose limit has refilled.
                state.sign_in_limiter().retain_recent();
                if let Some(limiter) = state.public_limiter() {
                    limiter.retain_recent();
                    limiter.shrink_to_fit();
                }
            }
        }
    }
}
