//! The engine's side of the refresh policy: what has been learnt (behind a lock), the
//! targets and the regime of the moment, and the [`TaskChooser`] the queues call when a
//! worker claims. The choice itself is [`super::policy`]'s, pure.

use std::sync::Mutex;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::policy::learnt::{Learnt, PairStats, Seen};
use super::policy::reads::{ReadDelta, ReadTally, Reads, MAX_BOOST};
use super::policy::{self, PairView, PolicyKind, Rank, Regime, CHEAP_FLOOR};
use super::work_queue::TaskChooser;
use super::Targets;
use crate::domain::{ProductId, SyncTask};

/// What the targets need of the budget (SPEC §4 `demand`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Demand {
    /// Partner calls a minute the targets need at the learnt rates.
    pub calls_per_minute: f64,
    /// That, as a share of the budget (above 1: the budget cannot hold every target).
    pub budget_share: f64,
}

/// The policy with its learnt state.
#[derive(Debug)]
pub struct RefreshPolicy {
    kind: PolicyKind,
    rate_per_minute: u32,
    state: Mutex<State>,
    /// Reads counted since the last flush to the store (the read path's only lock here).
    tally: Mutex<ReadTally>,
}

#[derive(Debug)]
struct State {
    learnt: Learnt,
    reads: Reads,
    targets: Targets,
    today: Option<NaiveDate>,
    regime: Regime,
    demand: Demand,
    /// When the latest load of learnt pairs from the store started.
    loaded_until: Option<DateTime<Utc>>,
}

