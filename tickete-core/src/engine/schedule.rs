//! Cron evaluation in the service time zone, catch-up after downtime, and the scheduler loop.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;
use tokio_util::sync::CancellationToken;

use super::upkeep::{self, SkippedTicks};
use super::{Engine, EngineError, RunRequest, MANUAL_SYNC_JOB};
use crate::domain::{RunId, RunStatus, SyncJob, Trigger};
use crate::store::StoreError;

/// A cron expression that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{expression}` is not a valid cron expression ({reason}); expected five fields such as `*/15 * * * *`")]
pub struct ScheduleError {
    /// What was given.
    pub expression: String,
    /// Why it was refused.
    pub reason: String,
}

/// Parses a five-field cron expression (minute hour day-of-month month day-of-week).
pub fn parse_schedule(expression: &str) -> Result<Cron, ScheduleError> {
    let error = |reason: String| ScheduleError {
        expression: expression.chars().take(80).collect(),
        reason,
    };
    if expression.split_whitespace().count() != 5 {
        return Err(error("it must have exactly five fields".into()));
    }
    let cron = Cron::new(expression)
        .parse()
        .map_err(|e| error(e.to_string()))?;
    // `0 0 31 2 *` parses but never fires: a job with it would silently never run.
    if cron
        .find_next_occurrence(&chrono::Utc::now(), false)
        .is_err()
    {
        return Err(error("it never fires".into()));
    }
    Ok(cron)
}

/// The first tick of `cron` strictly after `after`, in zone `tz`, with Vixie cron's rules
/// across DST changes (see [`super::cron`]): never before or at `after`, so `nextRunAt` is
/// never in the past and no instant fires twice.
pub fn next_tick(cron: &Cron, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    super::cron::next_tick(cron, tz, after)
}

/// The latest tick in `(after, now]`, if any: what a catch-up run is due for.
pub fn latest_tick_between(
    cron: &Cron,
    tz: Tz,
    after: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let mut latest = None;
    let mut cursor = after;
    // Bounded: a year of minutely ticks. Beyond that, jump close to `now` first.
    if now - cursor > chrono::Duration::days(366) {
        cursor = now - chrono::Duration::days(366);
    }
    while let Some(tick) = next_tick(cron, tz, cursor).filter(|tick| *tick <= now) {
        latest = Some(tick);
        cursor = tick;
    }
    latest
}

/// Decides which process runs a due tick.
///
/// In one process every tick is ours ([`LocalScheduler`]); replicas on Postgres claim each
/// (job, due time) once for the whole cluster.
#[async_trait]
pub trait Scheduler: Send + Sync + 'static {
    /// Claims the run of `job` due at `due_at`; true when this process should start it.
    async fn claim_tick(&self, job: &str, due_at: DateTime<Utc>) -> Result<bool, StoreError>;
}

/// Single-process scheduler: every tick is claimed (the engine refuses overlapping runs).
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalScheduler;

#[async_trait]
impl Scheduler for LocalScheduler {
    async fn claim_tick(&self, _job: &str, _due_at: DateTime<Utc>) -> Result<bool, StoreError> {
        Ok(true)
    }
}

/// Longest sleep between looks at the job table, so edits take effect within this time.
const RESCAN: Duration = Duration::from_secs(5);

