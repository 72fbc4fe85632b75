use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::{
    DaySnapshot, DayState, JobPatch, NewRun, PartnerStatus, Product, ProductId, ProductView, RunId,
    RunStatus, Slot, SyncJob, SyncRun,
};
use crate::pricing::lowest_prices;
use crate::served::{slots_body, ServedDates, ServedSlots};
use crate::store::{
    ApplyOutcome, Control, DayApply, Inventory, Page, PageRequest, PauseState, RunLog, StoreError,
};

/// An `InventoryStore` in process memory, with the same semantics as the SQL stores.
///
/// One mutex guards everything, so every operation is atomic. `set_unavailable(true)` makes
/// every call fail with `Unavailable`, to test how callers survive a store outage.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
pub(super) struct State {
    pub(super) unavailable: bool,
    pub(super) products: BTreeMap<ProductId, Product>,
    /// Products the partner answered 404 for (absent: `ok`).
    pub(super) partner_unknown: BTreeSet<ProductId>,
    pub(super) days: HashMap<(ProductId, NaiveDate), DaySnapshot>,
    pub(super) day_states: BTreeMap<(ProductId, NaiveDate), DayState>,
    jobs: BTreeMap<String, SyncJob>,
    pub(super) runs: BTreeMap<RunId, SyncRun>,
    pub(super) processes: BTreeMap<String, crate::domain::EngineProcess>,
    pub(super) sessions: BTreeMap<String, crate::sessions::SessionRecord>,
    pause: PauseState,
    pub(super) feed: super::memory_feed::FeedState,
    pub(super) learning: super::memory_learning::LearningState,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every following call fail (true) or work again (false).
    pub fn set_unavailable(&self, unavailable: bool) {
        self.state.lock().expect("memory store lock").unavailable = unavailable;
    }

    pub(super) fn with<T>(
        &self,
        f: impl FnOnce(&mut State) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut state = self.state.lock().expect("memory store lock");
        if state.unavailable {
            return Err(StoreError::Unavailable("memory store switched off".into()));
        }
        f(&mut state)
    }
}

impl State {
    pub(super) fn view(&self, product: &Product) -> ProductView {
        let counts = self
            .days
            .iter()
            .filter(|((id, _), _)| *id == product.id)
            .map(|((_, date), day)| (*date, day.slots.len() as u64));
        let status = if self.partner_unknown.contains(&product.id) {
            PartnerStatus::Unknown
        } else {
            PartnerStatus::Ok
        };
        ProductView::derive(product.clone(), status, counts)
    }

    fn apply(
        &mut self,
        product: ProductId,
        snapshot: &DaySnapshot,
        synced_at: DateTime<Utc>,
    ) -> Result<ApplyOutcome, StoreError> {
        self.product(product)?;
        let hash = snapshot.content_hash();
        let key = (product, snapshot.date);
        let state = self.day_states.entry(key).or_insert_with(|| DayState {
            product,
            date: snapshot.date,
            synced_at: None,
            hash: None,
            last_error: None,
        });
        let outcome = if state.hash.as_deref() == Some(hash.as_str()) {
            ApplyOutcome::Unchanged
        } else {
            ApplyOutcome::Changed
        };
        state.synced_at = Some(synced_at);
        state.hash = Some(hash);
        state.last_error = None;
        if outcome == ApplyOutcome::Changed {
            // Canonical order, so `slots` is by start time even for a hand-built snapshot.
            self.days
                .insert(key, DaySnapshot::new(snapshot.date, snapshot.slots.clone()));
            self.feed.record_change(product, snapshot, synced_at);
        }
        Ok(outcome)
    }

    pub(super) fn product(&self, id: ProductId) -> Result<&Product, StoreError> {
        self.products
            .get(&id)
            .ok_or_else(|| StoreError::NotFound(format!("product {id}")))
    }
}

/// One page of `items`, with their total.
pub(super) fn page_of<T: Clone>(items: Vec<T>, page: PageRequest) -> Page<T> {
    let total = items.len() as u64;
    let items = items
        .into_iter()
        .skip(usize::try_from(page.offset()).unwrap_or(usize::MAX))
        .take(page.limit as usize)
        .collect();
    Page { items, total }
}

#[async_trait]
impl Inventory for MemoryStore {
    async fn apply_day(
        &self,
        product: ProductId,
        snapshot: &DaySnapshot,
        synced_at: DateTime<Utc>,
    ) -> Result<ApplyOutcome, StoreError> {
        self.with(|s| s.apply(product, snapshot, synced_at))
    }

    async fn record_day_error(
        &self,
        product: ProductId,
        date: NaiveDate,
        error: &str,
    ) -> Result<(), StoreError> {
        self.with(|s| {
            s.product(product)?;
            s.day_states
                .entry((product, date))
                .or_insert_with(|| DayState {
                    product,
                    date,
                    synced_at: None,
                    hash: None,
                    last_error: None,
                })
                .last_error = Some(error.to_owned());
            Ok(())
        })
    }

