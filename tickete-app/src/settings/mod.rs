//! Settings (SPEC §3), one struct per concern, layered with figment:
//! defaults < TOML file (`--config`) < environment < flags.
//!
//! clap reads flags and their environment variables (so `--help` documents both); figment
//! lays them over the file; serde fills the defaults and checks each value as it is read, so
//! a new setting is one field in its `…Args` group and one in its settings struct.

mod args;
mod values;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::Path;
use std::time::Duration;

use chrono_tz::Tz;
use figment::providers::{Format, Serialized, Toml};
use figment::Figment;
use serde::Deserialize;
use tickete_core::ProductId;

pub use args::{CommonArgs, FeedArgs, LogArgs, PartnerArgs, ServerArgs, StoreArgs, SyncArgs};
use values::read;
pub use values::{
    parse_products, redact_url, DatabaseUrl, PartnerTarget, Secret, DEFAULT_PARTNER_URL,
};

/// Every setting, resolved.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// Where state is kept.
    #[serde(flatten)]
    pub store: StoreSettings,
    /// The partner and its budget.
    #[serde(flatten)]
    pub partner: PartnerSettings,
    /// Catalogue seed and time zone.
    #[serde(flatten)]
    pub sync: SyncSettings,
    /// HTTP server and replica settings (the server's only).
    #[serde(flatten)]
    pub server: ServerSettings,
    /// Log output.
    #[serde(flatten)]
    pub log: LogSettings,
    /// Change feed.
    #[serde(flatten)]
    pub feed: FeedSettings,
    /// Keys no struct above took: only a config file can carry them, and they are refused.
    #[serde(flatten)]
    unknown: BTreeMap<String, figment::value::Value>,
}

/// `DATABASE_URL`.
#[derive(Debug, Clone, Deserialize)]
pub struct StoreSettings {
    /// `sqlite://…` or `postgres://…`.
    #[serde(default)]
    pub database_url: DatabaseUrl,
}

/// `TICKETE_PARTNER_*`.
#[derive(Debug, Clone, Deserialize)]
pub struct PartnerSettings {
    /// Partner base URL or the simulator.
    #[serde(default, rename = "partner_url")]
    pub target: PartnerTarget,
    /// Sent as `x-api-key`.
    #[serde(
        default,
        rename = "partner_api_key",
        deserialize_with = "read::optional_secret"
    )]
    pub api_key: Option<Secret>,
    /// Ceiling of partner calls per minute for the whole deployment.
    #[serde(
        default = "defaults::rate_per_minute",
        rename = "partner_rate_per_minute",
        deserialize_with = "read::rate_per_minute"
    )]
    pub rate_per_minute: NonZeroU32,
    /// Longest a partner 429 may hold every call; a reset further out is clamped.
    #[serde(
        default = "defaults::max_hold",
        rename = "partner_max_hold_seconds",
        deserialize_with = "read::max_hold"
    )]
    pub max_hold: Duration,
}

/// `TICKETE_PRODUCTS`, `TICKETE_TIMEZONE`, `TICKETE_SYNC_SPARE_SHARE`.
#[derive(Debug, Clone, Deserialize)]
pub struct SyncSettings {
    /// Product ids seeded into an empty catalogue.
    #[serde(default = "defaults::products", deserialize_with = "read::products")]
    pub products: Vec<ProductId>,
    /// Zone that defines "today" and cron times.
    #[serde(default = "defaults::time_zone", deserialize_with = "read::time_zone")]
    pub timezone: Tz,
    /// Share of the left-over budget spent on early refreshes (0..=1).
    #[serde(
        default = "defaults::spare_share",
        rename = "sync_spare_share",
        deserialize_with = "read::spare_share"
    )]
    pub spare_share: f64,
    /// Longest a live read waits for its partner call.
    #[serde(
        default = "defaults::live_wait",
        rename = "live_wait_ms",
        deserialize_with = "read::live_wait"
    )]
    pub live_wait: Duration,
    /// Share of the budget live reads may take in any minute (0..=1).
    #[serde(
        default = "defaults::live_share",
        rename = "live_share",
        deserialize_with = "read::live_share"
    )]
    pub live_share: f64,
    /// Live fetches one client address may cause in a minute.
    #[serde(default = "defaults::live_per_client_per_minute")]
    pub live_per_client_per_minute: u32,
}

