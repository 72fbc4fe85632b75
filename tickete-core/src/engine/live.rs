//! Live reads: a reader asks for a (product, date) no older than N seconds.
//!
//! When the stored day is older, the engine fetches it now, ahead of queued work (the next
//! paced turn goes to it: the worker hands its own turn over when a live fetch is waiting),
//! under the same pacer and 429 hold; concurrent readers of one pair share one call, and each
//! waits at most [`LiveSettings::wait`]. A fetch the reader stopped waiting for still lands.
//! On a shared store, a call whose pair another process fetched while it waited for its turn
//! is not sent (replicas serving the same readers make one call between them, their turns
//! being a pacing interval apart). Live fetches take at most [`LiveSettings::share`] of the
//! budget in any minute and each
//! client address at most [`LiveSettings::per_client_per_minute`]. A live fetch is a normal
//! fetch: applied atomically with its change event, learnt by the refresh policy, counted in
//! `/metrics` (`tickete_live_reads_total{outcome}`, `tickete_live_wait_seconds`).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

use super::worker::Fetched;
use super::{Engine, EngineEvent};
use crate::domain::{ProductId, Slot};
use crate::source::SourceError;
use crate::store::StoreError;

/// How live reads may spend the budget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LiveSettings {
    /// Longest a reader waits for its fetch (`TICKETE_LIVE_WAIT_MS`).
    pub wait: Duration,
    /// Share (0..=1) of the partner budget live fetches may take in any minute
    /// (`TICKETE_LIVE_SHARE`).
    pub share: f64,
    /// Live fetches one client address may cause in any minute
    /// (`TICKETE_LIVE_PER_CLIENT_PER_MINUTE`).
    pub per_client_per_minute: u32,
}

impl Default for LiveSettings {
    fn default() -> Self {
        Self {
            wait: Duration::from_millis(3000),
            share: 0.5,
            per_client_per_minute: 10,
        }
    }
}

/// How a live read ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LiveOutcome {
    /// Fetched and applied: the reader gets the partner's answer of this moment.
    Fetched,
    /// The wait ran out (the fetch still lands, for the next reader).
    Timeout,
    /// Partner calls are held (a 429 hold, or sync paused).
    Hold,
    /// The partner failed or refused, or its answer could not be kept.
    PartnerError,
    /// Over the live share of the budget or the client's allowance (or the product is not
    /// synced).
    Budget,
}

impl LiveOutcome {
    /// The spelling of `Tickete-Freshness` and of the metric's `outcome` label.
    pub fn as_str(self) -> &'static str {
        match self {
            LiveOutcome::Fetched => "fetched",
            LiveOutcome::Timeout => "timeout",
            LiveOutcome::Hold => "hold",
            LiveOutcome::PartnerError => "partner-error",
            LiveOutcome::Budget => "budget",
        }
    }
}

/// A day read no older than asked, as the embedding API returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveDay {
    /// The day's slots, as stored after the live fetch (or as they were, if it failed).
    pub slots: Vec<Slot>,
    /// When this data was fetched from the partner; `None` when never.
    pub synced_at: Option<DateTime<Utc>>,
    /// `None`: the stored day was young enough; else how the live fetch went.
    pub live: Option<LiveOutcome>,
}

type Pair = (ProductId, NaiveDate);

/// Live fetches in flight and landed, recent ones (for the caps), and the fetches waiting for
/// a turn.
#[derive(Default)]
pub(super) struct LiveState {
    calls: Mutex<Calls>,
    recent: Mutex<Recent>,
    waiting_for_turn: Mutex<VecDeque<oneshot::Sender<()>>>,
}

/// Live calls in flight (readers join them), and when each pair's latest live call landed (a
/// reader who decided to fetch just before it landed takes it instead of a second call).
#[derive(Default)]
struct Calls {
    in_flight: HashMap<Pair, watch::Receiver<Option<LiveOutcome>>>,
    landed: HashMap<Pair, DateTime<Utc>>,
}

/// Landed calls kept before the oldest are forgotten.
const LANDED_KEPT: usize = 4096;

