//! Where synced availability, the catalogue, jobs, runs and the pause flag are kept.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{
    DaySnapshot, DayState, EngineProcess, JobPatch, NewRun, PartnerStatus, Product, ProductId,
    ProductPatch, ProductView, RunId, Slot, SyncJob, SyncRun,
};
use crate::feed::{Events, Webhooks};
use crate::learning::Learning;
use crate::served::{ServedDates, ServedSlots};

/// A classified store failure; callers branch on the variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The named thing does not exist, e.g. `product 99`.
    #[error("{0} not found")]
    NotFound(String),
    /// The request conflicts with stored state.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The store cannot be reached or failed; the message never carries SQL text.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The store holds something this version cannot read.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
}

/// A 1-based page request; `limit` is bounded by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRequest {
    /// 1-based page number.
    pub page: u32,
    /// Items per page, ≥ 1.
    pub limit: u32,
}

impl PageRequest {
    /// Largest page size served.
    pub const MAX_LIMIT: u32 = 100;

    /// Rows to skip.
    pub fn offset(self) -> u64 {
        u64::from(self.page.saturating_sub(1)) * u64::from(self.limit)
    }
}

/// One page of results and the total number of items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    /// Items of this page.
    pub items: Vec<T>,
    /// Items over all pages.
    pub total: u64,
}

/// Whether applying a day changed stored content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ApplyOutcome {
    /// Content differed: slots and pax were rewritten.
    Changed,
    /// Same content hash: only `syncedAt` moved.
    Unchanged,
}

/// One day of a batch given to [`Inventory::apply_days`].
#[derive(Debug, Clone, Copy)]
pub struct DayApply<'a> {
    /// The product the day belongs to.
    pub product: ProductId,
    /// The validated day.
    pub snapshot: &'a DaySnapshot,
    /// When it was fetched.
    pub synced_at: DateTime<Utc>,
}

/// Refuses a snapshot a store cannot keep faithfully: a slot dated another day, a slot id
/// twice, a pax type twice in one slot. Validated snapshots always pass; SQL stores call it
/// before they write, since their keys would otherwise merge the duplicates silently.
pub fn check_storable(snapshot: &DaySnapshot) -> Result<(), StoreError> {
    let mut ids = std::collections::HashSet::new();
    for slot in &snapshot.slots {
        if slot.start_date != snapshot.date {
            return Err(StoreError::Conflict(format!(
                "slot {} is dated {}, not {}",
                slot.provider_slot_id, slot.start_date, snapshot.date
            )));
        }
        if !ids.insert(slot.provider_slot_id.as_str()) {
            return Err(StoreError::Conflict(format!(
                "slot id {} appears twice on {}",
                slot.provider_slot_id, snapshot.date
            )));
        }
        let mut types = std::collections::HashSet::new();
        if let Some(pax) = slot
            .pax
            .iter()
            .find(|pax| !types.insert(pax.pax_type.as_str()))
        {
            return Err(StoreError::Conflict(format!(
                "pax type {} appears twice in slot {}",
                pax.pax_type, slot.provider_slot_id
            )));
        }
    }
    Ok(())
}

/// The persisted pause flag.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PauseState {
    /// Whether partner calls are paused.
    pub paused: bool,
    /// When the current pause began.
    pub paused_at: Option<DateTime<Utc>>,
}

/// The capability traits in scope, for calling store methods (`use tickete_core::store::prelude::*`).
pub mod prelude {
    pub use super::{Catalogue as _, Control as _, Inventory as _, Processes as _, RunLog as _};
    pub use crate::feed::{Events as _, Webhooks as _};
    pub use crate::learning::Learning as _;
    pub use crate::sessions::Sessions as _;
}

/// Storage of tickete's state: every capability below, which a store implements one trait
/// each (a test fake may implement only what it needs).
///
/// Every method is a complete operation: `apply_day` is atomic, readers never see half a day,
/// and failures come back as [`StoreError`] (a store that is down is `Unavailable`, never a panic).
pub trait InventoryStore:
    Catalogue
    + Inventory
    + RunLog
    + Processes
    + Control
    + Events
    + Webhooks
    + Learning
    + crate::sessions::Sessions
    + Send
    + Sync
    + 'static
{
}

impl<T> InventoryStore for T where
    T: Catalogue
        + Inventory
        + RunLog
        + Processes
        + Control
        + Events
        + Webhooks
        + Learning
        + crate::sessions::Sessions
        + Send
        + Sync
        + 'static
{
}

