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

impl From<Demand> for DemandBody {
    fn from(demand: Demand) -> Self {
        // Two decimals are all an operator reads; the raw figure is in /metrics.
        let round = |x: f64| (x * 100.0).round() / 100.0;
        Self {
            calls_per_minute: round(demand.calls_per_minute),
            budget_share: round(demand.budget_share),
        }
    }
}