/// Start times of live fetches in the last minute, in all and per client.
#[derive(Default)]
struct Recent {
    all: VecDeque<Instant>,
    by_client: HashMap<IpAddr, VecDeque<Instant>>,
}

const MINUTE: Duration = Duration::from_secs(60);

fn forget_before(times: &mut VecDeque<Instant>, since: Instant) {
    while times.front().is_some_and(|at| *at <= since) {
        times.pop_front();
    }
}

impl Recent {
    /// Records a fetch for `client` now when both caps allow it; false otherwise.
    fn admit(&mut self, client: Option<IpAddr>, share_cap: usize, client_cap: usize) -> bool {
        let now = Instant::now();
        let since = now.checked_sub(MINUTE).unwrap_or(now);
        forget_before(&mut self.all, since);
        if self.all.len() >= share_cap {
            return false;
        }
        if let Some(client) = client {
            // Clients quiet for a minute are forgotten, so the map stays small.
            if self.by_client.len() > 4096 {
                self.by_client.retain(|_, times| {
                    forget_before(times, since);
                    !times.is_empty()
                });
            }
            let times = self.by_client.entry(client).or_default();
            forget_before(times, since);
            if times.len() >= client_cap {
                return false;
            }
            times.push_back(now);
        }
        self.all.push_back(now);
        true
    }

    fn last_minute(&mut self) -> usize {
        let now = Instant::now();
        forget_before(&mut self.all, now.checked_sub(MINUTE).unwrap_or(now));
        self.all.len()
    }
}

/// What a reader does next.
enum Step {
    /// Answered without a call of its own.
    Done(LiveOutcome),
    /// Waits for this call.
    Wait(watch::Receiver<Option<LiveOutcome>>),
    /// Would start a call: the deployment's live share must admit it first.
    NeedsShare,
}

impl Engine {
    /// Fetches (product, date) from the partner now for a reader who needs it no older than
    /// `max_age` and found it older in the store, waiting at most the live wait; concurrent
    /// readers of the pair share one call, and a call that landed within `max_age` serves
    /// readers who decided to fetch just before it landed. `client` is the reader's address,
    /// for its allowance.
    pub async fn live_fetch(
        &self,
        product: ProductId,
        date: NaiveDate,
        max_age: Duration,
        client: Option<IpAddr>,
    ) -> LiveOutcome {
        let waited = Instant::now();
        let outcome = self
            .live_fetch_waiting(product, date, max_age, client)
            .await;
        metrics::counter!("tickete_live_reads_total", "outcome" => outcome.as_str()).increment(1);
        metrics::histogram!("tickete_live_wait_seconds").record(waited.elapsed().as_secs_f64());
        outcome
    }

    async fn live_fetch_waiting(
        &self,
        product: ProductId,
        date: NaiveDate,
        max_age: Duration,
        client: Option<IpAddr>,
    ) -> LiveOutcome {
        // What the store holds now: another process may have fetched the pair since the
        // reader looked, and any fetch after this one is as fresh as the reader asked.
        let seen = match self.inner.store.served_slots(product, date).await {
            Ok(stored) => stored.synced_at,
            Err(_) => return LiveOutcome::PartnerError,
        };
        let now = self.inner.clock.now();
        if seen.is_some_and(|at| (now - at).to_std().unwrap_or_default() <= max_age) {
            return LiveOutcome::Fetched;
        }
        if self.pause_state().paused {
            return LiveOutcome::Hold;
        }
        match self.inner.budget.read_hold().await {
            Ok(Some(until)) if until > self.inner.clock.now() => return LiveOutcome::Hold,
            Ok(_) => {}
            Err(_) => return LiveOutcome::PartnerError,
        }
        // A disabled product gets no partner call, live or not.
        match self.inner.store.enabled_products().await {
            Ok(enabled) if enabled.contains(&product) => {}
            Ok(_) => return LiveOutcome::Budget,
            Err(_) => return LiveOutcome::PartnerError,
        }
        let mut outcome = match self.join_or_start(product, date, seen, max_age, client, false) {
            Step::Done(outcome) => return outcome,
            Step::Wait(outcome) => outcome,
            Step::NeedsShare => {
                // The share is the deployment's: replicas sharing a budget count their live
                // fetches together (this process's own caps follow, under the lock).
                match self.inner.budget.admit_live(self.live_share_cap()).await {
                    Ok(true) => {}
                    Ok(false) => return LiveOutcome::Budget,
                    Err(_) => return LiveOutcome::PartnerError,
                }
                match self.join_or_start(product, date, seen, max_age, client, true) {
                    Step::Done(outcome) => return outcome,
                    Step::Wait(outcome) => outcome,
                    Step::NeedsShare => return LiveOutcome::Budget,
                }
            }
        };
        let wait = self.inner.config.live.wait;
        let waited = tokio::time::timeout(wait, async {
            match outcome.wait_for(Option::is_some).await {
                Ok(done) => done.unwrap_or(LiveOutcome::PartnerError),
                Err(_) => LiveOutcome::PartnerError,
            }
        })
        .await;
        waited.unwrap_or(LiveOutcome::Timeout)
    }

