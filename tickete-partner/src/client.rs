//! The partner client: one HTTP call per (product, date), classified for the engine.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::NaiveDate;
use reqwest::header::{HeaderValue, USER_AGENT};
use reqwest::StatusCode;
use tickete_core::{Clock, DaySnapshot, InventorySource, ProductId, SourceError, SystemClock};
use tracing::{debug, instrument, warn};
use url::Url;

use crate::response::{self, Redactor};

/// The partner's production base URL (SPEC §3, `TICKETE_PARTNER_URL`).
pub const DEFAULT_PARTNER_URL: &str = "https://leap-api.tickete.co";

/// Largest body accepted by default: a real day is a few KiB; 4 MiB is generous headroom.
const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// How to reach the partner.
///
/// `Debug` prints the API key as `***`, so the whole config can be logged at start.
#[derive(Clone)]
pub struct PartnerConfig {
    /// Base URL; the client appends `/api/v1/inventory/{productId}` to its path, so a base
    /// with a path prefix (a simulator mounted under `/partner-sim`) works too.
    pub base_url: Url,
    /// Sent as `x-api-key` when set.
    pub api_key: Option<String>,
    /// Limit on establishing the TCP/TLS connection.
    pub connect_timeout: Duration,
    /// Limit on the whole call, from connecting to the last byte of the body.
    pub request_timeout: Duration,
    /// Bodies larger than this are refused as invalid without being buffered.
    pub max_body_bytes: usize,
    /// Longest wait a 429 may impose (`TICKETE_PARTNER_MAX_HOLD_SECONDS`); a reset further
    /// out is clamped, so a hostile or broken answer cannot stall syncing for days.
    pub max_hold: Duration,
}

impl PartnerConfig {
    /// A config for `base_url` with the default timeouts (5 s connect, 30 s overall), no key,
    /// a 4 MiB body limit and a 429 hold of at most an hour.
    pub fn new(base_url: Url) -> Self {
        Self {
            base_url,
            api_key: None,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_hold: response::DEFAULT_MAX_HOLD,
        }
    }

    /// The same config with `api_key` sent as `x-api-key`.
    pub fn with_api_key(mut self, api_key: impl Into<String>) -> Self {
        self.api_key = Some(api_key.into());
        self
    }
}

impl Default for PartnerConfig {
    fn default() -> Self {
        Self::new(Url::parse(DEFAULT_PARTNER_URL).expect("the default partner URL is valid"))
    }
}

impl fmt::Debug for PartnerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PartnerConfig")
            .field("base_url", &self.base_url.as_str())
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("max_hold", &self.max_hold)
            .finish()
    }
}

/// Why a [`PartnerClient`] could not be built. Never contains the API key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PartnerConfigError {
    /// The base URL cannot carry a path (e.g. `mailto:`) or is not http(s).
    #[error("partner URL `{0}` must be an http:// or https:// URL")]
    BaseUrl(String),
    /// The key has characters an HTTP header cannot carry (the key itself is not shown).
    #[error("the partner API key contains characters not allowed in an HTTP header")]
    ApiKey,
    /// A timeout of zero would fail every call.
    #[error("partner {0} must be greater than zero")]
    Timeout(&'static str),
    /// The HTTP stack could not be initialised (TLS roots, …).
    #[error("cannot build the partner HTTP client: {0}")]
    Http(String),
}

/// The real partner, as an [`InventorySource`].
///
/// It never retries or paces: the engine owns the budget. Redirects are not followed (a
/// redirect to another host would otherwise carry the `x-api-key` header there).
#[derive(Clone)]
pub struct PartnerClient {
    http: reqwest::Client,
    base_url: Url,
    api_key: Option<HeaderValue>,
    redactor: Redactor,
    max_body_bytes: usize,
    max_hold: Duration,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for PartnerClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PartnerClient")
            .field("base_url", &self.base_url.as_str())
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("max_body_bytes", &self.max_body_bytes)
            .finish_non_exhaustive()
    }
}

impl PartnerClient {
    /// Builds a client from `config`, reading the time from the system clock.
    pub fn new(config: PartnerConfig) -> Result<Self, PartnerConfigError> {
        Self::with_clock(config, Arc::new(SystemClock))
    }