/// Runs the cron loop until `shutdown`: one catch-up run per job at start (or a first fill
/// when the job never ran), then every tick of every enabled job. It also keeps the queue in
/// step with the calendar and the other processes: at start it ends the runs no process will
/// finish and re-plans them (one-off syncs too), work for dates that have passed is dropped at
/// start and at each midnight (before that midnight's ticks), and each job that missed ticks
/// while paused gets one catch-up run on resume.
pub async fn run_scheduler(
    engine: Engine,
    scheduler: Arc<dyn Scheduler>,
    shutdown: CancellationToken,
) {
    let tz = engine.config().time_zone;
    let mut pause = engine.inner.pause.subscribe();
    let mut ticker = Ticker {
        engine: &engine,
        scheduler: scheduler.as_ref(),
        skipped: SkippedTicks::default(),
    };
    let mut today = engine.today();
    engine.start_upkeep().await;
    let mut cursor = engine.clock().now();
    ticker.catch_up(cursor).await;
    loop {
        if let Err(error) = engine.inner.queue.heartbeat().await {
            tracing::warn!(%error, "could not report this process alive");
        }
        let now = engine.clock().now();
        if engine.today() != today {
            today = engine.today();
            upkeep::drop_past_dates(&engine).await;
        }
        if !ticker.skipped.is_empty() && !engine.pause_state().paused {
            ticker.resume().await;
        }
        let mut wake_at = (now + chrono::Duration::from_std(RESCAN).expect("small"))
            .min(upkeep::next_midnight(tz, now));
        match engine.store().list_jobs().await {
            Ok(jobs) => {
                for job in jobs.iter().filter(|job| job.enabled) {
                    let Ok(cron) = parse_schedule(&job.schedule) else {
                        continue;
                    };
                    if let Some(due) = latest_tick_between(&cron, tz, cursor, now) {
                        ticker.fire(job, Trigger::Schedule, due, None).await;
                    }
                    if let Some(next) = next_tick(&cron, tz, now) {
                        wake_at = wake_at.min(next);
                    }
                }
                cursor = now;
            }
            Err(error) => tracing::warn!(%error, "could not read jobs; retrying"),
        }
        let sleep = (wake_at - engine.clock().now())
            .to_std()
            .unwrap_or_default()
            + Duration::from_millis(1);
        tokio::select! {
            _ = shutdown.cancelled() => return,
            () = tokio::time::sleep(sleep) => {}
            // A resume (here or, through the store, in another process) catches up at once.
            _ = pause.changed() => {}
        }
    }
}

/// Fires ticks, remembering those skipped while paused.
struct Ticker<'a> {
    engine: &'a Engine,
    scheduler: &'a dyn Scheduler,
    skipped: SkippedTicks,
}

