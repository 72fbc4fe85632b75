//! The engine's side of the learnt state kept by the store ([`crate::learning`]): each fetch
//! is recorded there, what other replicas (or a previous process) learnt is loaded, reads
//! are flushed and the merged counts loaded back.

use chrono::{DateTime, NaiveDate, Utc};

use super::policy::learnt::Seen;
use super::policy::reads::period_of;
use super::Engine;
use crate::domain::ProductId;
use crate::store::StoreError;

/// Pairs fetched this long before the previous load started are loaded again: a fetch another
/// replica made is written a moment after its instant (the call, then the write, seconds at
/// most), and replicas' clocks differ a little (well under a minute with NTP), so a load that
/// only asked for later fetches could miss it. Each fetch is loaded by about three loads.
const RELOAD_OVERLAP: chrono::Duration = chrono::Duration::minutes(2);

impl Engine {
    /// Records what a successful fetch of (product, date) found: in the store (so a restart
    /// keeps it and replicas share it), then in the policy's memory. When the store cannot
    /// record it, the policy still learns it in memory.
    pub(crate) async fn learn_fetch(
        &self,
        product: ProductId,
        date: NaiveDate,
        changed: bool,
        empty: bool,
        now: DateTime<Utc>,
    ) {
        let refresh = &self.inner.refresh;
        match self
            .inner
            .store
            .record_fetch(product, date, changed, empty, now)
            .await
        {
            Ok(stats) => refresh.absorb(
                [(product, date, stats)],
                |date, at| self.days_ahead_at(date, at),
                None,
            ),
            Err(error) => {
                tracing::warn!(%error, "could not store what the fetch taught; kept in memory");
                refresh.observe(product, date, Seen::Day { changed, empty }, now);
            }
        }
    }

    /// How many days after the day of `at` (service time zone) `date` is.
    fn days_ahead_at(&self, date: NaiveDate, at: DateTime<Utc>) -> u32 {
        let day = at.with_timezone(&self.inner.config.time_zone).date_naive();
        u32::try_from((date - day).num_days()).unwrap_or(0)
    }

    /// Shares what the policy learns with the store: loads the pairs fetched since the last
    /// load (every pair from today the first time: a restart keeps what was learnt), flushes
    /// the reads counted here and loads every replica's merged reads. Called when a run is
    /// planned and periodically by upkeep. Returns how many learnt pairs were loaded.
    pub async fn share_learning(&self) -> Result<usize, StoreError> {
        let refresh = &self.inner.refresh;
        let today = self.today();
        let since = refresh.loaded_until().map(|at| at - RELOAD_OVERLAP);
        let started = self.inner.clock.now();
        let pairs = self.inner.store.learnt_pairs(today, since).await?;
        let loaded = pairs.len();
        refresh.absorb(
            pairs
                .into_iter()
                .map(|pair| (pair.product, pair.date, pair.stats)),
            |date, at| self.days_ahead_at(date, at),
            Some(started),
        );
        self.share_reads(today).await?;
        Ok(loaded)
    }

    async fn share_reads(&self, today: NaiveDate) -> Result<(), StoreError> {
        let refresh = &self.inner.refresh;
        let now = self.inner.clock.now();
        let (from, until) = crate::pricing::dates_window(today);
        let window: Vec<NaiveDate> = from.iter_days().take_while(|d| *d < until).collect();
        let deltas = refresh.take_reads(&window);
        if !deltas.is_empty() {
            if let Err(error) = self.inner.store.add_reads(&deltas, now).await {
                refresh.restore_reads(&deltas);
                return Err(error);
            }
        }
        let stored = self.inner.store.stored_reads(today).await?;
        refresh.replace_reads(
            stored
                .iter()
                .map(|reads| ((reads.product, reads.date), reads.weight_at(now))),
            now,
        );
        Ok(())
    }

    /// Upkeep: the store forgets learnt pairs and reads of dates before today and reads too
    /// old to weigh anything. Returns how many rows went.
    pub async fn prune_learning(&self) -> Result<u64, StoreError> {
        let oldest_period = period_of(self.inner.clock.now()) - 1;
        self.inner
            .store
            .prune_learning(self.today(), oldest_period)
            .await
    }
}
