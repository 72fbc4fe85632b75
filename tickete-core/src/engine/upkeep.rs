//! Upkeep at the edges of time, besides firing ticks: midnight, pause and resume, restarts.
//!
//! The scheduler loop calls these; a front-end may call them too (e.g. after an admin action).

use std::collections::BTreeMap;

use chrono::{DateTime, Days, LocalResult, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::{DropTasks, Engine};
use crate::domain::{ProductId, SyncJob};
use crate::store::StoreError;

/// Drops queued work for dates before today (service time zone): at midnight the windows move,
/// so that work can no longer be read by anyone, and the new today must come first. Runs
/// waiting on it count it as `missed`. Returns how many runs were touched.
pub async fn drop_past_dates(engine: &Engine) -> usize {
    let today = engine.today();
    match engine.drop_work(DropTasks::Before(today)).await {
        Ok(0) => 0,
        Ok(runs) => {
            tracing::info!(before = %today, runs, "dropped queued work for dates that have passed");
            runs
        }
        Err(error) => {
            tracing::warn!(%error, "could not drop queued work for past dates");
            0
        }
    }
}

/// At start: ends, as `interrupted`, the runs a previous process left that no process will
/// finish (on a shared queue, when no other replica is alive), so their jobs are re-planned
/// by the catch-up that follows.
pub async fn recover(engine: &Engine) {
    match engine.recover().await {
        Ok(0) => {}
        Ok(runs) => tracing::info!(runs, "runs left by stopped processes marked interrupted"),
        Err(error) => tracing::warn!(%error, "could not recover the runs of stopped processes"),
    }
}

/// Periodic upkeep of the refresh policy: shares the learnt state and reads with the store
/// (see [`Engine::share_learning`]), then recomputes the demand and the freshness of each
/// job's window, so `/metrics` (`tickete_budget_demand_ratio`, `tickete_freshness_*`) stays
/// current between runs and status reads.
pub async fn share_learning(engine: &Engine) {
    if let Err(error) = engine.share_learning().await {
        tracing::warn!(%error, "could not share the learnt state with the store");
    }
    if let Err(error) = engine.update_policy().await {
        tracing::warn!(%error, "could not recompute the freshness demand");
    }
    if let Err(error) = engine.freshness().await {
        tracing::warn!(%error, "could not measure freshness");
    }
}

/// Upkeep with the pruning of past days: the store forgets what was learnt and read of
/// dates that have passed. Returns how many rows went.
pub async fn prune_learning(engine: &Engine) -> u64 {
    match engine.prune_learning().await {
        Ok(rows) => {
            if rows > 0 {
                tracing::info!(rows, "pruned learnt state and reads of past dates");
            }
            rows
        }
        Err(error) => {
            tracing::warn!(%error, "could not prune the learnt state");
            0
        }
    }
}

/// Drops the queued work of `product` (deleted or disabled in the catalogue), so it spends no
/// partner call. Returns how many runs were touched.
pub async fn drop_product_work(engine: &Engine, product: ProductId) -> usize {
    match engine.drop_work(DropTasks::Product(product)).await {
        Ok(runs) => {
            if runs > 0 {
                tracing::info!(%product, runs, "dropped the queued work of a product");
            }
            runs
        }
        Err(error) => {
            tracing::warn!(%product, %error, "could not drop the queued work of a product");
            0
        }
    }
}

impl Engine {
    /// Drops the queued work `which` covers (midnight, a product deleted or disabled): it
    /// leaves the queue at once and every run waiting on it counts it as `missed`.
    /// Returns how many runs it touched.
    pub async fn drop_work(&self, which: DropTasks) -> Result<usize, StoreError> {
        let touched = self
            .inner
            .queue
            .drop_tasks(which, self.inner.clock.now())
            .await?;
        let count = touched.len();
        for run in touched {
            self.announce(run).await;
        }
        super::worker::record_queue_depth(self).await;
        Ok(count)
    }

    /// Start-up upkeep, once per engine, before its worker takes a task or its scheduler
    /// plans: end the runs no process will finish, drop work for dates that have passed. A
    /// service awaits it before it takes requests, so the recovery never ends a run a request
    /// has just started (the worker and the scheduler call it too; it runs once).
    pub async fn start_upkeep(&self) {
        self.inner
            .started
            .get_or_init(|| async {
                self.ensure_registered().await;
                recover(self).await;
                drop_past_dates(self).await;
                // What was learnt before a restart (or by other replicas) counts from the
                // first claim.
                if let Err(error) = self.share_learning().await {
                    tracing::warn!(%error, "could not load the learnt state");
                }
            })
            .await;
    }

    /// At start: lets the queue end the runs no process will finish (see
    /// [`super::WorkQueue::recover`]). Returns how many it ended.
    pub async fn recover(&self) -> Result<usize, StoreError> {
        let ended = self.inner.queue.recover(self.inner.clock.now()).await?;
        let count = ended.len();
        for run in ended {
            self.announce(run).await;
        }
        Ok(count)
    }
}

/// The next instant after `now` at which the date changes in `tz` (the first instant of the
/// next local day, also when midnight itself falls in a DST gap).
pub fn next_midnight(tz: Tz, now: DateTime<Utc>) -> DateTime<Utc> {
    let tomorrow = now.with_timezone(&tz).date_naive() + Days::new(1);
    let mut probe = tomorrow.and_time(NaiveTime::MIN);
    for _ in 0..(24 * 4) {
        match tz.from_local_datetime(&probe) {
            LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => {
                return at.with_timezone(&Utc);
            }
            LocalResult::None => probe += chrono::Duration::minutes(15),
        }
    }
    now + chrono::Duration::days(1)
}

/// Ticks not run because sync was paused: the latest skipped tick of each job, so resuming
/// gives each of those jobs one catch-up run (never one per skipped tick).
#[derive(Debug, Default)]
pub(crate) struct SkippedTicks {
    latest: BTreeMap<String, SkippedTick>,
}

/// The latest tick of one job skipped while paused.
#[derive(Debug)]
pub(crate) struct SkippedTick {
    /// The job as it was then.
    pub job: SyncJob,
    /// The tick.
    pub due: DateTime<Utc>,
}

impl SkippedTicks {
    /// Remembers that `job`'s tick due at `due` was skipped.
    pub fn skipped(&mut self, job: &SyncJob, due: DateTime<Utc>) {
        let tick = SkippedTick {
            job: job.clone(),
            due,
        };
        match self.latest.get(&job.name) {
            Some(kept) if kept.due > due => {}
            _ => {
                self.latest.insert(job.name.clone(), tick);
            }
        }
    }

    /// The ticks to catch up, one per job; forgets them.
    pub fn take(&mut self) -> Vec<SkippedTick> {
        std::mem::take(&mut self.latest).into_values().collect()
    }

    /// Whether any tick was skipped.
    pub fn is_empty(&self) -> bool {
        self.latest.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    #[test]
    fn midnight_is_the_first_instant_of_the_next_local_day() {
        let sydney: Tz = "Australia/Sydney".parse().unwrap();
        assert_eq!(
            next_midnight(sydney, utc("2026-03-01T10:00:00Z")),
            utc("2026-03-01T13:00:00Z")
        );
        assert_eq!(
            next_midnight(Tz::UTC, utc("2026-03-01T23:59:59Z")),
            utc("2026-03-02T00:00:00Z")
        );
        // Santiago springs forward at midnight: the day starts at 01:00 local.
        let santiago: Tz = "America/Santiago".parse().unwrap();
        let start = next_midnight(santiago, utc("2025-09-06T12:00:00Z"));
        assert_eq!(start, utc("2025-09-07T04:00:00Z"));
    }
}
