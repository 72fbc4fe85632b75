//! The partner of this process: the configured partner, or the built-in simulator served on a
//! loopback port of its own (server and CLI alike) for as long as [`Partner`] lives.

use std::sync::Arc;

use tickete_core::InventorySource;
use tickete_partner::{PartnerClient, PartnerConfig};
use tickete_partner_sim::{SimConfig, Simulator};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::error::AppError;
use crate::settings::{PartnerSettings, PartnerTarget};

/// Where fetches go; with the simulator, also the simulator, stopped when this is dropped.
pub struct Partner {
    /// The client the engine fetches through.
    pub source: Arc<dyn InventorySource>,
    /// The simulator's base URL, when it is the simulator.
    pub simulator_url: Option<String>,
    simulator: Option<Simulator>,
    stop: CancellationToken,
}

impl Partner {
    /// Starts the partner `settings` name.
    pub async fn start(settings: &PartnerSettings) -> Result<Self, AppError> {
        let stop = CancellationToken::new();
        match &settings.target {
            PartnerTarget::Simulator => {
                let simulator = Simulator::new(SimConfig::default())
                    .map_err(|e| AppError::Partner(e.to_string()))?;
                let listener = TcpListener::bind("127.0.0.1:0").await?;
                let url = format!("http://{}", listener.local_addr()?);
                tracing::info!(%url, "serving the built-in partner simulator");
                tokio::spawn(
                    simulator
                        .clone()
                        .serve(listener, stop.clone().cancelled_owned()),
                );
                Ok(Self {
                    source: client(settings, &url)?,
                    simulator_url: Some(url),
                    simulator: Some(simulator),
                    stop,
                })
            }
            PartnerTarget::Url(url) => {
                if settings.api_key.is_none() {
                    tracing::warn!(%url, "TICKETE_PARTNER_API_KEY is not set: the partner will likely refuse every call");
                }
                Ok(Self {
                    source: client(settings, url)?,
                    simulator_url: None,
                    simulator: None,
                    stop,
                })
            }
        }
    }
}

impl Partner {
    /// Ends the simulator's hanging answers, so an in-flight call (and a shutdown waiting on
    /// it) does not wait for them.
    pub fn release_hangs(&self) {
        if let Some(simulator) = &self.simulator {
            simulator.release_hangs();
        }
    }
}

impl Drop for Partner {
    fn drop(&mut self) {
        self.release_hangs();
        self.stop.cancel();
    }
}

/// A partner client for `base_url` with the configured API key.
fn client(
    settings: &PartnerSettings,
    base_url: &str,
) -> Result<Arc<dyn InventorySource>, AppError> {
    let url = base_url
        .parse()
        .map_err(|e| AppError::Partner(format!("partner URL `{base_url}`: {e}")))?;
    let mut partner = PartnerConfig::new(url);
    partner.api_key = settings.api_key.as_ref().map(|key| key.expose().to_owned());
    partner.max_hold = settings.max_hold;
    let client = PartnerClient::new(partner).map_err(|e| AppError::Partner(e.to_string()))?;
    Ok(Arc::new(client))
}
