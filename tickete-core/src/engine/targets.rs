//! Freshness targets (SPEC §4): each (product, date) should have been fetched within the
//! shortest period among the enabled jobs whose window covers its date.
//!
//! Written once here for everything that judges freshness: the refresh policy, the status
//! figures, the metrics and the dashboard's heatmap.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use super::cron::next_tick;
use super::schedule::parse_schedule;
use crate::SyncJob;

/// One enabled job seen as a freshness target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobTarget {
    /// The job's name.
    pub job: String,
    /// Dates `[today, today + window_days)` are covered.
    pub window_days: u32,
    /// Time between two of its ticks: how old its window's data may become.
    pub period: Duration,
}

/// The targets of a set of jobs at one instant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Targets {
    jobs: Vec<JobTarget>,
}

impl Targets {
    /// The targets of the enabled jobs among `jobs`, with each job's period measured between
    /// its next two ticks after `now` in zone `tz`. Jobs whose schedule does not parse or never
    /// fires again set no target.
    pub fn of_jobs(jobs: &[SyncJob], tz: Tz, now: DateTime<Utc>) -> Self {
        let jobs = jobs
            .iter()
            .filter(|job| job.enabled && job.window_days > 0)
            .filter_map(|job| {
                Some(JobTarget {
                    job: job.name.clone(),
                    window_days: job.window_days,
                    period: schedule_period(&job.schedule, tz, now)?,
                })
            })
            .collect();
        Self { jobs }
    }

    /// The job targets, in the order the jobs were given.
    pub fn jobs(&self) -> &[JobTarget] {
        &self.jobs
    }

    /// The target of a date `days_ahead` days after today: the shortest period among the jobs
    /// whose window covers it, or `None` when no enabled job does.
    pub fn for_days_ahead(&self, days_ahead: u32) -> Option<Duration> {
        self.jobs
            .iter()
            .filter(|target| days_ahead < target.window_days)
            .map(|target| target.period)
            .min()
    }

    /// The target of `date` when today is `today`; dates before today have none.
    pub fn for_date(&self, today: NaiveDate, date: NaiveDate) -> Option<Duration> {
        let days_ahead = u32::try_from((date - today).num_days()).ok()?;
        self.for_days_ahead(days_ahead)
    }

    /// The longest window among the targets, in days (0 when there is none).
    pub fn horizon_days(&self) -> u32 {
        self.jobs
            .iter()
            .map(|target| target.window_days)
            .max()
            .unwrap_or(0)
    }
}

/// Time between the next two ticks of `schedule` after `now`.
fn schedule_period(schedule: &str, tz: Tz, now: DateTime<Utc>) -> Option<Duration> {
    let cron = parse_schedule(schedule).ok()?;
    let first = next_tick(&cron, tz, now)?;
    let second = next_tick(&cron, tz, first)?;
    Some(second - first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 10, 9, 7, 0).unwrap()
    }

    #[test]
    fn the_default_jobs_give_15_minutes_today_4_hours_this_week_a_day_this_month() {
        let targets = Targets::of_jobs(&SyncJob::defaults(), chrono_tz::UTC, now());
        assert_eq!(targets.for_days_ahead(0), Some(Duration::minutes(15)));
        assert_eq!(targets.for_days_ahead(1), Some(Duration::hours(4)));
        assert_eq!(targets.for_days_ahead(6), Some(Duration::hours(4)));
        assert_eq!(targets.for_days_ahead(7), Some(Duration::hours(24)));
        assert_eq!(targets.for_days_ahead(29), Some(Duration::hours(24)));
        assert_eq!(targets.for_days_ahead(30), None);
        assert_eq!(targets.horizon_days(), 30);
    }

    #[test]
    fn disabled_jobs_set_no_target_and_past_dates_have_none() {
        let mut jobs = SyncJob::defaults();
        jobs[0].enabled = false;
        let targets = Targets::of_jobs(&jobs, chrono_tz::UTC, now());
        let today = NaiveDate::from_ymd_opt(2026, 3, 10).unwrap();
        assert_eq!(targets.for_date(today, today), Some(Duration::hours(4)));
        assert_eq!(targets.for_date(today, today.pred_opt().unwrap()), None);
        assert_eq!(targets.jobs().len(), 2);
    }
}
