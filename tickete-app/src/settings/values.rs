//! Setting values that check themselves when read, and secrets that never print.

use std::fmt;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use chrono_tz::Tz;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use tickete_core::ProductId;

/// The partner the binaries use when none is configured.
pub use tickete_partner::DEFAULT_PARTNER_URL;

/// A secret (API key, admin token): `Debug` prints `***`, so no log line can carry it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// `DATABASE_URL`: `sqlite://…` or `postgres://…`; `Debug` and `Display` hide any password.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// Checks the scheme.
    pub fn parse(url: &str) -> Result<Self, String> {
        let known = ["sqlite:", "postgres://", "postgresql://"];
        if known.iter().any(|scheme| url.starts_with(scheme)) {
            Ok(Self(url.to_owned()))
        } else {
            Err(format!(
                "DATABASE_URL `{}` has an unsupported scheme: use sqlite://path or postgres://…",
                redact_url(url)
            ))
        }
    }

    /// Whether it names a Postgres store (the one replicas can share).
    pub fn is_postgres(&self) -> bool {
        self.0.starts_with("postgres://") || self.0.starts_with("postgresql://")
    }

    /// The URL with its password, for the driver only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl Default for DatabaseUrl {
    fn default() -> Self {
        Self("sqlite://tickete.db".into())
    }
}

impl<'de> Deserialize<'de> for DatabaseUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::parse(&String::deserialize(deserializer)?).map_err(D::Error::custom)
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}

/// Where partner data comes from (`TICKETE_PARTNER_URL`; `sim` = the built-in simulator).
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub enum PartnerTarget {
    /// The built-in simulator, started in process on a loopback port.
    Simulator,
    /// A partner at this base URL (no trailing slash).
    Url(String),
}

impl PartnerTarget {
    /// Reads `sim` or an http(s) URL.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text == "sim" {
            return Ok(Self::Simulator);
        }
        if !(text.starts_with("http://") || text.starts_with("https://")) {
            return Err(format!(
                "TICKETE_PARTNER_URL `{text}` must be an http(s) URL or `sim`"
            ));
        }
        url::Url::parse(text)
            .map_err(|e| format!("TICKETE_PARTNER_URL `{text}` is not a URL: {e}"))?;
        Ok(Self::Url(text.trim_end_matches('/').to_owned()))
    }
}

impl Default for PartnerTarget {
    fn default() -> Self {
        Self::Url(DEFAULT_PARTNER_URL.into())
    }
}

impl From<PartnerTarget> for String {
    fn from(target: PartnerTarget) -> Self {
        match target {
            PartnerTarget::Simulator => "sim".into(),
            PartnerTarget::Url(url) => url,
        }
    }
}

impl<'de> Deserialize<'de> for PartnerTarget {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::parse(&String::deserialize(deserializer)?).map_err(D::Error::custom)
    }
}

impl fmt::Debug for PartnerTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Simulator => f.write_str("simulator"),
            Self::Url(url) => f.write_str(url),
        }
    }
}

/// Field readers that name the setting in their error.
pub(crate) mod read {
    use super::*;

    pub fn rate_per_minute<'de, D: Deserializer<'de>>(d: D) -> Result<NonZeroU32, D::Error> {
        NonZeroU32::new(u32::deserialize(d)?)
            .ok_or_else(|| D::Error::custom("TICKETE_PARTNER_RATE_PER_MINUTE must be at least 1"))
    }

    pub fn time_zone<'de, D: Deserializer<'de>>(d: D) -> Result<Tz, D::Error> {
        let zone = String::deserialize(d)?;
        zone.parse().map_err(|_| {
            D::Error::custom(format!(
                "TICKETE_TIMEZONE `{zone}` is not an IANA time zone such as Asia/Singapore"
            ))
        })
    }