/// The server's own settings.
#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    /// Listen address.
    #[serde(default = "defaults::bind", deserialize_with = "read::bind")]
    pub bind: SocketAddr,
    /// Admin bearer token; `None` = generate one at start.
    #[serde(default, deserialize_with = "read::optional_secret")]
    pub admin_token: Option<Secret>,
    /// Per-client limit on public routes; 0 = off.
    #[serde(default = "defaults::public_rate_per_minute")]
    pub public_rate_per_minute: u32,
    /// Identify public clients by the right-most `X-Forwarded-For` address.
    #[serde(default)]
    pub trust_forwarded_for: bool,
    /// Lease on a task claimed from the replicas' shared queue.
    #[serde(
        default = "defaults::task_lease",
        rename = "task_lease_seconds",
        deserialize_with = "read::task_lease"
    )]
    pub task_lease: Duration,
}

/// `TICKETE_LOG_FORMAT`.
#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    /// JSON lines instead of text.
    #[serde(default, rename = "log_format", deserialize_with = "read::log_format")]
    pub json: bool,
}

/// `TICKETE_WEBHOOK_ALLOW_PRIVATE`, `TICKETE_WEBHOOK_PROXY`.
#[derive(Debug, Clone, Deserialize)]
pub struct FeedSettings {
    /// Allow webhook URLs on loopback, private or link-local addresses.
    #[serde(default)]
    pub webhook_allow_private: bool,
    /// The proxy webhook deliveries go through, if one is configured for them.
    #[serde(default, deserialize_with = "read::webhook_proxy")]
    pub webhook_proxy: Option<Secret>,
}

mod defaults {
    use super::*;

    pub fn rate_per_minute() -> NonZeroU32 {
        tickete_core::engine::DEFAULT_RATE_PER_MINUTE
    }
    pub fn products() -> Vec<ProductId> {
        parse_products("14,15").expect("valid default")
    }
    pub fn time_zone() -> Tz {
        Tz::UTC
    }
    pub fn bind() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 3000))
    }
    pub fn public_rate_per_minute() -> u32 {
        300
    }
    pub fn task_lease() -> Duration {
        Duration::from_secs(120)
    }
    pub fn max_hold() -> Duration {
        Duration::from_secs(3600)
    }
    /// What the targets leave over is not wasted (SPEC §4): all of it may go to early
    /// refreshes unless an operator keeps headroom for other users of the partner key.
    pub fn spare_share() -> f64 {
        1.0
    }
    pub fn live_wait() -> Duration {
        tickete_core::engine::LiveSettings::default().wait
    }
    pub fn live_share() -> f64 {
        tickete_core::engine::LiveSettings::default().share
    }
    pub fn live_per_client_per_minute() -> u32 {
        tickete_core::engine::LiveSettings::default().per_client_per_minute
    }
}

/// A setting that could not be used; the message names it and the expected form.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SettingsError(pub String);

impl Settings {
    /// Every setting at its default.
    pub fn defaults() -> Self {
        Self::layered(None, Figment::new()).expect("the defaults are valid")
    }

    /// Lays the CLI's flags and environment over the file over the defaults.
    pub fn resolve(common: &CommonArgs) -> Result<Self, SettingsError> {
        Self::layered(common.config.as_deref(), common.figment())
    }

    /// The same for the server, whose own flags join the common ones.
    pub fn resolve_server(common: &CommonArgs, server: &ServerArgs) -> Result<Self, SettingsError> {
        let flags = common.figment().merge(Serialized::defaults(server));
        Self::layered(common.config.as_deref(), flags)
    }

    fn layered(file: Option<&Path>, flags: Figment) -> Result<Self, SettingsError> {
        let mut figment = Figment::new();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                SettingsError(format!("cannot read config file {}: {e}", path.display()))
            })?;
            figment = figment.merge(Toml::string(&text));
        }
        let settings: Settings = figment
            .merge(flags)
            .extract()
            .map_err(|e| SettingsError(describe(e, file)))?;
        if let Some(key) = settings.unknown.keys().next() {
            return Err(SettingsError(format!(
                "config file {}: unknown setting `{key}` (keys are the environment names in lower \
                 case without `TICKETE_`, e.g. `partner_rate_per_minute`)",
                file.map_or_else(|| "-".into(), |p| p.display().to_string())
            )));
        }
        Ok(settings)
    }
}

/// The first error figment found, with the file it came from.
fn describe(error: figment::Error, file: Option<&Path>) -> String {
    let message = error.kind.to_string();
    match file {
        Some(path) if error.metadata.is_some_and(|m| m.name.contains("TOML")) => {
            format!("config file {} is invalid: {message}", path.display())
        }
        _ => message,
    }
}

#[cfg(test)]
mod tests;