    async fn slots(&self, product: ProductId, date: NaiveDate) -> Result<Vec<Slot>, StoreError> {
        self.with(|s| {
            Ok(s.days
                .get(&(product, date))
                .map(|day| day.slots.clone())
                .unwrap_or_default())
        })
    }

    async fn slots_between(
        &self,
        product: ProductId,
        from: NaiveDate,
        until: NaiveDate,
    ) -> Result<Vec<Slot>, StoreError> {
        self.with(|s| {
            let mut dates: Vec<_> = s
                .days
                .iter()
                .filter(|((id, date), _)| *id == product && *date >= from && *date < until)
                .collect();
            dates.sort_by_key(|((_, date), _)| *date);
            Ok(dates
                .into_iter()
                .flat_map(|(_, day)| day.slots.iter().cloned())
                .collect())
        })
    }

    async fn prune_before(&self, date: NaiveDate) -> Result<u64, StoreError> {
        self.with(|s| {
            let before = s.day_states.len();
            s.days.retain(|(_, day), _| *day >= date);
            s.day_states.retain(|(_, day), _| *day >= date);
            Ok((before - s.day_states.len()) as u64)
        })
    }

    async fn day_states(
        &self,
        from: NaiveDate,
        until: NaiveDate,
    ) -> Result<Vec<DayState>, StoreError> {
        self.with(|s| {
            Ok(s.day_states
                .values()
                .filter(|state| state.date >= from && state.date < until)
                .cloned()
                .collect())
        })
    }

    async fn apply_days(&self, days: &[DayApply<'_>]) -> Result<Vec<ApplyOutcome>, StoreError> {
        self.with(|s| {
            // The only way a day fails here is an unknown product: check them all first, so
            // the batch is all or nothing.
            for day in days {
                s.product(day.product)?;
            }
            days.iter()
                .map(|day| s.apply(day.product, day.snapshot, day.synced_at))
                .collect()
        })
    }

    async fn served_slots(
        &self,
        product: ProductId,
        date: NaiveDate,
    ) -> Result<ServedSlots, StoreError> {
        self.with(|s| {
            s.product(product)?;
            let Some(state) = s.day_states.get(&(product, date)) else {
                return Ok(ServedSlots::never_synced());
            };
            let slots = s
                .days
                .get(&(product, date))
                .map(|day| day.slots.as_slice())
                .unwrap_or_default();
            Ok(ServedSlots {
                body: slots_body(slots),
                synced_at: state.synced_at,
                hash: state.hash.clone(),
            })
        })
    }

    async fn served_dates(
        &self,
        product: ProductId,
        from: NaiveDate,
        until: NaiveDate,
    ) -> Result<ServedDates, StoreError> {
        self.with(|s| {
            s.product(product)?;
            let in_window = |date: &NaiveDate| *date >= from && *date < until;
            let mut days: Vec<_> = s
                .days
                .iter()
                .filter(|((id, date), _)| *id == product && in_window(date))
                .collect();
            days.sort_by_key(|((_, date), _)| *date);
            let synced_at = s
                .day_states
                .range((product, from)..(product, until))
                .filter_map(|(_, state)| state.synced_at)
                .max();
            Ok(ServedDates {
                dates: lowest_prices(days.into_iter().flat_map(|(_, day)| day.slots.iter())),
                synced_at,
            })
        })
    }
}

#[async_trait]
impl RunLog for MemoryStore {
    async fn insert_job_if_missing(&self, job: &SyncJob) -> Result<bool, StoreError> {
        self.with(|s| {
            if s.jobs.contains_key(&job.name) {
                return Ok(false);
            }
            s.jobs.insert(job.name.clone(), job.clone());
            Ok(true)
        })
    }

    async fn list_jobs(&self) -> Result<Vec<SyncJob>, StoreError> {
        self.with(|s| Ok(s.jobs.values().cloned().collect()))
    }

    async fn get_job(&self, name: &str) -> Result<SyncJob, StoreError> {
        self.with(|s| {
            s.jobs
                .get(name)
                .cloned()
                .ok_or_else(|| StoreError::NotFound(format!("job {name}")))
        })
    }

    async fn update_job(&self, name: &str, patch: &JobPatch) -> Result<SyncJob, StoreError> {
        self.with(|s| {
            let job = s
                .jobs
                .get_mut(name)
                .ok_or_else(|| StoreError::NotFound(format!("job {name}")))?;
            if let Some(schedule) = &patch.schedule {
                job.schedule = schedule.clone();
            }
            if let Some(window_days) = patch.window_days {
                job.window_days = window_days;
            }
            if let Some(enabled) = patch.enabled {
                job.enabled = enabled;
            }
            Ok(job.clone())
        })
    }

