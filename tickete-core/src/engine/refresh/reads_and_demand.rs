//! The refresh policy's face on the engine: the demand, the reads the public routes count
//! (each client within its bound), the policy's view of the jobs and catalogue.

use std::sync::Arc;

use chrono::NaiveDate;

use super::super::{job_freshness, record_freshness, Engine, JobFreshness, Targets};
use super::{Demand, RefreshPolicy};
use crate::domain::ProductId;
use crate::store::StoreError;

/// The policy's face on the engine: demand, freshness, reads, targets.
impl Engine {
    /// The refresh policy and what it has learnt.
    pub fn refresh_policy(&self) -> &Arc<RefreshPolicy> {
        &self.inner.refresh
    }

    /// What the freshness targets need of the budget, as of the last run planned.
    pub fn demand(&self) -> Demand {
        self.inner.refresh.demand()
    }

    /// Counts a read of (product, date) into the policy's importance, whoever made it (a
    /// trusted caller; public reads go through [`Engine::note_read_by`]). Dates outside
    /// `[today, today + 62 days]` are not counted (bounded memory). Cheap: counted in
    /// memory, shared through the store by [`Engine::share_learning`].
    pub fn note_read(&self, product: ProductId, date: NaiveDate) {
        if self.in_read_window(date) {
            self.inner.refresh.note_read(product, date);
        }
    }

    /// Counts a public read of (product, date) by `client` (the slots route): a client's
    /// repeated reads count once and what one client adds is bounded (see
    /// [`policy::clients`](crate::engine::policy::clients)), so no single client steers the budget.
    pub fn note_read_by(&self, client: std::net::IpAddr, product: ProductId, date: NaiveDate) {
        if self.in_read_window(date) {
            let now = self.inner.clock.now();
            self.inner
                .refresh
                .note_client_read(client, product, date, now);
        }
    }

    fn in_read_window(&self, date: NaiveDate) -> bool {
        let ahead = (date - self.today()).num_days();
        (0..=i64::from(super::super::MAX_WINDOW_DAYS)).contains(&ahead)
    }

    /// Counts a read of a product's dates (the dates route): one read spread evenly over the
    /// dates route's window (`[today, today + 2 months)`), so a calendar view weighs as much
    /// as one slots read and every date it shows gains a little importance.
    pub fn note_dates_read(&self, product: ProductId) {
        self.inner.refresh.note_dates_read(product);
    }

    /// [`Engine::note_dates_read`] by `client`, within what one client may add.
    pub fn note_dates_read_by(&self, client: std::net::IpAddr, product: ProductId) {
        let now = self.inner.clock.now();
        self.inner
            .refresh
            .note_client_dates_read(client, product, now);
    }

    /// Re-reads the jobs and the catalogue into the policy (targets, demand, regime).
    pub async fn update_policy(&self) -> Result<Vec<ProductId>, StoreError> {
        let now = self.inner.clock.now();
        let jobs = self.inner.store.list_jobs().await?;
        let targets = Targets::of_jobs(&jobs, self.inner.config.time_zone, now);
        let products = self.inner.store.enabled_products().await?;
        self.inner.refresh.update(targets, &products, self.today());
        Ok(products)
    }

    /// How fresh each enabled job's window is now (and `/metrics` updated with it).
    pub async fn freshness(&self) -> Result<Vec<JobFreshness>, StoreError> {
        let now = self.inner.clock.now();
        let today = self.today();
        let jobs = self.inner.store.list_jobs().await?;
        let targets = Targets::of_jobs(&jobs, self.inner.config.time_zone, now);
        let products = self.inner.store.enabled_products().await?;
        let until = today
            .checked_add_days(chrono::Days::new(u64::from(targets.horizon_days())))
            .unwrap_or(today);
        let states = self.inner.store.day_states(today, until).await?;
        let report = job_freshness(&targets, &products, &states, today, now);
        record_freshness(&report);
        Ok(report)
    }
}