impl RefreshPolicy {
    /// A policy of `kind` for a budget of `rate_per_minute`.
    pub fn new(kind: PolicyKind, rate_per_minute: u32) -> Self {
        Self {
            kind,
            rate_per_minute,
            state: Mutex::new(State {
                learnt: Learnt::default(),
                reads: Reads::default(),
                targets: Targets::default(),
                today: None,
                regime: Regime::Targets,
                demand: Demand {
                    calls_per_minute: 0.0,
                    budget_share: 0.0,
                },
                loaded_until: None,
            }),
            tally: Mutex::new(ReadTally::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("refresh policy lock")
    }

    /// Which policy this is.
    pub fn kind(&self) -> PolicyKind {
        self.kind
    }

    /// Takes the targets and catalogue of the moment: prunes past dates, recomputes the
    /// demand, and logs a warning when the budget stops (or starts again) covering it.
    pub fn update(&self, targets: Targets, enabled_products: &[ProductId], today: NaiveDate) {
        let mut state = self.state();
        if state.today != Some(today) {
            state.learnt.prune_before(today);
            state.reads.prune_before(today);
            state.today = Some(today);
        }
        let unknown = enabled_products
            .iter()
            .filter(|p| state.learnt.is_unknown(**p))
            .count();
        let horizon = targets.horizon_days();
        let empty = state
            .learnt
            .empty_days()
            .filter(|(product, date)| {
                enabled_products.contains(product)
                    && (*date - today).num_days() < i64::from(horizon)
            })
            .count();
        let calls_per_minute =
            policy::demand_per_minute(&targets, enabled_products.len() - unknown, unknown, empty);
        let demand = Demand {
            calls_per_minute,
            budget_share: calls_per_minute / f64::from(self.rate_per_minute.max(1)),
        };
        let regime = if demand.budget_share > 1.0 {
            Regime::Budget
        } else {
            Regime::Targets
        };
        if regime != state.regime {
            match regime {
                Regime::Budget => tracing::warn!(
                    calls_per_minute = format!("{calls_per_minute:.1}"),
                    budget = self.rate_per_minute,
                    "the freshness targets need more partner calls than the budget allows; \
                     fetching what is most likely changed and read, every pair at least every 48 h"
                ),
                Regime::Targets => tracing::info!(
                    calls_per_minute = format!("{calls_per_minute:.1}"),
                    budget = self.rate_per_minute,
                    "the budget covers every freshness target again"
                ),
            }
        }
        metrics::gauge!("tickete_budget_demand_ratio").set(demand.budget_share);
        state.regime = regime;
        state.demand = demand;
        state.targets = targets;
    }

    /// Records what a fetch of (product, date) found.
    pub fn observe(&self, product: ProductId, date: NaiveDate, seen: Seen, now: DateTime<Utc>) {
        let mut state = self.state();
        let days_ahead = state.today.map_or(0, |today| days_ahead(today, date));
        state.learnt.observe(product, date, days_ahead, seen, now);
    }

    /// Takes learnt pairs as the store keeps them (see [`Learnt::absorb`]); with `loaded_at`
    /// (a load from the store that started then, not one write's answer), the next load asks
    /// only for pairs fetched since about that instant.
    ///
    /// The mark is when the load started, not the latest fetch among the pairs: that one
    /// stands still while nothing is fetched (sync paused, or after a fast `tickete sync`
    /// fill), and every load would read the same pairs again — 60,000 rows a minute after
    /// a fill of 1,000 products × 60 days, a second of CPU each time.
    pub fn absorb(
        &self,
        pairs: impl IntoIterator<Item = (ProductId, NaiveDate, PairStats)>,
        days_ahead_at: impl Fn(NaiveDate, DateTime<Utc>) -> u32,
        loaded_at: Option<DateTime<Utc>>,
    ) {
        let mut state = self.state();
        state.loaded_until = state.loaded_until.max(loaded_at);
        state.learnt.absorb(pairs, days_ahead_at);
    }

    /// What has been learnt of (product, date), if it was ever fetched.
    pub fn learnt_pair(&self, product: ProductId, date: NaiveDate) -> Option<PairStats> {
        self.state().learnt.pair(product, date).cloned()
    }

    /// How much reads raise the importance of (product, date) now (1: no reads).
    pub fn read_boost(&self, product: ProductId, date: NaiveDate) -> f64 {
        self.state().reads.boost(product, date)
    }

    /// When the latest load of learnt pairs from the store started (`None`: none yet).
    pub fn loaded_until(&self) -> Option<DateTime<Utc>> {
        self.state().loaded_until
    }

    fn tally(&self) -> std::sync::MutexGuard<'_, ReadTally> {
        self.tally.lock().expect("read tally lock")
    }

    /// Counts a public read of (product, date) (until the next flush).
    pub fn note_read(&self, product: ProductId, date: NaiveDate) {
        self.tally().pair(product, date);
    }

    /// Counts a public read of a product's dates (spread over `window` at the next flush).
    pub fn note_dates_read(&self, product: ProductId) {
        self.tally().window(product);
    }

    /// [`Self::note_read`] by a client address, within what one client may add.
    pub fn note_client_read(
        &self,
        client: std::net::IpAddr,
        product: ProductId,
        date: NaiveDate,
        now: DateTime<Utc>,
    ) {
        self.tally().client_pair(client, product, date, now);
    }

    /// [`Self::note_dates_read`] by a client address, within what one client may add.
    pub fn note_client_dates_read(
        &self,
        client: std::net::IpAddr,
        product: ProductId,
        now: DateTime<Utc>,
    ) {
        self.tally().client_window(client, product, now);
    }

    /// The reads counted since the last flush, dates reads spread over `window`.
    pub fn take_reads(&self, window: &[NaiveDate]) -> Vec<ReadDelta> {
        self.tally().take(window)
    }

    /// Puts back reads a flush could not write.
    pub fn restore_reads(&self, deltas: &[ReadDelta]) {
        self.tally().restore(deltas);
    }

    /// Replaces the read counts with the merged ones of every replica (decayed to `now`).
    pub fn replace_reads(
        &self,
        weights: impl IntoIterator<Item = ((ProductId, NaiveDate), f64)>,
        now: DateTime<Utc>,
    ) {
        self.state().reads.replace(weights, now);
    }

    /// Forgets a product that left the catalogue.
    pub fn forget_product(&self, product: ProductId) {
        self.state().learnt.forget_product(product);
    }

    /// The demand as last computed.
    pub fn demand(&self) -> Demand {
        self.state().demand
    }

    /// The jobs whose targets the budget cannot hold, nearest dates served first: walking
    /// the dates from today, each known pair needs one call per target; the first job whose
    /// dates push the need past the budget, and every job after it, cannot be held.
    pub fn unheld_jobs(&self) -> Vec<String> {
        let state = self.state();
        let per_pair = state.demand.calls_per_minute
            / policy::demand_per_minute(&state.targets, 1, 0, 0).max(f64::MIN_POSITIVE);
        let budget = f64::from(self.rate_per_minute);
        let mut need = 0.0;
        let mut unheld: Vec<String> = Vec::new();
        for ahead in 0..state.targets.horizon_days() {
            let Some(target) = state.targets.for_days_ahead(ahead) else {
                continue;
            };
            need += per_pair * 60.0 / target.num_seconds().max(1) as f64;
            if need > budget + 1e-9 {
                for job in state.targets.jobs() {
                    if ahead < job.window_days && job.period == target && !unheld.contains(&job.job)
                    {
                        unheld.push(job.job.clone());
                    }
                }
            }
        }
        unheld
    }

    /// Whether the partner does not know `product` (404 on every date since its last 200).
    pub fn is_unknown(&self, product: ProductId) -> bool {
        self.state().learnt.is_unknown(product)
    }

    /// Whether planning leaves (product, date) out: a product the partner does not know is
    /// probed once a day, on the first date of the window only.
    pub fn skips(
        &self,
        product: ProductId,
        date: NaiveDate,
        first: NaiveDate,
        now: DateTime<Utc>,
    ) -> bool {
        if self.kind == PolicyKind::NearestDateFirst {
            return false;
        }
        let state = self.state();
        let Some(stats) = state.learnt.product(product) else {
            return false;
        };
        if stats.unknown_since.is_none() {
            return false;
        }
        date != first || stats.last_probe.is_some_and(|at| now - at < CHEAP_FLOOR)
    }
}

fn days_ahead(today: NaiveDate, date: NaiveDate) -> u32 {
    u32::try_from((date - today).num_days()).unwrap_or(0)
}

impl RefreshPolicy {
    /// What the policy knows of each candidate at `now`.
    fn views(&self, state: &State, candidates: &[SyncTask], now: DateTime<Utc>) -> Vec<PairView> {
        let today = state.today.unwrap_or_else(|| now.date_naive());
        candidates
            .iter()
            .map(|task| view_of(state, task, days_ahead(today, task.date), now))
            .collect()
    }

