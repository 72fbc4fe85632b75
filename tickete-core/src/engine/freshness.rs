//! How fresh each job's window is now (SPEC §4 `freshness`): computed once here for the
//! status route, `tickete status`, `/metrics` and the dashboard.

use std::collections::HashMap;

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::Serialize;

use super::Targets;
use crate::domain::{DayState, ProductId};

/// One job's window (an entry of `freshness` in `GET /sync/status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct JobFreshness {
    /// Job name.
    pub job: String,
    /// (product, date) pairs in its window: enabled products × window days.
    pub pairs: u64,
    /// Pairs fetched within one period of the job.
    pub within_target: u64,
    /// Pairs never fetched.
    pub never_fetched: u64,
    /// 95th percentile of the fetched pairs' ages, in seconds (`None` when none was fetched).
    pub p95_age_seconds: Option<i64>,
    /// Oldest fetched pair's age, in seconds.
    pub oldest_age_seconds: Option<i64>,
}

/// The freshness of every job target over `products`, from the stored day states.
pub fn job_freshness(
    targets: &Targets,
    products: &[ProductId],
    states: &[DayState],
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Vec<JobFreshness> {
    let synced: HashMap<(ProductId, NaiveDate), DateTime<Utc>> = states
        .iter()
        .filter_map(|s| Some(((s.product, s.date), s.synced_at?)))
        .collect();
    targets
        .jobs()
        .iter()
        .map(|target| {
            let mut ages = Vec::new();
            let mut pairs = 0;
            for &product in products {
                for ahead in 0..u64::from(target.window_days) {
                    let Some(date) = today.checked_add_days(Days::new(ahead)) else {
                        continue;
                    };
                    pairs += 1;
                    if let Some(at) = synced.get(&(product, date)) {
                        ages.push((now - *at).num_seconds().max(0));
                    }
                }
            }
            ages.sort_unstable();
            let period = target.period.num_seconds();
            let p95 = (!ages.is_empty()).then(|| {
                let index = ((ages.len() as f64 * 0.95).ceil() as usize).clamp(1, ages.len());
                ages[index - 1]
            });
            JobFreshness {
                job: target.job.clone(),
                pairs,
                within_target: ages.iter().filter(|age| **age <= period).count() as u64,
                never_fetched: pairs - ages.len() as u64,
                p95_age_seconds: p95,
                oldest_age_seconds: ages.last().copied(),
            }
        })
        .collect()
}

/// Sets `tickete_freshness_*` gauges per job.
pub fn record_freshness(freshness: &[JobFreshness]) {
    for job in freshness {
        let name = job.job.clone();
        metrics::gauge!("tickete_freshness_pairs", "job" => name.clone()).set(job.pairs as f64);
        metrics::gauge!("tickete_freshness_within_target", "job" => name.clone())
            .set(job.within_target as f64);
        metrics::gauge!("tickete_freshness_p95_age_seconds", "job" => name.clone())
            .set(job.p95_age_seconds.unwrap_or(0) as f64);
        metrics::gauge!("tickete_freshness_oldest_age_seconds", "job" => name)
            .set(job.oldest_age_seconds.unwrap_or(0) as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SyncJob;
    use chrono::TimeZone;

    #[test]
    fn counts_pairs_within_each_jobs_period_and_ages() {
        let now = Utc.with_ymd_and_hms(2026, 3, 10, 9, 7, 0).unwrap();
        let today = now.date_naive();
        let targets = Targets::of_jobs(&SyncJob::defaults(), chrono_tz::UTC, now);
        let p = ProductId::new(1).unwrap();
        let state = |ahead: u64, minutes: i64| DayState {
            product: p,
            date: today + Days::new(ahead),
            synced_at: Some(now - chrono::Duration::minutes(minutes)),
            hash: None,
            last_error: None,
        };
        let states = vec![state(0, 10), state(1, 300), state(2, 60)];
        let report = job_freshness(&targets, &[p], &states, today, now);
        let today_job = &report[0];
        assert_eq!((today_job.pairs, today_job.within_target), (1, 1));
        assert_eq!(today_job.p95_age_seconds, Some(600));
        let week = &report[1];
        assert_eq!(
            (week.pairs, week.within_target, week.never_fetched),
            (7, 2, 4)
        );
        assert_eq!(week.oldest_age_seconds, Some(300 * 60));
        let month = &report[2];
        assert_eq!((month.pairs, month.within_target), (30, 3));
    }
}
