//! Cron evaluation in the service time zone, catch-up after downtime, and the scheduler loop.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;
use tokio_util::sync::CancellationToken;

use super::upkeep::{self, SkippedTicks};
use super::{Engine, EngineError, RunRequest};
use crate::domain::{NewRun, RunStatus, SyncJob, SyncRun, Trigger};
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
/// step with the calendar and the other processes: every few seconds it rescues the runs of
/// processes that are gone and re-plans interrupted runs with their own scope (one-off syncs
/// too; see [`Engine::rescue_orphaned_runs`] and [`Engine::replan_interrupted`]), work for
/// dates that have passed is dropped at start and at each midnight (before that midnight's
/// ticks), ticks skipped while paused are recorded in the run log, and each job that missed
/// ticks while paused gets one catch-up run on resume.
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
        look_after_orphans(&engine).await;
        let mut wake_at = (now + chrono::Duration::from_std(RESCAN).expect("small"))
            .min(upkeep::next_midnight(tz, now));
        match engine.store().list_jobs().await {
            Ok(jobs) => {
                for job in jobs.iter().filter(|job| job.enabled) {
                    let Ok(cron) = parse_schedule(&job.schedule) else {
                        continue;
                    };
                    if let Some(due) = latest_tick_between(&cron, tz, cursor, now) {
                        ticker.fire(job, Trigger::Schedule, due).await;
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
    /// last ticks were skipped while paused). Interrupted runs are re-planned by
    /// [`look_after_orphans`], with their own scope.
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
                    self.fire(job, Trigger::CatchUp, due).await;
                }
                // A missed tick, or ticks skipped while paused before a restart.
                Ok(Some(last)) => {
                    let latest = latest_tick_between(&cron, tz, last.due_at, now);
                    let skipped = (last.status == RunStatus::Skipped).then_some(last.due_at);
                    if let Some(due) = latest.or(skipped) {
                        self.fire(job, Trigger::CatchUp, due).await;
                    }
                }
                Err(error) => {
                    tracing::warn!(job = %job.name, %error, "could not read the last run")
                }
            }
        }
    }

    /// Sync resumed: one catch-up run per job whose ticks were skipped while paused.
    async fn resume(&mut self) {
        for tick in self.skipped.take() {
            tracing::info!(job = %tick.job.name, due = %tick.due, "resumed: one catch-up run for what was skipped while paused");
            // A stored job is read again: it may have been edited or disabled meanwhile.
            let job = match self.engine.store().get_job(&tick.job.name).await {
                Ok(job) if job.enabled => job,
                Ok(job) => {
                    self.note_on_skipped(&job, "job disabled before the resume; not caught up")
                        .await;
                    continue;
                }
                Err(error) => {
                    tracing::warn!(job = %tick.job.name, %error, "could not read the job to catch up");
                    continue;
                }
            };
            self.fire(&job, Trigger::CatchUp, tick.due).await;
        }
    }

    /// Starts the run of `job` due at `due` if this process claims it.
    async fn fire(&mut self, job: &SyncJob, trigger: Trigger, due: DateTime<Utc>) {
        let engine = self.engine;
        if engine.pause_state().paused {
            self.skip(job, due).await;
            return;
        }
        match self.scheduler.claim_tick(&job.name, due).await {
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
            Err(EngineError::Paused) => self.skip(job, due).await,
            Err(error) => tracing::warn!(job = %job.name, %error, "could not start the run"),
        }
    }
}

impl Ticker<'_> {
    /// A tick not run because sync is paused: remembered for one catch-up at resume, counted
    /// in `/metrics`, and recorded in the run log (once in the cluster), where consecutive
    /// skipped ticks of a job share one `skipped` row.
    async fn skip(&mut self, job: &SyncJob, due: DateTime<Utc>) {
        tracing::info!(job = %job.name, %due, "tick skipped: sync is paused");
        super::record_tick(&job.name, "skipped");
        self.skipped.skipped(job, due);
        match self
            .scheduler
            .claim_tick(&format!("{}#skipped", job.name), due)
            .await
        {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => {
                tracing::warn!(job = %job.name, %error, "could not claim the skipped tick");
                return;
            }
        }
        if let Err(error) = self.record_skipped(job, due).await {
            tracing::warn!(job = %job.name, %error, "could not record the skipped tick");
        }
    }

    async fn record_skipped(&self, job: &SyncJob, due: DateTime<Utc>) -> Result<(), StoreError> {
        let store = self.engine.store();
        let now = self.engine.clock().now();
        let mut row = match store.last_run(&job.name).await? {
            Some(last) if last.status == RunStatus::Skipped => last,
            _ => {
                let mut row = store
                    .create_run(&NewRun {
                        job: job.name.clone(),
                        trigger: Trigger::Schedule,
                        started_at: now,
                        due_at: due,
                        window_days: job.window_days,
                        products: None,
                        manual: false,
                        owner: Some(self.engine.process().as_owner()),
                        replans: None,
                    })
                    .await?;
                row.status = RunStatus::Skipped;
                row.errors.push("sync was paused".into());
                row
            }
        };
        row.skipped_ticks += 1;
        row.finished_at = Some(now);
        store.save_run(&row).await
    }

    /// Adds `note` to the job's `skipped` row, when its latest run is one.
    async fn note_on_skipped(&self, job: &SyncJob, note: &str) {
        let store = self.engine.store();
        if let Ok(Some(mut row)) = store.last_run(&job.name).await {
            if row.status == RunStatus::Skipped && row.errors.len() < SyncRun::MAX_ERRORS {
                row.errors.push(note.to_owned());
                if let Err(error) = store.save_run(&row).await {
                    tracing::warn!(job = %job.name, %error, "could not note the skipped ticks");
                }
            }
        }
    }
}

/// Rescues the runs of processes that are gone and re-plans interrupted runs.
async fn look_after_orphans(engine: &Engine) {
    if let Err(error) = engine.rescue_orphaned_runs().await {
        tracing::warn!(%error, "could not rescue the runs of processes that are gone");
    }
    if let Err(error) = engine.replan_interrupted().await {
        tracing::warn!(%error, "could not re-plan interrupted runs");
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