    /// Which of `candidates` an early refresh should fetch (see [`policy::choose_spare`]);
    /// products the partner does not know are left to their daily probe.
    pub fn choose_spare(&self, candidates: &[SyncTask], now: DateTime<Utc>) -> Option<usize> {
        let state = self.state();
        let known: Vec<usize> = (0..candidates.len())
            .filter(|&i| !state.learnt.is_unknown(candidates[i].product))
            .collect();
        let tasks: Vec<SyncTask> = known.iter().map(|&i| candidates[i].clone()).collect();
        let views = self.views(&state, &tasks, now);
        policy::choose_spare(&views).map(|chosen| known[chosen])
    }

    /// Days ahead the enabled jobs' windows cover, as of the last update.
    pub fn horizon_days(&self) -> u32 {
        self.state().targets.horizon_days()
    }
}

impl TaskChooser for RefreshPolicy {
    fn choose(&self, candidates: &[SyncTask], now: DateTime<Utc>) -> Option<usize> {
        if self.kind == PolicyKind::NearestDateFirst || candidates.is_empty() {
            // Candidates come in the queue's order: nearest date, then oldest data.
            return (!candidates.is_empty()).then_some(0);
        }
        let state = self.state();
        match state.regime {
            // Same order as the queue's; kept for a queue that lists its candidates anyway.
            Regime::Targets => {
                policy::choose(&self.views(&state, candidates, now), Regime::Targets)
            }
            Regime::Budget => choose_over_budget(&state, candidates, now),
        }
    }

