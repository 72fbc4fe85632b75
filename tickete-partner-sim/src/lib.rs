//! # tickete-partner-sim
//!
//! A partner simulator faithful enough to run tickete, its end-to-end tests and its benches
//! without a partner key: an axum router ([`Simulator::router`], [`simulator_router`]) and a
//! server ([`serve`], [`Simulator::serve`]) that answer with the partner's exact shape (SPEC
//! §1), enforce its rate limit, change their inventory over time and inject faults on demand.
//! [`SimArgs`] are the flags of `tickete partner-sim`. The client is `tickete-partner`; it is
//! kept apart so that the client carries no web server or command-line parser.
//!
//! Routes:
//! - `GET /api/v1/inventory/{productId}?date=YYYY-MM-DD`: the partner route (SPEC §1), with
//!   its rate limit, key check and fault injection. Product ids `1..=products` exist; any
//!   other id answers **404** `{"statusCode":404,"error":"Not Found","message":…}` (which
//!   the client classifies as permanent). A malformed id or date answers 400.
//! - `GET /__sim/stats[?product=N]`: [`SimStats`] as JSON.
//! - `GET /__sim/inventory/{productId}?date=`: the current truthful answer for a day, outside
//!   the rate limit and faults, for end-to-end tests to compare with.
//!
//! The rate limit is a fixed window shared by every caller (as if all used one key): it
//! opens on the first request after the previous window ended, admits `rate_limit` requests,
//! and answers the rest 429 with `{"rateLimitState":{"reset":<epoch ms>}}` and `Retry-After`
//! (seconds) until it resets. Checks run in the order key (401), limit (429), request shape
//! (400), product (404), then injected faults, so every request counts against the budget
//! once its key is accepted.
//!
//! Everything is deterministic given the seed and the time elapsed since the simulator
//! started (see [`SimConfig::change_rate`]); faults follow a seeded stream in request order.

mod args;
mod catalog;
mod changes;
mod limiter;
mod rng;
mod routes;
mod stats;

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use chrono::{DateTime, NaiveDate, Utc};
use tickete_core::validate::RawSlot;
use tickete_core::{Clock, ProductId, SystemClock};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use args::SimArgs;
pub use stats::{DayStats, SimStats};

use catalog::{day_key, Profile};
use changes::DayState;
use limiter::{FixedWindow, SlidingMax};
use rng::Rng;

/// How the simulated partner behaves.
///
/// `Debug` prints the API key as `***`.
#[derive(Clone)]
pub struct SimConfig {
    /// Products `1..=products` exist (default 20, so 14 and 15 do).
    pub products: u32,
    /// Seed of the inventory and of the fault stream.
    pub seed: u64,
    /// Requests admitted per window; 0 turns the limit off (default 30).
    pub rate_limit: u32,
    /// Length of the rate-limit window (default 60 s).
    pub window: Duration,
    /// When set, requests without this `x-api-key` get 401.
    pub api_key: Option<String>,
    /// Probability per request of a 5xx answer.
    pub error_rate: f64,
    /// Added before every answer on the partner route.
    pub latency: Duration,
    /// Probability per request of hanging (no answer until `hang_for` or shutdown).
    pub timeout_rate: f64,
    /// Probability per request of a 200 with a malformed body.
    pub malformed_rate: f64,
    /// Mean inventory changes per (product, date) per hour (default 4; 0 freezes inventory).
    pub change_rate: f64,
    /// How long a hanging request hangs before it answers 504 (default 300 s).
    pub hang_for: Duration,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            products: 20,
            seed: 42,
            rate_limit: 30,
            window: Duration::from_secs(60),
            api_key: None,
            error_rate: 0.0,
            latency: Duration::ZERO,
            timeout_rate: 0.0,
            malformed_rate: 0.0,
            change_rate: 4.0,
            hang_for: Duration::from_secs(300),
        }
    }
}

impl fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimConfig")
            .field("products", &self.products)
            .field("seed", &self.seed)
            .field("rate_limit", &self.rate_limit)
            .field("window", &self.window)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("error_rate", &self.error_rate)
            .field("latency", &self.latency)
            .field("timeout_rate", &self.timeout_rate)
            .field("malformed_rate", &self.malformed_rate)
            .field("change_rate", &self.change_rate)
            .field("hang_for", &self.hang_for)
            .finish()
    }
}

/// A [`SimConfig`] that cannot work.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid partner simulator config: {0}")]
pub struct SimConfigError(pub String);

impl SimConfig {
    /// Checks ranges: rates in `[0, 1]` summing to at most 1, a positive window and product
    /// count, a non-negative change rate.
    pub fn validate(&self) -> Result<(), SimConfigError> {
        let rates = [
            ("error rate", self.error_rate),
            ("timeout rate", self.timeout_rate),
            ("malformed rate", self.malformed_rate),
        ];
        for (name, rate) in rates {
            if !(0.0..=1.0).contains(&rate) {
                return Err(SimConfigError(format!("{name} {rate} is not in [0, 1]")));
            }
        }
        if self.error_rate + self.timeout_rate + self.malformed_rate > 1.0 + 1e-9 {
            return Err(SimConfigError(
                "error, timeout and malformed rates add up to more than 1".into(),
            ));
        }
        if self.products == 0 {
            return Err(SimConfigError("products must be at least 1".into()));
        }
        if self.window.as_millis() == 0 {
            return Err(SimConfigError(
                "the rate-limit window must be positive".into(),
            ));
        }
        if !(self.change_rate >= 0.0 && self.change_rate.is_finite()) {
            return Err(SimConfigError(format!(
                "change rate {} must be a finite number ≥ 0",
                self.change_rate
            )));
        }
        Ok(())
    }
}

