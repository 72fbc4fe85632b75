//! Work on idle budget, one call at a time and only while no queued work waits or is in
//! flight, so targets never wait for it:
//!
//! - **Look-ahead.** A date entering a window at midnight (the 30-day job's new last date)
//!   would be counted stale from 00:00 until its run reaches it, hours later. Within budget,
//!   in the [`LOOK_AHEAD`] before midnight, such never-fetched pairs are fetched ahead. It is
//!   target work: the midnight target cannot be held otherwise.
//! - **Spare share** (SPEC §4, `TICKETE_SYNC_SPARE_SHARE`): by default the engine spends only
//!   the calls its targets need. With a share `s`, it may spend `s` of what the targets leave
//!   over (`rate − demand` calls a minute) on the pairs most likely stale. Replicas on one
//!   store spend it once between them: each takes its part by the live servers it counts at
//!   each heartbeat.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Days, NaiveDate, NaiveTime, TimeZone, Utc};
use tokio::sync::OwnedSemaphorePermit;

use super::planner::{plan, window_dates};
use super::policy::PolicyKind;
use super::worker::Fetched;
use super::Engine;
use crate::domain::ProductId;
use crate::source::SourceError;

/// How long before midnight dates about to enter a window are fetched ahead.
pub const LOOK_AHEAD: chrono::Duration = chrono::Duration::hours(2);

/// Pacing of early refreshes: when the next may go, and whether one is in flight.
#[derive(Debug, Default)]
pub(super) struct SpareCalls {
    next_at: Mutex<Option<DateTime<Utc>>>,
    busy: AtomicBool,
    /// The midnight whose new dates are all fetched ahead.
    looked_ahead: Mutex<Option<NaiveDate>>,
    /// Live servers on the store (this one included) at the last heartbeat; 0 before it.
    servers: AtomicU32,
}

impl SpareCalls {
    /// Records how many servers share the store's budget (counted at a heartbeat).
    pub(super) fn set_servers(&self, servers: u32) {
        self.servers.store(servers, Ordering::Relaxed);
    }
}

impl Engine {
    /// Calls a minute this process's early refreshes may spend now: the configured share of
    /// the budget the targets leave over (0 when the share is 0, or the targets need all of
    /// it), divided among the live servers of the store so that together they spend it once.
    pub fn spare_calls_per_minute(&self) -> f64 {
        let share = self.inner.config.spare_share;
        if share <= 0.0 || self.inner.refresh.kind() != PolicyKind::Freshness {
            return 0.0;
        }
        let rate = f64::from(self.inner.config.rate_per_minute.get());
        let demand = self.inner.refresh.demand().calls_per_minute;
        let servers = self.inner.spare.servers.load(Ordering::Relaxed).max(1);
        (share.min(1.0) * (rate - demand)).max(0.0) / f64::from(servers)
    }

    fn spare_interval(&self) -> Option<chrono::Duration> {
        let per_minute = self.spare_calls_per_minute();
        (per_minute > 1e-9)
            .then(|| chrono::Duration::milliseconds((60_000.0 / per_minute).ceil() as i64))
    }

    /// The next midnight (service time zone) when it is less than [`LOOK_AHEAD`] away, the
    /// budget covers the targets, and its new dates are not all fetched yet.
    fn look_ahead_to(&self, now: DateTime<Utc>) -> Option<NaiveDate> {
        self.look_ahead()
            .and_then(|(tomorrow, from)| (from <= now).then_some(tomorrow))
    }

    /// Within budget, the next midnight whose new dates are not all fetched yet, and when
    /// fetching them ahead begins.
    fn look_ahead(&self) -> Option<(NaiveDate, DateTime<Utc>)> {
        if self.inner.refresh.kind() != PolicyKind::Freshness
            || self.inner.refresh.demand().budget_share > 1.0
        {
            return None;
        }
        let tomorrow = self.today().succ_opt()?;
        let midnight = self
            .inner
            .config
            .time_zone
            .from_local_datetime(&tomorrow.and_time(NaiveTime::MIN))
            .earliest()?
            .to_utc();
        let done = *self.inner.spare.looked_ahead.lock().expect("spare lock") == Some(tomorrow);
        (!done).then_some((tomorrow, midnight - LOOK_AHEAD))
    }