    async fn create_run(&self, run: &NewRun) -> Result<SyncRun, StoreError> {
        self.with(|s| {
            if let Some(original) = run.replans {
                let waiting = s.runs.get_mut(&original).filter(|r| r.replan_pending);
                let Some(waiting) = waiting else {
                    return Err(StoreError::Conflict(format!(
                        "run {original} is not waiting for a re-plan"
                    )));
                };
                waiting.replan_pending = false;
            }
            let id = RunId(s.runs.keys().next_back().map_or(1, |last| last.0 + 1));
            let record = SyncRun {
                id,
                job: run.job.clone(),
                trigger: run.trigger,
                started_at: run.started_at,
                due_at: run.due_at,
                window_days: run.window_days,
                products: run.products.clone(),
                manual: run.manual,
                owner: run.owner.clone(),
                replans: run.replans,
                replan_pending: false,
                skipped_ticks: 0,
                finished_at: None,
                status: RunStatus::Running,
                counts: Default::default(),
                errors: Vec::new(),
            };
            s.runs.insert(id, record.clone());
            Ok(record)
        })
    }

    async fn save_run(&self, run: &SyncRun) -> Result<(), StoreError> {
        self.with(|s| {
            let stored = s
                .runs
                .get_mut(&run.id)
                .ok_or_else(|| StoreError::NotFound(format!("run {}", run.id)))?;
            if stored.status != RunStatus::Running && stored.status != run.status {
                return Err(StoreError::Conflict(format!(
                    "run {} has ended {}",
                    run.id, stored.status
                )));
            }
            stored.status = run.status;
            stored.counts = run.counts.clone();
            stored.errors = run.errors.clone();
            stored.finished_at = run.finished_at;
            stored.replan_pending = run.replan_pending;
            stored.skipped_ticks = run.skipped_ticks;
            Ok(())
        })
    }

    async fn get_run(&self, id: RunId) -> Result<SyncRun, StoreError> {
        self.with(|s| {
            s.runs
                .get(&id)
                .cloned()
                .ok_or_else(|| StoreError::NotFound(format!("run {id}")))
        })
    }

    async fn list_runs(
        &self,
        job: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<SyncRun>, StoreError> {
        self.with(|s| {
            let runs = s
                .runs
                .values()
                .rev()
                .filter(|run| job.is_none_or(|job| run.job == job))
                .cloned()
                .collect();
            Ok(page_of(runs, page))
        })
    }

    async fn last_run(&self, job: &str) -> Result<Option<SyncRun>, StoreError> {
        self.with(|s| {
            Ok(s.runs
                .values()
                .filter(|run| run.job == job)
                .max_by_key(|run| (run.due_at, run.id))
                .cloned())
        })
    }

    async fn interrupt_orphaned_runs(
        &self,
        alive_since: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<Vec<RunId>, StoreError> {
        self.with(|s| {
            let live = |process: &str| {
                s.processes
                    .get(process)
                    .is_some_and(|p| p.last_seen_at >= alive_since)
            };
            let orphans: Vec<RunId> = s
                .runs
                .values()
                .filter(|run| run.status == RunStatus::Running)
                .filter(|run| !run.owner.as_ref().is_some_and(|o| live(&o.process)))
                .map(|run| run.id)
                .collect();
            for id in &orphans {
                let run = s.runs.get_mut(id).expect("listed above");
                run.status = RunStatus::Interrupted;
                run.finished_at = Some(at);
                run.replan_pending = true;
                let c = &mut run.counts;
                c.missed = c
                    .planned
                    .max(c.fetched + c.failed + c.skipped_fresh + c.missed)
                    - (c.fetched + c.failed + c.skipped_fresh);
            }
            s.processes.retain(|_, p| p.last_seen_at >= alive_since);
            Ok(orphans)
        })
    }

    async fn runs_to_replan(&self) -> Result<Vec<SyncRun>, StoreError> {
        self.with(|s| {
            Ok(s.runs
                .values()
                .filter(|run| run.status == RunStatus::Interrupted && run.replan_pending)
                .cloned()
                .collect())
        })
    }
}

#[async_trait]
impl Control for MemoryStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.with(|_| Ok(()))
    }

    async fn pause_state(&self) -> Result<PauseState, StoreError> {
        self.with(|s| Ok(s.pause))
    }

    async fn set_paused(&self, paused: bool, at: DateTime<Utc>) -> Result<PauseState, StoreError> {
        self.with(|s| {
            s.pause = match (paused, s.pause.paused) {
                (true, true) => s.pause,
                (true, false) => PauseState {
                    paused: true,
                    paused_at: Some(at),
                },
                (false, _) => PauseState::default(),
            };
            Ok(s.pause)
        })
    }
}