/// The simulator: build it, mount [`Simulator::router`], read it from tests.
///
/// Cloning is cheap and every clone sees the same state.
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
}

struct Inner {
    config: SimConfig,
    clock: Arc<dyn Clock>,
    started_at: DateTime<Utc>,
    hangs: CancellationToken,
    state: Mutex<State>,
}

struct State {
    days: HashMap<(u32, NaiveDate), DayState>,
    limiter: FixedWindow,
    per_minute: SlidingMax,
    per_window: SlidingMax,
    faults: Rng,
    counters: stats::Counters,
}

impl fmt::Debug for Simulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Simulator")
            .field("config", &self.inner.config)
            .field("started_at", &self.inner.started_at)
            .finish_non_exhaustive()
    }
}

impl Simulator {
    /// A simulator on the system clock, started now.
    pub fn new(config: SimConfig) -> Result<Self, SimConfigError> {
        Self::with_clock(config, Arc::new(SystemClock))
    }

    /// A simulator reading time from `clock`, started at `clock.now()`.
    pub fn with_clock(config: SimConfig, clock: Arc<dyn Clock>) -> Result<Self, SimConfigError> {
        config.validate()?;
        let window_ms = config.window.as_millis().min(i64::MAX as u128) as i64;
        let state = State {
            days: HashMap::new(),
            limiter: FixedWindow::new(config.rate_limit, window_ms),
            per_minute: SlidingMax::new(60_000),
            per_window: SlidingMax::new(window_ms),
            faults: Rng::new(&[config.seed, 0x0046_4155_4c54]),
            counters: stats::Counters::default(),
        };
        Ok(Self {
            inner: Arc::new(Inner {
                started_at: clock.now(),
                clock,
                config,
                hangs: CancellationToken::new(),
                state: Mutex::new(state),
            }),
        })
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &SimConfig {
        &self.inner.config
    }

    /// When it started; inventory changes are timed from here.
    pub fn started_at(&self) -> DateTime<Utc> {
        self.inner.started_at
    }

    /// The axum router serving the partner route and the `/__sim` routes.
    pub fn router(&self) -> Router {
        routes::router(self.clone())
    }

    /// Whether `product` exists in this simulator.
    pub fn has_product(&self, product: ProductId) -> bool {
        product.get() <= self.inner.config.products
    }

    /// The current truthful answer for (product, date), exactly what a successful partner
    /// call would serialise now; `None` for an unknown product.
    pub fn day(&self, product: ProductId, date: NaiveDate) -> Option<Vec<RawSlot>> {
        self.with_day(product, date, |day| day.slots.clone())
    }

    /// When the answer for (product, date) last changed (`None`: never since start, or an
    /// unknown product).
    pub fn last_change(&self, product: ProductId, date: NaiveDate) -> Option<DateTime<Utc>> {
        self.with_day(product, date, |day| day.last_change_ms)
            .flatten()
            .map(|ms| self.at(ms))
    }

    /// Counters, traffic maxima and per-day change times, as the stats route reports them.
    pub fn stats(&self) -> SimStats {
        self.stats_filtered(None)
    }

    /// Ends every hanging request and pending latency now (hangs answer 504), and makes
    /// later ones end at once: this is one-way. Shutdown through [`Simulator::serve`] does it.
    pub fn release_hangs(&self) {
        self.inner.hangs.cancel();
    }

    /// Serves the simulator on `listener` until `shutdown` resolves; hanging requests are
    /// released at shutdown so the graceful drain finishes.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let hangs = self.inner.hangs.clone();
        let address = listener.local_addr()?;
        tracing::info!(%address, config = ?self.inner.config, "partner simulator listening");
        axum::serve(listener, self.router())
            .with_graceful_shutdown(async move {
                shutdown.await;
                hangs.cancel();
            })
            .await
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the counters unusable for a simulator.
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn now_ms(&self) -> i64 {
        (self.inner.clock.now() - self.inner.started_at)
            .num_milliseconds()
            .max(0)
    }

    fn at(&self, ms_since_start: i64) -> DateTime<Utc> {
        self.inner.started_at + chrono::Duration::milliseconds(ms_since_start)
    }

    fn with_day<T>(
        &self,
        product: ProductId,
        date: NaiveDate,
        read: impl FnOnce(&mut DayState) -> T,
    ) -> Option<T> {
        if !self.has_product(product) {
            return None;
        }
        let now = self.now_ms();
        let mut state = self.lock();
        Some(read(self.day_state(&mut state, product.get(), date, now)))
    }

    fn day_state<'s>(
        &self,
        state: &'s mut State,
        product: u32,
        date: NaiveDate,
        now_ms: i64,
    ) -> &'s mut DayState {
        let config = &self.inner.config;
        let key = day_key(config.seed, product, date);
        let profile = Profile::for_product(config.seed, product);
        let day = state.days.entry((product, date)).or_insert_with(|| {
            DayState::new(profile.base_day(config.seed, date), key, config.change_rate)
        });
        day.advance(now_ms, key, config.change_rate, &profile);
        day
    }
}

/// Builds a simulator and its router: mount the router (e.g. under `/partner-sim`), keep the
/// handle to read stats.
pub fn simulator_router(config: SimConfig) -> Result<(Router, Simulator), SimConfigError> {
    let simulator = Simulator::new(config)?;
    Ok((simulator.router(), simulator))
}

/// Why [`serve`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum SimServeError {
    /// The configuration was refused before serving.
    #[error(transparent)]
    Config(#[from] SimConfigError),
    /// The listener failed.
    #[error("partner simulator I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// Runs a simulator built from `config` on `listener` until `shutdown` resolves.
pub async fn serve(
    config: SimConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), SimServeError> {
    Simulator::new(config)?.serve(listener, shutdown).await?;
    Ok(())
}
