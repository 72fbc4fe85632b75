//! Configuration (SPEC §3): flags > environment > TOML file (`--config`) > defaults.

use std::fmt;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;

use chrono_tz::Tz;
use clap::Args;
use serde::Deserialize;
use tickete_core::ProductId;

/// Settings as flags and environment variables; every field optional so the file and the
/// defaults can fill the gaps.
#[derive(Debug, Clone, Default, Args)]
pub struct ConfigArgs {
    /// TOML file with the same settings (keys as in the environment, lower-case, without the
    /// `TICKETE_` prefix, e.g. `partner_rate_per_minute = 30`).
    #[arg(long, env = "TICKETE_CONFIG")]
    pub config: Option<PathBuf>,
    /// `sqlite://path` (embedded, default `sqlite://tickete.db`) or `postgres://…`.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Partner base URL, or `sim` for the built-in simulator.
    #[arg(long, env = "TICKETE_PARTNER_URL")]
    pub partner_url: Option<String>,
    /// Partner API key (never logged).
    #[arg(long, env = "TICKETE_PARTNER_API_KEY", hide_env_values = true)]
    pub partner_api_key: Option<String>,
    /// Ceiling of partner calls per minute for this whole deployment.
    #[arg(long, env = "TICKETE_PARTNER_RATE_PER_MINUTE")]
    pub partner_rate_per_minute: Option<u32>,
    /// Product ids seeded into an empty catalogue, comma separated.
    #[arg(long, env = "TICKETE_PRODUCTS")]
    pub products: Option<String>,
    /// IANA time zone that defines "today" and cron times.
    #[arg(long, env = "TICKETE_TIMEZONE")]
    pub timezone: Option<String>,
    /// Address the server listens on.
    #[arg(long, env = "TICKETE_BIND")]
    pub bind: Option<String>,
    /// Admin bearer token; a random one is printed at start when unset.
    #[arg(long, env = "TICKETE_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Per-client limit on public routes, requests per minute; 0 = off.
    #[arg(long, env = "TICKETE_PUBLIC_RATE_PER_MINUTE")]
    pub public_rate_per_minute: Option<u32>,
    /// Behind a reverse proxy: key the public rate limit on the right-most
    /// `X-Forwarded-For` address (the client as the proxy saw it) instead of the peer address.
    #[arg(long, env = "TICKETE_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: Option<bool>,
    /// `json` for JSON log lines, `text` otherwise.
    #[arg(long, env = "TICKETE_LOG_FORMAT")]
    pub log_format: Option<String>,
    /// Seconds a replica may hold a claimed task before others may take it over (Postgres).
    #[arg(long, env = "TICKETE_TASK_LEASE_SECONDS")]
    pub task_lease_seconds: Option<u64>,
    /// Longest a partner 429 may hold every call, in seconds; a later reset is clamped.
    #[arg(long, env = "TICKETE_PARTNER_MAX_HOLD_SECONDS")]
    pub partner_max_hold_seconds: Option<u64>,
    /// Run against the built-in partner simulator (same as `TICKETE_PARTNER_URL=sim`).
    #[arg(long)]
    pub partner_sim: bool,
}

/// The TOML file: the same settings.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    database_url: Option<String>,
    partner_url: Option<String>,
    partner_api_key: Option<String>,
    partner_rate_per_minute: Option<u32>,
    products: Option<String>,
    timezone: Option<String>,
    bind: Option<String>,
    admin_token: Option<String>,
    public_rate_per_minute: Option<u32>,
    trust_forwarded_for: Option<bool>,
    log_format: Option<String>,
    task_lease_seconds: Option<u64>,
    partner_max_hold_seconds: Option<u64>,
}

/// Where partner data comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum PartnerTarget {
    /// The built-in simulator, started in process.
    Simulator,
    /// A partner at this base URL.
    Url(String),
}

/// Resolved settings.
#[derive(Clone)]
pub struct Config {
    /// Store URL.
    pub database_url: String,
    /// Partner.
    pub partner: PartnerTarget,
    /// Partner key.
    pub partner_api_key: Option<String>,
    /// Partner pacing ceiling.
    pub partner_rate_per_minute: NonZeroU32,
    /// Seed catalogue.
    pub products: Vec<ProductId>,
    /// Service time zone.
    pub timezone: Tz,
    /// Listen address.
    pub bind: SocketAddr,
    /// Admin token, if configured.
    pub admin_token: Option<String>,
    /// Public per-client limit; 0 = off.
    pub public_rate_per_minute: u32,
    /// Identify public clients by the right-most `X-Forwarded-For` address.
    pub trust_forwarded_for: bool,
    /// JSON logs.
    pub json_logs: bool,
    /// Lease on a claimed task in the shared (Postgres) queue.
    pub task_lease: std::time::Duration,
    /// Longest a partner 429 may hold every call (`TICKETE_PARTNER_MAX_HOLD_SECONDS`).
    pub partner_max_hold: std::time::Duration,
}

/// A setting that could not be used; the message names it and the expected form.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

