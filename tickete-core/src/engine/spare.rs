//! Early refreshes (SPEC §4, `TICKETE_SYNC_SPARE_SHARE`): by default the engine spends only
//! the calls its targets need. With a share `s`, it may spend `s` of what the targets leave
//! over (`rate − demand` calls a minute) on the pairs most likely stale, one at a time, only
//! while no queued work waits or is in flight, so targets never wait for them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Days, NaiveDate, Utc};
use tokio::sync::OwnedSemaphorePermit;

use super::planner::{plan, window_dates};
use super::policy::PolicyKind;
use super::worker::Fetched;
use super::Engine;
use crate::domain::ProductId;
use crate::source::SourceError;

/// Pacing of early refreshes: when the next may go, and whether one is in flight.
#[derive(Debug, Default)]
pub(super) struct SpareCalls {
    next_at: Mutex<Option<DateTime<Utc>>>,
    busy: AtomicBool,
}

impl Engine {
    /// Calls a minute early refreshes may spend now: the configured share of the budget the
    /// targets leave over (0 when the share is 0, or the targets need all of it).
    pub fn spare_calls_per_minute(&self) -> f64 {
        let share = self.inner.config.spare_share;
        if share <= 0.0 || self.inner.refresh.kind() != PolicyKind::Freshness {
            return 0.0;
        }
        let rate = f64::from(self.inner.config.rate_per_minute.get());
        let demand = self.inner.refresh.demand().calls_per_minute;
        (share.min(1.0) * (rate - demand)).max(0.0)
    }

    fn spare_interval(&self) -> Option<chrono::Duration> {
        let per_minute = self.spare_calls_per_minute();
        (per_minute > 1e-9)
            .then(|| chrono::Duration::milliseconds((60_000.0 / per_minute).ceil() as i64))
    }

    /// When the next early refresh may go; `None` when none may.
    pub(super) fn next_spare_at(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut next = self.inner.spare.next_at.lock().expect("spare lock");
        let Some(interval) = self.spare_interval() else {
            *next = None;
            return None;
        };
        Some(*next.get_or_insert(now + interval))
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
        let interval = self.spare_interval()?;
        *self.inner.spare.next_at.lock().expect("spare lock") = Some(now + interval);
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