    /// Builds a client whose "now" (for the 60 s rate-limit fallback) comes from `clock`.
    pub fn with_clock(
        config: PartnerConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, PartnerConfigError> {
        let base_url = config.base_url;
        if !matches!(base_url.scheme(), "http" | "https") || base_url.cannot_be_a_base() {
            return Err(PartnerConfigError::BaseUrl(base_url.to_string()));
        }
        if config.connect_timeout.is_zero() {
            return Err(PartnerConfigError::Timeout("connect timeout"));
        }
        if config.request_timeout.is_zero() {
            return Err(PartnerConfigError::Timeout("request timeout"));
        }
        let api_key = config
            .api_key
            .as_deref()
            .map(|key| {
                let mut value =
                    HeaderValue::from_str(key).map_err(|_| PartnerConfigError::ApiKey)?;
                value.set_sensitive(true);
                Ok::<_, PartnerConfigError>(value)
            })
            .transpose()?;
        let user_agent = HeaderValue::from_static(concat!("tickete/", env!("CARGO_PKG_VERSION")));
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .default_headers([(USER_AGENT, user_agent)].into_iter().collect())
            .build()
            .map_err(|e| PartnerConfigError::Http(e.to_string()))?;
        Ok(Self {
            http,
            base_url,
            api_key,
            redactor: Redactor::new(config.api_key),
            max_body_bytes: config.max_body_bytes,
            max_hold: config.max_hold,
            clock,
        })
    }

    /// The URL of one inventory call: `{base}/api/v1/inventory/{product}?date={date}`.
    pub fn inventory_url(&self, product: ProductId, date: NaiveDate) -> Url {
        let mut url = self.base_url.clone();
        url.set_query(None);
        url.set_fragment(None);
        url.path_segments_mut()
            .expect("checked in the constructor: the base URL can be a base")
            .pop_if_empty()
            .extend(["api", "v1", "inventory", &product.to_string()]);
        url.query_pairs_mut()
            .append_pair("date", &date.format("%Y-%m-%d").to_string());
        url
    }

    async fn call(&self, product: ProductId, date: NaiveDate) -> Result<DaySnapshot, SourceError> {
        let mut request = self.http.get(self.inventory_url(product, date));
        if let Some(key) = &self.api_key {
            request = request.header("x-api-key", key.clone());
        }
        let response = request
            .send()
            .await
            .map_err(|e| response::transport_error(&e, &self.redactor))?;
        let status = response.status();
        match status {
            StatusCode::OK => {
                let body =
                    response::read_limited(response, self.max_body_bytes, &self.redactor).await?;
                tickete_core::validate::parse_day(&body, date).map_err(|e| {
                    SourceError::InvalidResponse(format!(
                        "{}; body starts: {}",
                        self.redactor.clean(&e.to_string()),
                        response::excerpt(&body, &self.redactor)
                    ))
                })
            }
            StatusCode::TOO_MANY_REQUESTS => {
                let reset_at =
                    response::rate_limit_reset(response, self.clock.now(), self.max_hold).await;
                Err(SourceError::RateLimited { reset_at })
            }
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                Err(SourceError::Permanent(format!(
                    "the partner refused the API key ({status}); check TICKETE_PARTNER_API_KEY"
                )))
            }
            StatusCode::REQUEST_TIMEOUT => {
                Err(SourceError::Transient(format!("partner answered {status}")))
            }
            _ => {
                let excerpt = response::body_excerpt(response, &self.redactor).await;
                let message = format!("partner answered {status}; body starts: {excerpt}");
                Err(if status.is_server_error() {
                    SourceError::Transient(message)
                } else if status == StatusCode::NOT_FOUND {
                    SourceError::UnknownProduct(message)
                } else if status.is_client_error() || status.is_redirection() {
                    SourceError::Permanent(message)
                } else {
                    SourceError::InvalidResponse(message)
                })
            }
        }
    }
}

#[async_trait]
impl InventorySource for PartnerClient {
    #[instrument(name = "partner.fetch", skip_all, fields(product = %product, date = %date))]
    async fn fetch(&self, product: ProductId, date: NaiveDate) -> Result<DaySnapshot, SourceError> {
        let started = Instant::now();
        let result = self.call(product, date).await;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match &result {
            Ok(day) => debug!(slots = day.slots.len(), elapsed_ms, "partner day fetched"),
            Err(SourceError::RateLimited { reset_at }) => {
                warn!(%reset_at, elapsed_ms, "partner rate limit hit")
            }
            Err(error) => warn!(%error, elapsed_ms, "partner fetch failed"),
        }
        result
    }
}