const DEFAULT_PARTNER_URL: &str = "https://leap-api.tickete.co";

/// Largest `TICKETE_PARTNER_MAX_HOLD_SECONDS`: a week.
const MAX_HOLD_CEILING_SECONDS: u64 = 7 * 24 * 3600;

impl Config {
    /// Layers `args` (flags and env, as clap parsed them) over the file over the defaults.
    pub fn resolve(args: ConfigArgs) -> Result<Self, ConfigError> {
        let file = match &args.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    ConfigError(format!("cannot read config file {}: {e}", path.display()))
                })?;
                toml::from_str::<FileConfig>(&text).map_err(|e| {
                    ConfigError(format!("config file {} is invalid: {e}", path.display()))
                })?
            }
            None => FileConfig::default(),
        };
        let database_url = args
            .database_url
            .or(file.database_url)
            .unwrap_or_else(|| "sqlite://tickete.db".into());
        check_database_url(&database_url)?;
        let partner_url = args
            .partner_url
            .or(file.partner_url)
            .unwrap_or_else(|| DEFAULT_PARTNER_URL.into());
        let partner = if args.partner_sim || partner_url == "sim" {
            PartnerTarget::Simulator
        } else {
            if !(partner_url.starts_with("http://") || partner_url.starts_with("https://")) {
                return Err(ConfigError(format!(
                    "TICKETE_PARTNER_URL `{partner_url}` must be an http(s) URL or `sim`"
                )));
            }
            PartnerTarget::Url(partner_url.trim_end_matches('/').to_owned())
        };
        let rate = args
            .partner_rate_per_minute
            .or(file.partner_rate_per_minute)
            .unwrap_or(30);
        let partner_rate_per_minute = NonZeroU32::new(rate).ok_or_else(|| {
            ConfigError("TICKETE_PARTNER_RATE_PER_MINUTE must be at least 1".into())
        })?;
        let products = parse_products(&args.products.or(file.products).unwrap_or("14,15".into()))?;
        let zone = args
            .timezone
            .or(file.timezone)
            .unwrap_or_else(|| "UTC".into());
        let timezone = zone.parse::<Tz>().map_err(|_| {
            ConfigError(format!(
                "TICKETE_TIMEZONE `{zone}` is not an IANA time zone such as Asia/Singapore"
            ))
        })?;
        let bind_text = args
            .bind
            .or(file.bind)
            .unwrap_or_else(|| "127.0.0.1:3000".into());
        let bind = bind_text.parse().map_err(|_| {
            ConfigError(format!(
                "TICKETE_BIND `{bind_text}` is not an address such as 127.0.0.1:3000"
            ))
        })?;
        // An empty value (a blank line in an env file) means unset: a token is generated.
        let admin_token = args
            .admin_token
            .or(file.admin_token)
            .filter(|token| !token.trim().is_empty());
        let log_format = args.log_format.or(file.log_format);
        let lease = args
            .task_lease_seconds
            .or(file.task_lease_seconds)
            .unwrap_or(120);
        if lease < 2 {
            return Err(ConfigError(
                "TICKETE_TASK_LEASE_SECONDS must be at least 2".into(),
            ));
        }
        let max_hold = args
            .partner_max_hold_seconds
            .or(file.partner_max_hold_seconds)
            .unwrap_or(3600);
        if !(1..=MAX_HOLD_CEILING_SECONDS).contains(&max_hold) {
            return Err(ConfigError(format!(
                "TICKETE_PARTNER_MAX_HOLD_SECONDS must be from 1 to {MAX_HOLD_CEILING_SECONDS} (7 days)"
            )));
        }
        Ok(Self {
            database_url,
            partner,
            partner_api_key: args.partner_api_key.or(file.partner_api_key),
            partner_rate_per_minute,
            products,
            timezone,
            bind,
            admin_token,
            public_rate_per_minute: args
                .public_rate_per_minute
                .or(file.public_rate_per_minute)
                .unwrap_or(300),
            trust_forwarded_for: args
                .trust_forwarded_for
                .or(file.trust_forwarded_for)
                .unwrap_or(false),
            json_logs: log_format.as_deref() == Some("json"),
            task_lease: std::time::Duration::from_secs(lease),
            partner_max_hold: std::time::Duration::from_secs(max_hold),
        })
    }
}

fn check_database_url(url: &str) -> Result<(), ConfigError> {
    let known = ["sqlite:", "postgres://", "postgresql://"];
    if known.iter().any(|scheme| url.starts_with(scheme)) {
        Ok(())
    } else {
        Err(ConfigError(format!(
            "DATABASE_URL `{}` has an unsupported scheme: use sqlite://path or postgres://…",
            redact_url(url)
        )))
    }
}