/// The products to sync (the partner has no product list, so the catalogue is ours).
#[async_trait]
pub trait Catalogue: Send + Sync + 'static {
    /// Inserts a product, or updates its name and enabled flag.
    async fn upsert_product(&self, product: &Product) -> Result<(), StoreError>;

    /// Changes a product; `NotFound` when unknown.
    async fn update_product(
        &self,
        id: ProductId,
        patch: &ProductPatch,
    ) -> Result<Product, StoreError>;

    /// Removes a product with its inventory and sync state; `NotFound` when unknown.
    async fn delete_product(&self, id: ProductId) -> Result<(), StoreError>;

    /// One product with derived facts; `NotFound` when unknown.
    async fn get_product(&self, id: ProductId) -> Result<ProductView, StoreError>;

    /// Products ordered by id.
    async fn list_products(&self, page: PageRequest) -> Result<Page<ProductView>, StoreError>;

    /// Ids of products to sync, ascending.
    async fn enabled_products(&self) -> Result<Vec<ProductId>, StoreError>;

    /// Records whether the partner knows the product (set by the engine on a 404, cleared on
    /// the next day it answers); returns whether the stored status changed. `NotFound` when
    /// the product is not in the catalogue.
    async fn set_partner_status(
        &self,
        id: ProductId,
        status: PartnerStatus,
    ) -> Result<bool, StoreError>;
}