    /// A never-fetched pair of a date that enters a window at `tomorrow`'s midnight.
    async fn ahead_of(&self, tomorrow: NaiveDate) -> Option<(ProductId, NaiveDate)> {
        let jobs = self.inner.store.list_jobs().await.ok()?;
        let today = self.today();
        let mut dates: Vec<NaiveDate> = jobs
            .iter()
            .filter(|job| job.enabled)
            .filter_map(|job| today.checked_add_days(Days::new(u64::from(job.window_days))))
            .collect();
        dates.sort_unstable();
        dates.dedup();
        let (Some(&first), Some(&last)) = (dates.first(), dates.last()) else {
            *self.inner.spare.looked_ahead.lock().expect("spare lock") = Some(tomorrow);
            return None;
        };
        let products = self.inner.store.enabled_products().await.ok()?;
        let states = self
            .inner
            .store
            .day_states(first, last.succ_opt()?)
            .await
            .ok()?;
        let (candidates, _) = plan(&products, &dates, &states, DateTime::<Utc>::MAX_UTC);
        let found = candidates.into_iter().find(|task| {
            task.priority.synced_at.is_none() && !self.inner.refresh.is_unknown(task.product)
        });
        if found.is_none() {
            *self.inner.spare.looked_ahead.lock().expect("spare lock") = Some(tomorrow);
        }
        found.map(|task| (task.product, task.date))
    }

    /// When the next early refresh may go; `None` when none may.
    pub(super) fn next_spare_at(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // A one-off command does what it was asked and nothing else.
        if self.inner.process.kind == crate::domain::ProcessKind::Cli {
            return None;
        }
        let ahead = self.look_ahead().map(|(_, from)| from.max(now));
        let spare = {
            let mut next = self.inner.spare.next_at.lock().expect("spare lock");
            match self.spare_interval() {
                Some(interval) => Some(*next.get_or_insert(now + interval)),
                None => next.take().and(None),
            }
        };
        match (ahead, spare) {
            (Some(ahead), Some(spare)) => Some(ahead.min(spare)),
            (ahead, spare) => ahead.or(spare),
        }
    }

    /// Whether an early refresh may go now: none in flight, and no queued work at all.
    pub(super) async fn spare_may_go(&self) -> bool {
        if self.inner.spare.busy.load(Ordering::Acquire) {
            return false;
        }
        matches!(self.inner.queue.depth().await, Ok(depth) if depth.pending == 0 && depth.in_flight == 0)
    }

    /// The pair an early refresh should fetch now, marked in flight (see
    /// [`super::policy::choose_spare`]); the next one is paced from now.
    pub(super) async fn choose_spare(&self) -> Option<(ProductId, NaiveDate)> {
        let now = self.inner.clock.now();
        if let Some(tomorrow) = self.look_ahead_to(now) {
            if let Some(pair) = self.ahead_of(tomorrow).await {
                self.inner.spare.busy.store(true, Ordering::Release);
                return Some(pair);
            }
        }
        let interval = self.spare_interval()?;
        {
            let mut next = self.inner.spare.next_at.lock().expect("spare lock");
            if next.is_some_and(|at| at > now) {
                return None;
            }
            *next = Some(now + interval);
        }
        let today = self.today();
        let horizon = self.inner.refresh.horizon_days();
        let until = today.checked_add_days(Days::new(u64::from(horizon)))?;
        let products = self.inner.store.enabled_products().await.ok()?;
        let states = self.inner.store.day_states(today, until).await.ok()?;
        let (candidates, _) = plan(
            &products,
            &window_dates(today, horizon),
            &states,
            DateTime::<Utc>::MAX_UTC,
        );
        let chosen = &candidates[self.inner.refresh.choose_spare(&candidates, now)?];
        self.inner.spare.busy.store(true, Ordering::Release);
        Some((chosen.product, chosen.date))
    }

    /// A chosen early refresh that will not go (paused meanwhile).
    pub(super) fn spare_dropped(&self) {
        self.inner.spare.busy.store(false, Ordering::Release);
    }

    /// Fetches (product, date) early. A failure is only recorded: a later run retries.
    pub(super) async fn refresh_early(
        self,
        product: ProductId,
        date: NaiveDate,
        _permit: OwnedSemaphorePermit,
    ) {
        metrics::counter!("tickete_spare_refreshes_total").increment(1);
        match self.fetch_and_apply(product, date).await {
            Fetched::Applied(_) => {}
            Fetched::NotStored(message) => {
                tracing::warn!(%product, %date, %message, "early refresh not stored");
            }
            Fetched::Refused(SourceError::RateLimited { reset_at }) => {
                self.hold_partner_calls(reset_at).await;
            }
            Fetched::Refused(SourceError::Transient(message)) => {
                tracing::info!(%product, %date, %message, "early refresh failed; not retried");
            }
            Fetched::Refused(error) => self.record_fetch_error(product, date, &error).await,
        }
        self.spare_dropped();
        self.inner.wake.notify_one();
    }
}

/// How soon to look again when an early refresh is due but work is in flight.
pub(super) const SPARE_RECHECK: Duration = Duration::from_secs(1);
