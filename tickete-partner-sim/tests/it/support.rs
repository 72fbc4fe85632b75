//! Shared helpers: dates, a hand-driven clock, clients with short timeouts, a running simulator.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use tickete_core::Clock;
use tickete_partner::{PartnerClient, PartnerConfig};
use tickete_partner_sim::{SimConfig, Simulator};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use url::Url;

/// `YYYY-MM-DD` → date.
pub fn date(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

/// A clock that moves only when told to.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    /// A clock reading 2025-03-25 10:00:00 UTC.
    pub fn new() -> Self {
        Self(Arc::new(Mutex::new(
            Utc.with_ymd_and_hms(2025, 3, 25, 10, 0, 0).unwrap(),
        )))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap();
        *now += chrono::Duration::from_std(by).unwrap();
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// A client for `base` with short timeouts.
pub fn client(base: &str, key: Option<&str>) -> PartnerClient {
    client_with(
        base,
        key,
        Duration::from_secs(5),
        Arc::new(tickete_core::SystemClock),
    )
}

/// A client for `base` with the given overall timeout and clock.
pub fn client_with(
    base: &str,
    key: Option<&str>,
    request_timeout: Duration,
    clock: Arc<dyn Clock>,
) -> PartnerClient {
    let mut config = PartnerConfig::new(Url::parse(base).unwrap());
    config.api_key = key.map(str::to_owned);
    config.connect_timeout = Duration::from_secs(2);
    config.request_timeout = request_timeout;
    PartnerClient::with_clock(config, clock).unwrap()
}

/// A simulator serving on 127.0.0.1:0 until dropped.
pub struct RunningSim {
    /// Base URL, e.g. `http://127.0.0.1:40123`.
    pub url: String,
    /// The handle, for stats and truth.
    pub sim: Simulator,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl RunningSim {
    /// Starts `config` on the system clock.
    pub async fn start(config: SimConfig) -> Self {
        Self::start_with(Simulator::new(config).unwrap()).await
    }

    /// Starts `config` on `clock`.
    pub async fn start_on(config: SimConfig, clock: &ManualClock) -> Self {
        Self::start_with(Simulator::with_clock(config, Arc::new(clock.clone())).unwrap()).await
    }

    async fn start_with(sim: Simulator) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(sim.clone().serve(listener, async move {
            let _ = rx.await;
        }));
        Self {
            url,
            sim,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// Shuts down gracefully and waits for the server to finish.
    pub async fn stop(mut self) {
        let _ = self.shutdown.take().unwrap().send(());
        let task = self.task.take().unwrap();
        tokio::time::timeout(Duration::from_secs(20), task)
            .await
            .expect("the simulator shuts down")
            .unwrap()
            .unwrap();
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A simulator config with no limit, no faults and frozen inventory.
pub fn quiet() -> SimConfig {
    SimConfig {
        rate_limit: 0,
        change_rate: 0.0,
        ..SimConfig::default()
    }
}