/// Synced availability: days applied atomically, read back as slots, and their sync state.
#[async_trait]
pub trait Inventory: Send + Sync + 'static {
    /// Atomically replaces the product's inventory for `snapshot.date`: upserts slots by
    /// provider slot id and pax by (slot, type), deletes that date's vanished slots, and records
    /// `synced_at` and the content hash. An unchanged hash only moves `synced_at`. A change
    /// records its `availability.changed` event ([`crate::feed`]) in the same transaction.
    /// `NotFound` when the product is not in the catalogue.
    async fn apply_day(
        &self,
        product: ProductId,
        snapshot: &DaySnapshot,
        synced_at: DateTime<Utc>,
    ) -> Result<ApplyOutcome, StoreError>;

    /// Records a failed fetch for (product, date) without touching its inventory.
    async fn record_day_error(
        &self,
        product: ProductId,
        date: NaiveDate,
        error: &str,
    ) -> Result<(), StoreError>;

    /// Slots of one date ordered by start time (then provider slot id), pax in partner order.
    async fn slots(&self, product: ProductId, date: NaiveDate) -> Result<Vec<Slot>, StoreError>;

    /// Slots of dates in `[from, until)`, ordered by date then start time.
    async fn slots_between(
        &self,
        product: ProductId,
        from: NaiveDate,
        until: NaiveDate,
    ) -> Result<Vec<Slot>, StoreError>;

    /// Removes the inventory and sync state of every date before `date` (days no longer
    /// bookable); returns how many (product, date) days were removed.
    async fn prune_before(&self, date: NaiveDate) -> Result<u64, StoreError>;

    /// Sync state of every (product, date) with `date` in `[from, until)` that has any.
    async fn day_states(
        &self,
        from: NaiveDate,
        until: NaiveDate,
    ) -> Result<Vec<DayState>, StoreError>;

    // `apply_day` keeps each day's served body and dates summary with the day, so the public
    // reads below are one indexed lookup each and never join slots and pax.

    /// Applies several days in one transaction: each day exactly as [`Self::apply_day`] would
    /// (same outcomes, in order), and the batch all or nothing: when any day fails (`NotFound`
    /// product, `Conflict` snapshot, store failure) nothing of the batch is written and that
    /// error is returned. Days are applied in order, so a later entry of the same day sees the
    /// earlier one.
    async fn apply_days(&self, days: &[DayApply<'_>]) -> Result<Vec<ApplyOutcome>, StoreError>;
    /// The slots route's body of (product, date) with its `Last-Modified` and entity-tag
    /// source, as kept at `apply_day`; a date never synced serves `{"slots":[]}`.
    /// `NotFound` when the product is not in the catalogue.
    async fn served_slots(
        &self,
        product: ProductId,
        date: NaiveDate,
    ) -> Result<ServedSlots, StoreError>;
    /// The dates route's data for dates in `[from, until)`: each bookable date with its lowest
    /// price (the rule of [`crate::pricing::lowest_prices`]) and the latest fetch among the
    /// window's synced days. `NotFound` when the product is not in the catalogue.
    async fn served_dates(
        &self,
        product: ProductId,
        from: NaiveDate,
        until: NaiveDate,
    ) -> Result<ServedDates, StoreError>;
}

/// Sync jobs and the execution log of their runs.
#[async_trait]
pub trait RunLog: Send + Sync + 'static {
    /// Inserts the job unless one with its name exists; true when inserted.
    async fn insert_job_if_missing(&self, job: &SyncJob) -> Result<bool, StoreError>;

    /// All jobs ordered by name.
    async fn list_jobs(&self) -> Result<Vec<SyncJob>, StoreError>;

    /// One job; `NotFound` when unknown.
    async fn get_job(&self, name: &str) -> Result<SyncJob, StoreError>;

    /// Changes a job; `NotFound` when unknown.
    async fn update_job(&self, name: &str, patch: &JobPatch) -> Result<SyncJob, StoreError>;

    /// Records a new run in status `running` with zero counts. When it re-plans an
    /// interrupted run (`replans`), the same transaction claims that re-plan: `Conflict` when
    /// the run is not waiting for one (another process claimed it), and nothing is recorded.
    async fn create_run(&self, run: &NewRun) -> Result<SyncRun, StoreError>;

    /// Overwrites a run's status, counts, errors, finish time, `replan_pending` and
    /// `skipped_ticks`. A run that has ended keeps its status: saving another one is a
    /// `Conflict` that changes nothing (a process that was taken for gone, and whose run was
    /// rescued, cannot bring it back).
    async fn save_run(&self, run: &SyncRun) -> Result<(), StoreError>;

    /// One run; `NotFound` when unknown.
    async fn get_run(&self, id: RunId) -> Result<SyncRun, StoreError>;

    /// Runs newest first, optionally of one job.
    async fn list_runs(
        &self,
        job: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<SyncRun>, StoreError>;

    /// The run of `job` with the latest `due_at`, if any.
    async fn last_run(&self, job: &str) -> Result<Option<SyncRun>, StoreError>;

    /// Ends, as `interrupted` and waiting for a re-plan, every `running` run whose owner is
    /// gone: no owner recorded, or no registered process of that id seen at or after
    /// `alive_since`. Pairs without an outcome count as `missed`; processes not seen since
    /// `alive_since` are forgotten. One statement: of two processes rescuing at once, each run
    /// is ended (and returned) by exactly one. Returns the ended runs' ids.
    async fn interrupt_orphaned_runs(
        &self,
        alive_since: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<Vec<RunId>, StoreError>;

    /// Interrupted runs waiting for a re-plan (`replan_pending`), oldest first.
    async fn runs_to_replan(&self) -> Result<Vec<SyncRun>, StoreError>;
}

/// The engine processes working on this store (servers, CLIs, replicas), each kept alive by
/// its heartbeat. A run whose owner is not among the live ones is rescued by a live server.
#[async_trait]
pub trait Processes: Send + Sync + 'static {
    /// Registers `process` (or refreshes its row).
    async fn register_process(&self, process: &EngineProcess) -> Result<(), StoreError>;

    /// Records a heartbeat of process `id` at `at`; false when the process is not registered
    /// (it was forgotten as gone), so it must register again.
    async fn beat_process(&self, id: &str, at: DateTime<Utc>) -> Result<bool, StoreError>;

    /// Removes process `id` (a clean shutdown).
    async fn remove_process(&self, id: &str) -> Result<(), StoreError>;

    /// Processes seen at or after `alive_since`, oldest start first.
    async fn list_processes(
        &self,
        alive_since: DateTime<Utc>,
        page: PageRequest,
    ) -> Result<Page<EngineProcess>, StoreError>;
}

/// Reachability and the persisted pause flag.
#[async_trait]
pub trait Control: Send + Sync + 'static {
    /// Cheap round trip proving the store is reachable.
    async fn ping(&self) -> Result<(), StoreError>;

    /// The persisted pause flag.
    async fn pause_state(&self) -> Result<PauseState, StoreError>;

    /// Sets the pause flag; `paused_at` is kept when already paused, cleared on resume.
    async fn set_paused(&self, paused: bool, at: DateTime<Utc>) -> Result<PauseState, StoreError>;
}