    pub fn spare_share<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        let share = f64::deserialize(d)?;
        if !(0.0..=1.0).contains(&share) {
            return Err(D::Error::custom(format!(
                "TICKETE_SYNC_SPARE_SHARE {share} must be a share between 0 and 1 (0.25: a \
                 quarter of the budget the targets leave over)"
            )));
        }
        Ok(share)
    }

    pub fn products<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<ProductId>, D::Error> {
        parse_products(&String::deserialize(d)?).map_err(D::Error::custom)
    }

    pub fn bind<'de, D: Deserializer<'de>>(d: D) -> Result<SocketAddr, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(|_| {
            D::Error::custom(format!(
                "TICKETE_BIND `{text}` is not an address such as 127.0.0.1:3000"
            ))
        })
    }

    /// An http(s) proxy URL (it may hold credentials, so it is kept as a secret); empty
    /// means none.
    pub fn webhook_proxy<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
        let Some(text) = Option::<String>::deserialize(d)?.filter(|v| !v.trim().is_empty()) else {
            return Ok(None);
        };
        let shown = redact_url(&text);
        let url = url::Url::parse(&text).map_err(|e| {
            D::Error::custom(format!("TICKETE_WEBHOOK_PROXY `{shown}` is not a URL: {e}"))
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(D::Error::custom(format!(
                "TICKETE_WEBHOOK_PROXY `{shown}` must be an http(s) URL with a host, such as \
                 http://proxy.internal:3128"
            )));
        }
        Ok(Some(Secret(text)))
    }

    /// An empty value (a blank line in an env file) means unset.
    pub fn optional_secret<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
        Ok(Option::<String>::deserialize(d)?
            .filter(|value| !value.trim().is_empty())
            .map(Secret))
    }

    pub fn live_wait<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let millis = u64::deserialize(d)?;
        if millis > 30_000 {
            return Err(D::Error::custom(format!(
                "TICKETE_LIVE_WAIT_MS {millis} must be from 0 to 30000 (milliseconds)"
            )));
        }
        Ok(Duration::from_millis(millis))
    }

    pub fn live_share<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        let share = f64::deserialize(d)?;
        if !(0.0..=1.0).contains(&share) {
            return Err(D::Error::custom(format!(
                "TICKETE_LIVE_SHARE {share} must be a share between 0 and 1 (0.5: half the \
                 partner budget in any minute)"
            )));
        }
        Ok(share)
    }

    pub fn task_lease<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let seconds = u64::deserialize(d)?;
        if seconds < 2 {
            return Err(D::Error::custom(
                "TICKETE_TASK_LEASE_SECONDS must be at least 2",
            ));
        }
        Ok(Duration::from_secs(seconds))
    }

    pub fn max_hold<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        const WEEK: u64 = 7 * 24 * 3600;
        let seconds = u64::deserialize(d)?;
        if !(1..=WEEK).contains(&seconds) {
            return Err(D::Error::custom(format!(
                "TICKETE_PARTNER_MAX_HOLD_SECONDS must be from 1 to {WEEK} (7 days)"
            )));
        }
        Ok(Duration::from_secs(seconds))
    }

    pub fn log_format<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        match String::deserialize(d)?.as_str() {
            "json" => Ok(true),
            "text" => Ok(false),
            other => Err(D::Error::custom(format!(
                "TICKETE_LOG_FORMAT `{other}` must be `text` or `json`"
            ))),
        }
    }
}

/// `14,15` → product ids; the error names `TICKETE_PRODUCTS`.
pub fn parse_products(text: &str) -> Result<Vec<ProductId>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse::<ProductId>()
                .map_err(|e| format!("TICKETE_PRODUCTS: {e}"))
        })
        .collect()
}

/// The URL with any password (user info or `password=` query parameter) replaced by `***`.
pub fn redact_url(text: &str) -> String {
    let Ok(mut url) = url::Url::parse(text) else {
        // Not a URL we can take apart: keep only what cannot hold a secret.
        return match text.find("://") {
            Some(scheme_end) if text.contains('@') => format!("{}***", &text[..scheme_end + 3]),
            _ => text.to_owned(),
        };
    };
    if url.password().is_some() {
        let _ = url.set_password(Some("***"));
    }
    let has_secret_param = url
        .query_pairs()
        .any(|(key, _)| key.eq_ignore_ascii_case("password"));
    if has_secret_param {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(key, value)| {
                let value = if key.eq_ignore_ascii_case("password") {
                    "***".to_owned()
                } else {
                    value.into_owned()
                };
                (key.into_owned(), value)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string().replace("%2A%2A%2A", "***")
}
