//! The budget and freshness parts of `GET /sync/status` (SPEC §4): what the targets need
//! of the budget and how fresh each job's window is. Field names are stable: the dashboard,
//! `tickete status` and the API show the same.

use serde::Serialize;
use tickete_core::engine::{Demand, JobFreshness};

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

/// One entry of `freshness`: a job's window now.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct JobFreshnessBody {
    /// Job name.
    pub job: String,
    /// (product, date) pairs in its window.
    pub pairs: u64,
    /// Pairs fetched within one period of the job.
    pub within_target: u64,
    /// Pairs never fetched.
    pub never_fetched: u64,
    /// 95th percentile age of the fetched pairs, in seconds (null when none was fetched).
    pub p95_age_seconds: Option<i64>,
    /// Oldest fetched pair's age, in seconds.
    pub oldest_age_seconds: Option<i64>,
}

impl From<JobFreshness> for JobFreshnessBody {
    fn from(job: JobFreshness) -> Self {
        Self {
            job: job.job,
            pairs: job.pairs,
            within_target: job.within_target,
            never_fetched: job.never_fetched,
            p95_age_seconds: job.p95_age_seconds,
            oldest_age_seconds: job.oldest_age_seconds,
        }
    }
}