fn parse_products(text: &str) -> Result<Vec<ProductId>, ConfigError> {
    text.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse::<ProductId>()
                .map_err(|e| ConfigError(format!("TICKETE_PRODUCTS: {e}")))
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

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = |value: &Option<String>| value.as_ref().map(|_| "***");
        f.debug_struct("Config")
            .field("database_url", &redact_url(&self.database_url))
            .field("partner", &self.partner)
            .field("partner_api_key", &secret(&self.partner_api_key))
            .field("partner_rate_per_minute", &self.partner_rate_per_minute)
            .field("products", &self.products)
            .field("timezone", &self.timezone)
            .field("bind", &self.bind)
            .field("admin_token", &secret(&self.admin_token))
            .field("public_rate_per_minute", &self.public_rate_per_minute)
            .field("trust_forwarded_for", &self.trust_forwarded_for)
            .field("json_logs", &self.json_logs)
            .field("task_lease", &self.task_lease)
            .field("partner_max_hold", &self.partner_max_hold)
            .finish()
    }
}

impl fmt::Debug for PartnerTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PartnerTarget::Simulator => f.write_str("simulator"),
            PartnerTarget::Url(url) => f.write_str(url),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_spec() {
        let config = Config::resolve(ConfigArgs::default()).unwrap();
        assert_eq!(config.database_url, "sqlite://tickete.db");
        assert_eq!(
            config.partner,
            PartnerTarget::Url(DEFAULT_PARTNER_URL.into())
        );
        assert_eq!(config.partner_rate_per_minute.get(), 30);
        assert_eq!(
            config.products.iter().map(|p| p.get()).collect::<Vec<_>>(),
            [14, 15]
        );
        assert_eq!(config.timezone, Tz::UTC);
        assert_eq!(config.bind.to_string(), "127.0.0.1:3000");
        assert_eq!(config.public_rate_per_minute, 300);
        assert_eq!(config.partner_max_hold.as_secs(), 3600);
    }

    #[test]
    fn the_longest_429_hold_is_configurable_within_a_week() {
        let config = Config::resolve(ConfigArgs {
            partner_max_hold_seconds: Some(600),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(config.partner_max_hold.as_secs(), 600);
        for bad in [0, 7 * 24 * 3600 + 1] {
            let error = Config::resolve(ConfigArgs {
                partner_max_hold_seconds: Some(bad),
                ..Default::default()
            })
            .unwrap_err()
            .to_string();
            assert!(
                error.contains("TICKETE_PARTNER_MAX_HOLD_SECONDS"),
                "{error}"
            );
        }
    }

    #[test]
    fn flags_beat_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tickete.toml");
        std::fs::write(
            &path,
            "partner_rate_per_minute = 12\ntimezone = \"Asia/Singapore\"\n",
        )
        .unwrap();
        let config = Config::resolve(ConfigArgs {
            config: Some(path),
            partner_rate_per_minute: Some(20),
            ..ConfigArgs::default()
        })
        .unwrap();
        assert_eq!(config.partner_rate_per_minute.get(), 20);
        assert_eq!(config.timezone.name(), "Asia/Singapore");
    }

    #[test]
    fn bad_settings_are_named() {
        let cases = [
            (
                ConfigArgs {
                    database_url: Some("mysql://x".into()),
                    ..Default::default()
                },
                "DATABASE_URL",
            ),
            (
                ConfigArgs {
                    timezone: Some("Mars/Base".into()),
                    ..Default::default()
                },
                "TICKETE_TIMEZONE",
            ),
            (
                ConfigArgs {
                    products: Some("14,abc".into()),
                    ..Default::default()
                },
                "TICKETE_PRODUCTS",
            ),
            (
                ConfigArgs {
                    partner_rate_per_minute: Some(0),
                    ..Default::default()
                },
                "RATE_PER_MINUTE",
            ),
        ];
        for (args, named) in cases {
            let error = Config::resolve(args).unwrap_err().to_string();
            assert!(error.contains(named), "{error}");
        }
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let config = Config::resolve(ConfigArgs {
            database_url: Some("postgres://app:hunter2@db/tickete".into()),
            partner_api_key: Some("partner-secret".into()),
            admin_token: Some("admin-secret".into()),
            ..Default::default()
        })
        .unwrap();
        let debug = format!("{config:?}");
        for secret in ["hunter2", "partner-secret", "admin-secret"] {
            assert!(!debug.contains(secret), "{debug}");
        }
        assert!(debug.contains("postgres://app:***@db/tickete"));
    }

    #[test]
    fn passwords_in_query_strings_are_redacted() {
        let redacted =
            redact_url("postgres://db/tickete?user=app&password=hunter2&sslmode=require");
        assert!(!redacted.contains("hunter2"), "{redacted}");
        assert!(redacted.contains("password=***") && redacted.contains("sslmode=require"));
        assert_eq!(redact_url("sqlite://tickete.db"), "sqlite://tickete.db");
    }

    #[test]
    fn an_empty_admin_token_means_generate_one() {
        let config = Config::resolve(ConfigArgs {
            admin_token: Some(String::new()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(config.admin_token, None);
        let short = Config::resolve(ConfigArgs {
            admin_token: Some("test".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(short.admin_token.as_deref(), Some("test"));
    }
}