impl Ticker<'_> {
    /// At start: one catch-up run per enabled job that missed ticks (or never ran, or whose
    /// last run a shutdown interrupted), and the re-plan of an interrupted one-off sync.
    async fn catch_up(&mut self, now: DateTime<Utc>) {
        let engine = self.engine;
        let jobs = match engine.store().list_jobs().await {
            Ok(jobs) => jobs,
            Err(error) => {
                tracing::warn!(%error, "could not read jobs for catch-up");
                return;
            }
        };
        let tz = engine.config().time_zone;
        for job in jobs.iter().filter(|job| job.enabled) {
            let Ok(cron) = parse_schedule(&job.schedule) else {
                tracing::warn!(job = %job.name, schedule = %job.schedule, "job has an invalid schedule");
                continue;
            };
            match engine.store().last_run(&job.name).await {
                // First start: due at the latest tick (the same instant on every replica, so
                // the cluster claims it once), or now for a job that has not ticked in a week.
                Ok(None) => {
                    let week_ago = now - chrono::Duration::days(7);
                    let due = latest_tick_between(&cron, tz, week_ago, now).unwrap_or(now);
                    self.fire(job, Trigger::CatchUp, due, None).await;
                }
                // A missed tick, else the unfinished work of a run a shutdown interrupted
                // (due as it was, so what it already fetched counts as fresh and only the
                // rest is fetched).
                Ok(Some(last)) => {
                    if let Some(due) = latest_tick_between(&cron, tz, last.due_at, now) {
                        self.fire(job, Trigger::CatchUp, due, None).await;
                    } else if last.status == RunStatus::Interrupted {
                        self.fire(job, Trigger::CatchUp, last.due_at, Some(last.id))
                            .await;
                    }
                }
                Err(error) => {
                    tracing::warn!(job = %job.name, %error, "could not read the last run")
                }
            }
        }
        match engine.store().last_run(MANUAL_SYNC_JOB).await {
            Ok(Some(last)) if last.status == RunStatus::Interrupted && last.window_days > 0 => {
                let one_off = SyncJob {
                    name: MANUAL_SYNC_JOB.to_owned(),
                    schedule: String::new(),
                    window_days: last.window_days.min(super::MAX_WINDOW_DAYS),
                    enabled: true,
                };
                self.fire(&one_off, Trigger::CatchUp, last.due_at, Some(last.id))
                    .await;
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "could not read the last one-off sync"),
        }
    }

    /// Sync resumed: one catch-up run per job whose ticks were skipped while paused.
    async fn resume(&mut self) {
        for tick in self.skipped.take() {
            tracing::info!(job = %tick.job.name, due = %tick.due, "resumed: one catch-up run for what was skipped while paused");
            // A stored job is read again: it may have been edited or disabled meanwhile.
            let job = if tick.job.name == MANUAL_SYNC_JOB {
                tick.job
            } else {
                match self.engine.store().get_job(&tick.job.name).await {
                    Ok(job) if job.enabled => job,
                    Ok(_) => continue,
                    Err(error) => {
                        tracing::warn!(job = %tick.job.name, %error, "could not read the job to catch up");
                        continue;
                    }
                }
            };
            self.fire(&job, Trigger::CatchUp, tick.due, tick.replans)
                .await;
        }
    }

    /// Starts the run of `job` due at `due` if this process claims it. `replans` names the
    /// interrupted run it re-plans: each interrupted run is re-planned once in the cluster,
    /// also when the re-plan is interrupted in turn (same due time, new claim).
    async fn fire(
        &mut self,
        job: &SyncJob,
        trigger: Trigger,
        due: DateTime<Utc>,
        replans: Option<RunId>,
    ) {
        let engine = self.engine;
        if engine.pause_state().paused {
            tracing::info!(job = %job.name, %due, "tick skipped: sync is paused");
            super::record_tick(&job.name, "skipped");
            self.skipped.skipped(job, due, replans);
            return;
        }
        let claim = match replans {
            Some(run) => format!("{}#replan-{run}", job.name),
            None => job.name.clone(),
        };
        match self.scheduler.claim_tick(&claim, due).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => {
                tracing::warn!(job = %job.name, %error, "could not claim the tick");
                return;
            }
        }
        let request = RunRequest {
            due_at: Some(due),
            ..RunRequest::for_job(job, trigger)
        };
        match engine.start_run(request).await {
            Ok(_) => {}
            Err(EngineError::Paused) => {
                tracing::info!(job = %job.name, %due, "tick skipped: sync is paused");
                super::record_tick(&job.name, "skipped");
                self.skipped.skipped(job, due, replans);
            }
            Err(error) => tracing::warn!(job = %job.name, %error, "could not start the run"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    #[test]
    fn ticks_follow_the_service_time_zone() {
        let cron = parse_schedule("0 0 * * *").unwrap();
        let singapore: Tz = "Asia/Singapore".parse().unwrap();
        // Midnight in Singapore is 16:00 UTC the day before.
        let next = next_tick(&cron, singapore, utc("2026-03-01T10:00:00Z")).unwrap();
        assert_eq!(next, utc("2026-03-01T16:00:00Z"));
    }

    #[test]
    fn latest_missed_tick_is_the_one_catch_up_is_due_for() {
        let cron = parse_schedule("*/15 * * * *").unwrap();
        let latest = latest_tick_between(
            &cron,
            Tz::UTC,
            utc("2026-03-01T08:00:00Z"),
            utc("2026-03-01T10:07:00Z"),
        );
        assert_eq!(latest, Some(utc("2026-03-01T10:00:00Z")));
        let none = latest_tick_between(
            &cron,
            Tz::UTC,
            utc("2026-03-01T10:00:00Z"),
            utc("2026-03-01T10:07:00Z"),
        );
        assert_eq!(none, None);
    }

    #[test]
    fn bad_expressions_are_refused_with_the_reason() {
        for bad in [
            "",
            "* * *",
            "61 * * * *",
            "every minute",
            "* * * * * *",
            "0 0 31 2 *",
        ] {
            let error = parse_schedule(bad).unwrap_err();
            assert!(error.to_string().contains("cron"), "{error}");
        }
    }
}
