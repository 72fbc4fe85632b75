//! Shared state of the HTTP handlers.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use metrics_exporter_prometheus::PrometheusHandle;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tickete_app::Actions;
use tickete_core::Engine;

use crate::cache::ReadCache;

/// Dashboard sign-in attempts a client may make a minute: enough for a mistyped token, too few
/// to guess one.
pub const SIGN_INS_PER_MINUTE: NonZeroU32 = NonZeroU32::new(10).expect("non-zero");

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<AppInner>,
}

struct AppInner {
    actions: Actions,
    cache: ReadCache,
    admin_token_digest: [u8; 32],
    metrics: PrometheusHandle,
    public_limiter: Option<DefaultKeyedRateLimiter<IpAddr>>,
    sign_in_limiter: DefaultKeyedRateLimiter<IpAddr>,
    trust_forwarded_for: bool,
    dashboard_keys: crate::dashboard::session::SessionKeys,
    /// Cancelled at shutdown: ends the event streams, which would otherwise never finish.
    streams_stop: tokio_util::sync::CancellationToken,
}

impl AppState {
    /// State over the actions of a running engine.
    pub fn new(
        actions: Actions,
        admin_token: &str,
        metrics: PrometheusHandle,
        public_rate_per_minute: u32,
        trust_forwarded_for: bool,
    ) -> Self {
        let public_limiter = NonZeroU32::new(public_rate_per_minute)
            .map(|rate| RateLimiter::keyed(Quota::per_minute(rate)));
        Self {
            inner: Arc::new(AppInner {
                actions,
                cache: ReadCache::new(std::time::Duration::from_secs(5)),
                admin_token_digest: Sha256::digest(admin_token.as_bytes()).into(),
                metrics,
                public_limiter,
                sign_in_limiter: RateLimiter::keyed(Quota::per_minute(SIGN_INS_PER_MINUTE)),
                trust_forwarded_for,
                dashboard_keys: crate::dashboard::session::SessionKeys::new(admin_token),
                streams_stop: tokio_util::sync::CancellationToken::new(),
            }),
        }
    }

    /// Cancelled when the server shuts down (event streams end on it).
    pub fn streams_stop(&self) -> &tokio_util::sync::CancellationToken {
        &self.inner.streams_stop
    }

    /// The admin actions and reads the API shares with the CLI.
    pub fn actions(&self) -> &Actions {
        &self.inner.actions
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        self.inner.actions.engine()
    }

    /// The read cache.
    pub fn cache(&self) -> &ReadCache {
        &self.inner.cache
    }

    /// Prometheus renderer.
    pub fn metrics(&self) -> &PrometheusHandle {
        &self.inner.metrics
    }

    /// Per-client limiter of public routes, when enabled.
    pub fn public_limiter(&self) -> Option<&DefaultKeyedRateLimiter<IpAddr>> {
        self.inner.public_limiter.as_ref()
    }

    /// Per-client limiter of dashboard sign-in attempts.
    pub fn sign_in_limiter(&self) -> &DefaultKeyedRateLimiter<IpAddr> {
        &self.inner.sign_in_limiter
    }

    /// Whether public clients are identified by `X-Forwarded-For`.
    pub fn trust_forwarded_for(&self) -> bool {
        self.inner.trust_forwarded_for
    }

    /// The signing keys of dashboard sessions (derived from the admin token).
    pub fn dashboard_keys(&self) -> &crate::dashboard::session::SessionKeys {
        &self.inner.dashboard_keys
    }

    /// Constant-time check of a presented admin token (digests make lengths equal).
    pub fn admin_token_matches(&self, presented: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        digest.ct_eq(&self.inner.admin_token_digest).into()
    }
}