    /// Under the lock: a call that landed within `max_age` answers, a call in flight is
    /// joined, else (once the deployment's share admitted it) a call is started if this
    /// process's caps allow.
    fn join_or_start(
        &self,
        product: ProductId,
        date: NaiveDate,
        seen: Option<DateTime<Utc>>,
        max_age: Duration,
        client: Option<IpAddr>,
        share_admitted: bool,
    ) -> Step {
        let now = self.inner.clock.now();
        let mut calls = self.inner.live.calls.lock().expect("live lock");
        let landed_in_time = calls
            .landed
            .get(&(product, date))
            .is_some_and(|at| (now - *at).to_std().unwrap_or_default() <= max_age);
        if landed_in_time {
            return Step::Done(LiveOutcome::Fetched);
        }
        if let Some(shared) = calls.in_flight.get(&(product, date)) {
            return Step::Wait(shared.clone());
        }
        if !share_admitted {
            return Step::NeedsShare;
        }
        if !self.admit_live(client) {
            return Step::Done(LiveOutcome::Budget);
        }
        let (sender, receiver) = watch::channel(None);
        calls.in_flight.insert((product, date), receiver.clone());
        tokio::spawn(self.clone().live_call(product, date, seen, sender));
        Step::Wait(receiver)
    }

    /// Live fetches a minute may take: the share of the rate.
    fn live_share_cap(&self) -> u32 {
        let rate = f64::from(self.inner.budget.rate_per_minute());
        (self.inner.config.live.share.clamp(0.0, 1.0) * rate).floor() as u32
    }

    fn admit_live(&self, client: Option<IpAddr>) -> bool {
        let live = self.inner.config.live;
        let share_cap = self.live_share_cap() as usize;
        let client_cap = live.per_client_per_minute as usize;
        self.inner
            .live
            .recent
            .lock()
            .expect("live lock")
            .admit(client, share_cap, client_cap)
    }

    /// Live fetches started in the last minute (for `/sync/status`).
    pub fn live_fetches_last_minute(&self) -> usize {
        self.inner
            .live
            .recent
            .lock()
            .expect("live lock")
            .last_minute()
    }

    /// The one partner call of a live read: the next paced turn (its own, or the worker's,
    /// handed over), then fetch and apply as any fetch.
    async fn live_call(
        self,
        product: ProductId,
        date: NaiveDate,
        seen: Option<DateTime<Utc>>,
        done: watch::Sender<Option<LiveOutcome>>,
    ) {
        let outcome = self.live_call_outcome(product, date, seen).await;
        {
            let mut calls = self.inner.live.calls.lock().expect("live lock");
            calls.in_flight.remove(&(product, date));
            if outcome == LiveOutcome::Fetched {
                if calls.landed.len() >= LANDED_KEPT {
                    let oldest = calls
                        .landed
                        .iter()
                        .min_by_key(|(_, at)| **at)
                        .map(|(k, _)| *k);
                    if let Some(oldest) = oldest {
                        calls.landed.remove(&oldest);
                    }
                }
                calls.landed.insert((product, date), self.inner.clock.now());
            }
        }
        let _ = done.send(Some(outcome));
        let _ = self.inner.events.send(EngineEvent::TaskSettled {
            product,
            date,
            ok: outcome == LiveOutcome::Fetched,
        });
    }

