//! Flags and environment variables, one group per concern; a binary flattens the groups it
//! uses, so its `--help` lists only those. Unset flags are left out of the figment layer.

use std::path::PathBuf;

use clap::Args;
use figment::providers::Serialized;
use figment::Figment;
use serde::Serialize;

/// The groups both binaries take, and the config file.
#[derive(Debug, Clone, Default, Args)]
pub struct CommonArgs {
    /// TOML file with the same settings (keys as in the environment, lower-case, without the
    /// `TICKETE_` prefix, e.g. `partner_rate_per_minute = 30`).
    #[arg(long, env = "TICKETE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Store.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Partner.
    #[command(flatten)]
    pub partner: PartnerArgs,
    /// Catalogue seed and time zone.
    #[command(flatten)]
    pub sync: SyncArgs,
    /// Logs.
    #[command(flatten)]
    pub log: LogArgs,
    /// Change feed.
    #[command(flatten)]
    pub feed: FeedArgs,
}

impl CommonArgs {
    /// The flags that were given, as one figment layer.
    pub(crate) fn figment(&self) -> Figment {
        let mut figment = Figment::new()
            .merge(Serialized::defaults(&self.store))
            .merge(Serialized::defaults(&self.partner))
            .merge(Serialized::defaults(&self.sync))
            .merge(Serialized::defaults(&self.log))
            .merge(Serialized::defaults(&self.feed));
        if self.partner.partner_sim {
            figment = figment.merge(Serialized::default("partner_url", "sim"));
        }
        figment
    }
}

/// `DATABASE_URL`.
#[derive(Debug, Clone, Default, Args, Serialize)]
pub struct StoreArgs {
    /// `sqlite://path` (embedded, default `sqlite://tickete.db`) or `postgres://…`.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
}

/// `TICKETE_PARTNER_*`.
#[derive(Debug, Clone, Default, Args, Serialize)]
pub struct PartnerArgs {
    /// Partner base URL, or `sim` for the built-in simulator.
    #[arg(long, env = "TICKETE_PARTNER_URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner_url: Option<String>,
    /// Partner API key (never logged).
    #[arg(long, env = "TICKETE_PARTNER_API_KEY", hide_env_values = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner_api_key: Option<String>,
    /// Ceiling of partner calls per minute for this whole deployment.
    #[arg(long, env = "TICKETE_PARTNER_RATE_PER_MINUTE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner_rate_per_minute: Option<u32>,
    /// Longest a partner 429 may hold every call, in seconds; a later reset is clamped.
    #[arg(long, env = "TICKETE_PARTNER_MAX_HOLD_SECONDS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner_max_hold_seconds: Option<u64>,
    /// Run against the built-in partner simulator (same as `TICKETE_PARTNER_URL=sim`).
    #[arg(long)]
    #[serde(skip)]
    pub partner_sim: bool,
}

/// `TICKETE_PRODUCTS`, `TICKETE_TIMEZONE`, `TICKETE_SYNC_SPARE_SHARE`, `TICKETE_LIVE_*`.
#[derive(Debug, Clone, Default, Args, Serialize)]
pub struct SyncArgs {
    /// Product ids seeded into an empty catalogue, comma separated.
    #[arg(long, env = "TICKETE_PRODUCTS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub products: Option<String>,
    /// IANA time zone that defines "today" and cron times.
    #[arg(long, env = "TICKETE_TIMEZONE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Share (0..1) of the budget left over by the freshness targets that may go to early
    /// refreshes of the pairs most likely stale; 0 spends no more calls than the targets need.
    #[arg(long, env = "TICKETE_SYNC_SPARE_SHARE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_spare_share: Option<f64>,
    /// Longest a live read (a reader's max-age) waits for its partner call, in milliseconds.
    #[arg(long, env = "TICKETE_LIVE_WAIT_MS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live_wait_ms: Option<u64>,
    /// Share (0..1) of the partner budget live reads may take in any minute.
    #[arg(long, env = "TICKETE_LIVE_SHARE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live_share: Option<f64>,
    /// Live fetches one client address may cause in a minute.
    #[arg(long, env = "TICKETE_LIVE_PER_CLIENT_PER_MINUTE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live_per_client_per_minute: Option<u32>,
}

/// `TICKETE_LOG_FORMAT`.
#[derive(Debug, Clone, Default, Args, Serialize)]
pub struct LogArgs {
    /// `json` for JSON log lines, `text` otherwise.
    #[arg(long, env = "TICKETE_LOG_FORMAT")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<String>,
}

/// `TICKETE_WEBHOOK_ALLOW_PRIVATE`, `TICKETE_WEBHOOK_PROXY`.
#[derive(Debug, Clone, Default, Args, Serialize)]
pub struct FeedArgs {
    /// Allow webhook URLs on loopback, private or link-local addresses (checked on the
    /// resolved address).
    #[arg(long, env = "TICKETE_WEBHOOK_ALLOW_PRIVATE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_allow_private: Option<bool>,
    /// Send webhook deliveries through this http(s) proxy (default: none; the system's
    /// HTTPS_PROXY and the like are never used for webhooks). Targets are still checked.
    #[arg(long, env = "TICKETE_WEBHOOK_PROXY")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_proxy: Option<String>,
}

/// The server's own settings.
#[derive(Debug, Clone, Default, Args, Serialize)]
pub struct ServerArgs {
    /// Address the server listens on.
    #[arg(long, env = "TICKETE_BIND")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<String>,
    /// Admin bearer token; a random one is printed at start when unset.
    #[arg(long, env = "TICKETE_ADMIN_TOKEN", hide_env_values = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_token: Option<String>,
    /// Per-client limit on public routes, requests per minute; 0 = off.
    #[arg(long, env = "TICKETE_PUBLIC_RATE_PER_MINUTE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_rate_per_minute: Option<u32>,
    /// Behind a reverse proxy: key the public rate limit on the right-most
    /// `X-Forwarded-For` address (the client as the proxy saw it) instead of the peer address.
    #[arg(long, env = "TICKETE_TRUST_FORWARDED_FOR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_forwarded_for: Option<bool>,
    /// Seconds a replica may hold a claimed task before others may take it over (Postgres).
    #[arg(long, env = "TICKETE_TASK_LEASE_SECONDS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_lease_seconds: Option<u64>,
}
