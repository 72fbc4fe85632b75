//! Engine settings.

use std::num::NonZeroU32;
use std::time::Duration;

use chrono_tz::Tz;

use super::policy::PolicyKind;

/// How transient failures are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// Backoff before the second attempt; doubles each time, plus up to 100 % jitter.
    pub base_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 3,
            base_delay: Duration::from_secs(2),
        }
    }
}

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Ceiling of partner calls per minute, for the whole deployment.
    pub rate_per_minute: NonZeroU32,
    /// Zone that defines "today" and cron times.
    pub time_zone: Tz,
    /// Transient failure retries.
    pub retry: RetryPolicy,
    /// Calls that may be waiting on the partner at once (each still paced).
    pub max_in_flight: usize,
    /// A call that takes longer is a transient failure.
    pub fetch_timeout: Duration,
    /// Longest a partner 429 may hold every call (`TICKETE_PARTNER_MAX_HOLD_SECONDS`): a reset
    /// further out is clamped, so a broken or hostile answer cannot stall syncing for days.
    pub max_hold: Duration,
    /// Which refresh policy chooses the next fetch (the freshness-driven one unless a
    /// comparison asks for the previous order).
    pub policy: PolicyKind,
    /// Share (0..=1) of the budget the targets leave over that may go to early refreshes of
    /// the pairs most likely stale (`TICKETE_SYNC_SPARE_SHARE`); 0 spends only what the
    /// targets need.
    pub spare_share: f64,
    /// How live reads (a reader's max-age) may spend the budget.
    pub live: super::LiveSettings,
}

/// Default of [`EngineConfig::max_hold`] (and of the partner client's): one hour.
pub const DEFAULT_MAX_HOLD: Duration = Duration::from_secs(3600);

/// The partner's limit, and the default of [`EngineConfig::rate_per_minute`] (SPEC: about 30
/// requests a minute).
pub const DEFAULT_RATE_PER_MINUTE: NonZeroU32 = match NonZeroU32::new(30) {
    Some(rate) => rate,
    None => unreachable!(),
};

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            rate_per_minute: DEFAULT_RATE_PER_MINUTE,
            time_zone: Tz::UTC,
            retry: RetryPolicy::default(),
            max_in_flight: 4,
            fetch_timeout: Duration::from_secs(30),
            max_hold: DEFAULT_MAX_HOLD,
            policy: PolicyKind::default(),
            spare_share: 0.0,
            live: super::LiveSettings::default(),
        }
    }
}
