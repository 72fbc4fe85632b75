//! The budget and freshness parts of `GET /sync/status` (SPEC §4): what the targets need
//! of the budget and how fresh each job's window is. Field names are stable: the dashboard,
//! `tickete status` and the API show the same.

use serde::Serialize;
use tickete_core::engine::Demand;

/// One entry of `freshness`: a job's window now.
pub use tickete_core::engine::JobFreshness as JobFreshnessBody;

/// `demand`: what the freshness targets need at the learnt rates.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DemandBody {
    /// Partner calls a minute the targets need.
    pub calls_per_minute: f64,
    /// That over the budget; above 1 the budget cannot hold every target.
    pub budget_share: f64,
}

impl DemandBody {
    /// What the targets need plus the live fetches of the last minute, against `rate`.
    pub fn with_live(demand: Demand, live_per_minute: usize, rate_per_minute: u32) -> Self {
        // Two decimals are all an operator reads; the raw figure is in /metrics.
        let round = |x: f64| (x * 100.0).round() / 100.0;
        let calls = demand.calls_per_minute + live_per_minute as f64;
        Self {
            calls_per_minute: round(calls),
            budget_share: round(calls / f64::from(rate_per_minute.max(1))),
        }
    }
}

/// `live`: what live reads (a reader's max-age) spend, and may spend, of the budget.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LiveBody {
    /// Live fetches started in the last minute (counted in `demand` too).
    pub fetches_last_minute: usize,
    /// Most live fetches a minute may take (`TICKETE_LIVE_SHARE` of the rate).
    pub max_per_minute: u32,
    /// Most live fetches one client address may cause a minute.
    pub per_client_per_minute: u32,
    /// Longest a live read waits for its call, in milliseconds.
    pub wait_ms: u64,
}