    async fn live_call_outcome(
        &self,
        product: ProductId,
        date: NaiveDate,
        seen: Option<DateTime<Utc>>,
    ) -> LiveOutcome {
        let (turn, handed) = oneshot::channel();
        self.inner
            .live
            .waiting_for_turn
            .lock()
            .expect("live lock")
            .push_back(turn);
        let paced = tokio::select! {
            own = self.inner.budget.acquire() => own.is_ok(),
            handed = handed => handed.is_ok(),
        };
        if !paced {
            return LiveOutcome::PartnerError;
        }
        if self.pause_state().paused {
            return LiveOutcome::Hold;
        }
        // Another process on the store (a replica serving the same readers) may have fetched
        // the pair while this one waited for its turn: that answer is as fresh as asked.
        if let Ok(stored) = self.inner.store.served_slots(product, date).await {
            if stored.synced_at > seen {
                return LiveOutcome::Fetched;
            }
        }
        match self.fetch_and_apply(product, date).await {
            Fetched::Applied(_) => LiveOutcome::Fetched,
            Fetched::NotStored(_) => LiveOutcome::PartnerError,
            Fetched::Refused(SourceError::RateLimited { reset_at }) => {
                self.hold_partner_calls(reset_at).await;
                LiveOutcome::Hold
            }
            Fetched::Refused(error) => {
                self.record_fetch_error(product, date, &error).await;
                LiveOutcome::PartnerError
            }
        }
    }

    /// Gives a paced turn the worker just took to a live fetch waiting for one, if any;
    /// true when it was given (the worker then waits for another turn).
    pub(super) fn hand_turn_to_live_read(&self) -> bool {
        let mut waiting = self.inner.live.waiting_for_turn.lock().expect("live lock");
        while let Some(turn) = waiting.pop_front() {
            // A fetch that got its own turn meanwhile has dropped its receiver.
            if turn.send(()).is_ok() {
                return true;
            }
        }
        false
    }

    /// The slots of (product, date) no older than `max_age`: when the stored day is older (or
    /// was never fetched), it is fetched live first, as a reader of the API would have it.
    /// `NotFound` for a product not in the catalogue.
    ///
    /// ```no_run
    /// # async fn example(engine: tickete_core::Engine) -> Result<(), tickete_core::StoreError> {
    /// use std::time::Duration;
    /// let product = tickete_core::ProductId::new(14).unwrap();
    /// let date = chrono::NaiveDate::from_ymd_opt(2025, 3, 25).unwrap();
    /// let day = engine
    ///     .slots_no_older_than(product, date, Duration::from_secs(60))
    ///     .await?;
    /// if let Some(outcome) = day.live {
    ///     println!("live fetch: {}", outcome.as_str());
    /// }
    /// println!("{} slots, fetched at {:?}", day.slots.len(), day.synced_at);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn slots_no_older_than(
        &self,
        product: ProductId,
        date: NaiveDate,
        max_age: Duration,
    ) -> Result<LiveDay, StoreError> {
        let stored = self.inner.store.served_slots(product, date).await?;
        let now = self.inner.clock.now();
        let too_old = stored
            .synced_at
            .is_none_or(|at| (now - at).to_std().unwrap_or_default() > max_age);
        let live = match too_old {
            true => Some(self.live_fetch(product, date, max_age, None).await),
            false => None,
        };
        let served = self.inner.store.served_slots(product, date).await?;
        Ok(LiveDay {
            slots: self.inner.store.slots(product, date).await?,
            synced_at: served.synced_at,
            live,
        })
    }
}
