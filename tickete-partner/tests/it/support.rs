//! Shared helpers: fixtures, dates, a fixed clock, clients with short timeouts.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use tickete_core::Clock;
use tickete_partner::{PartnerClient, PartnerConfig};
use url::Url;

/// A captured partner response from `shared/fixtures/partner/`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../shared/fixtures/partner/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

/// `YYYY-MM-DD` → date.
pub fn date(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

/// A clock that always reads 2025-03-25 10:00:00 UTC, so rate-limit resets are exact.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(DateTime<Utc>);

impl FixedClock {
    /// The clock at 2025-03-25 10:00:00 UTC.
    pub fn new() -> Self {
        Self(Utc.with_ymd_and_hms(2025, 3, 25, 10, 0, 0).unwrap())
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
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