    fn takes_first(&self) -> bool {
        // Within budget the policy's order is the queue's: nearest date, then oldest data.
        self.kind == PolicyKind::NearestDateFirst || self.state().regime == Regime::Targets
    }
}

/// [`policy::choose`] over budget, without building every view: the tiers above 1 need only
/// ages and targets (and, for pairs old enough to be past a learnt-empty day's floor, whether
/// the day is learnt empty); only when none is there are values computed, nearest dates
/// first, until no farther date could beat the best (a value is at most
/// `HORIZON_DECAY^days × (1 + MAX_BOOST)`). Same choice as ranking every view.
fn choose_over_budget(state: &State, candidates: &[SyncTask], now: DateTime<Utc>) -> Option<usize> {
    let today = state.today.unwrap_or_else(|| now.date_naive());
    let old_enough = CHEAP_FLOOR.num_seconds() as f64 * policy::FLOOR_SLACK;
    let mut top: Option<(usize, Rank)> = None;
    let mut days = Vec::with_capacity(candidates.len());
    for (index, task) in candidates.iter().enumerate() {
        let ahead = days_ahead(today, task.date);
        days.push(ahead);
        let age = age_of(task, now);
        let empty_day = age.is_some_and(|age| age >= old_enough)
            && state
                .learnt
                .pair(task.product, task.date)
                .is_some_and(|p| p.is_empty_day());
        // Tiers 3 and 2 need neither the learnt rate nor reads, except a never-fetched pair,
        // whose value is its importance (reads included).
        let view = match age {
            None => view_of(state, task, ahead, now),
            Some(_) => PairView {
                days_ahead: ahead,
                age,
                target: state.targets.for_days_ahead(ahead),
                rate: 0.0,
                read_boost: 1.0,
                empty_day,
                open_chance: 1.0,
            },
        };
        let rank = policy::rank(&view, Regime::Budget);
        if rank.tier >= 2 && top.is_none_or(|(_, best)| rank > best) {
            top = Some((index, rank));
        }
    }
    if let Some((index, _)) = top {
        return Some(index);
    }
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    if days.windows(2).any(|pair| pair[0] > pair[1]) {
        order.sort_by_key(|&index| days[index]);
    }
    let mut best: Option<(usize, f64)> = None;
    for index in order {
        let bound = policy::HORIZON_DECAY.powi(days[index] as i32) * (1.0 + MAX_BOOST);
        if best.is_some_and(|(_, value)| value > bound) {
            break;
        }
        let task = &candidates[index];
        let value = policy::rank(&view_of(state, task, days[index], now), Regime::Budget).value;
        if best.is_none_or(|(first, top)| value > top || (value == top && index < first)) {
            best = Some((index, value));
        }
    }
    best.map(|(index, _)| index)
}

/// Seconds since the task's pair was last fetched (`None`: never).
fn age_of(task: &SyncTask, now: DateTime<Utc>) -> Option<f64> {
    task.priority
        .synced_at
        .map(|at| (now - at).num_milliseconds().max(0) as f64 / 1000.0)
}

/// Everything the policy knows of one queued pair.
fn view_of(state: &State, task: &SyncTask, ahead: u32, now: DateTime<Utc>) -> PairView {
    let pair = state.learnt.pair(task.product, task.date);
    PairView {
        days_ahead: ahead,
        age: age_of(task, now),
        target: state.targets.for_days_ahead(ahead),
        rate: state.learnt.rate(task.product, task.date, ahead),
        read_boost: state.reads.boost(task.product, task.date),
        empty_day: pair.is_some_and(|p| p.is_empty_day()),
        open_chance: match pair {
            Some(_) => 1.0,
            None => state.learnt.open_chance(task.product, task.date),
        },
    }
}

mod reads_and_demand;

#[cfg(test)]
mod tests;
