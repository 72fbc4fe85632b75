//! The partner budget: one pacer for every partner call of a deployment.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use governor::clock::{Clock as GovernorClock, ReasonablyRealtime};
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

use crate::clock::Clock;
use crate::store::StoreError;

/// Decides when the next partner call may be sent.
///
/// The local [`Pacer`] serves one process; a database-backed budget lets several replicas share
/// one partner limit.
#[async_trait]
pub trait PartnerBudget: Send + Sync + 'static {
    /// Waits until one call may be sent, and spends it. Cancel-safe: dropping the future before
    /// it returns spends nothing.
    async fn acquire(&self) -> Result<(), StoreError>;
    /// Holds every call until `until` (the partner's reset time), e.g. after a 429.
    async fn hold_until(&self, until: DateTime<Utc>) -> Result<(), StoreError>;
    /// The ceiling, in calls per minute.
    fn rate_per_minute(&self) -> u32;
    /// When calls resume, if a 429 hold is in force.
    fn held_until(&self) -> Option<DateTime<Utc>>;
    /// Lifts a 429 hold at once (an operator's decision): waiting calls resume at the normal
    /// pace. Returns the hold that was in force, if any.
    async fn clear_hold(&self) -> Result<Option<DateTime<Utc>>, StoreError>;
    /// The hold in force as the shared state says: a budget kept in a store reads it there
    /// (another process may have met the 429); by default, what this process knows.
    async fn read_hold(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(self.held_until())
    }
    /// Counts one live fetch against `per_minute` for everyone who shares this budget: false
    /// when `per_minute` were started in the last 60 s. A budget shared by replicas keeps the
    /// count with it; by default every live fetch is this process's, which counts its own.
    async fn admit_live(&self, _per_minute: u32) -> Result<bool, StoreError> {
        Ok(true)
    }
    /// Calls spent per minute from the minute of `since` on, for everyone who shares this
    /// budget: (start of the minute, calls), oldest first, minutes without a call left out.
    /// Kept for [`CALLS_KEPT_MINUTES`].
    async fn calls_by_minute(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, u32)>, StoreError>;
}

/// How long the calls spent per minute are kept (the dashboard shows the last hour).
pub const CALLS_KEPT_MINUTES: i64 = 120;

/// The minute of `at`, as whole minutes since the epoch (how the stores key calls).
pub fn minute_of(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(60)
}

/// The start of minute `minute` (as [`minute_of`] counts them).
pub fn minute_start(minute: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(minute.saturating_mul(60), 0).unwrap_or_default()
}

/// Stored `(minute, calls)` rows (as [`minute_of`] counts minutes) as
/// [`PartnerBudget::calls_by_minute`] answers them; a negative count reads as 0.
pub fn calls_from_rows(rows: Vec<(i64, i64)>) -> Vec<(DateTime<Utc>, u32)> {
    rows.into_iter()
        .map(|(minute, calls)| (minute_start(minute), u32::try_from(calls).unwrap_or(0)))
        .collect()
}

/// Calls per minute in memory, for a budget that lives in one process.
#[derive(Debug, Default)]
pub struct CallsByMinute(Mutex<std::collections::VecDeque<(i64, u32)>>);

impl CallsByMinute {
    /// Counts one call at `at`, forgetting minutes older than [`CALLS_KEPT_MINUTES`].
    pub fn record(&self, at: DateTime<Utc>) {
        let minute = minute_of(at);
        let mut minutes = self.0.lock().expect("calls lock");
        match minutes.back_mut() {
            Some((last, calls)) if *last == minute => *calls += 1,
            _ => minutes.push_back((minute, 1)),
        }
        while minutes
            .front()
            .is_some_and(|(first, _)| *first < minute - CALLS_KEPT_MINUTES)
        {
            minutes.pop_front();
        }
    }

    /// The counted minutes from the minute of `since` on.
    pub fn since(&self, since: DateTime<Utc>) -> Vec<(DateTime<Utc>, u32)> {
        let from = minute_of(since);
        self.0
            .lock()
            .expect("calls lock")
            .iter()
            .filter(|(minute, _)| *minute >= from)
            .map(|(minute, calls)| (minute_start(*minute), *calls))
            .collect()
    }
}

/// Governor clock driven by tokio time, so paused-time tests pace exactly like production.
#[derive(Debug, Clone)]
struct TokioGovernorClock {
    start: tokio::time::Instant,
}

impl GovernorClock for TokioGovernorClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        Nanos::from(self.start.elapsed())
    }
}

impl ReasonablyRealtime for TokioGovernorClock {}

type Limiter = RateLimiter<NotKeyed, InMemoryState, TokioGovernorClock, NoOpMiddleware<Nanos>>;

/// Margin against the partner's 60 s window: a call may reach the partner up to this much
/// later than it was sent (a busy machine, the network), so calls are paced as if the window
/// were this much longer. `rate + 1` calls then span at least 61 s as sent, and no 60 s window
/// as the partner sees it holds more than `rate`, while the budget is still used at 60/61
/// (98.4 %).
pub const PACING_MARGIN: Duration = Duration::from_secs(1);

/// The spacing between two calls at `rate_per_minute`: `(60 s + margin) / rate`.
pub fn pacing_interval(rate_per_minute: NonZeroU32) -> Duration {
    (Duration::from_secs(60) + PACING_MARGIN) / rate_per_minute.get()
}

/// In-process GCRA pacer: calls are spaced evenly at [`pacing_interval`] (burst 1), so no
/// 60 s window ever holds more than `rate` calls, even as the partner sees them, and a queue
/// of work runs at the ceiling.
pub struct Pacer {
    rate_per_minute: NonZeroU32,
    limiter: Limiter,
    governor_clock: TokioGovernorClock,
    clock: Arc<dyn Clock>,
    hold: Mutex<Option<(tokio::time::Instant, DateTime<Utc>)>>,
    /// Wakes calls waiting out a hold when it is lifted.
    hold_lifted: tokio::sync::Notify,
    calls: CallsByMinute,
}

impl std::fmt::Debug for Pacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pacer")
            .field("rate_per_minute", &self.rate_per_minute)
            .field("held_until", &self.held_until())
            .finish()
    }
}

impl Pacer {
    /// A pacer at `rate_per_minute` calls, reading wall time from `clock`.
    pub fn new(rate_per_minute: NonZeroU32, clock: Arc<dyn Clock>) -> Self {
        let quota = Quota::with_period(pacing_interval(rate_per_minute))
            .expect("period of a non-zero rate is non-zero")
            .allow_burst(NonZeroU32::MIN);
        let governor_clock = TokioGovernorClock {
            start: tokio::time::Instant::now(),
        };
        Self {
            rate_per_minute,
            limiter: RateLimiter::direct_with_clock(quota, governor_clock.clone()),
            governor_clock,
            clock,
            hold: Mutex::new(None),
            hold_lifted: tokio::sync::Notify::new(),
            calls: CallsByMinute::default(),
        }
    }

    fn current_hold(&self) -> Option<tokio::time::Instant> {
        let mut hold = self.hold.lock().expect("pacer hold lock");
        match *hold {
            Some((until, _)) if until > tokio::time::Instant::now() => Some(until),
            Some(_) => {
                *hold = None;
                None
            }
            None => None,
        }
    }
}

#[async_trait]
impl PartnerBudget for Pacer {
    async fn acquire(&self) -> Result<(), StoreError> {
        loop {
            // Registered before the hold is read, so a lift in between is not missed.
            let lifted = self.hold_lifted.notified();
            tokio::pin!(lifted);
            lifted.as_mut().enable();
            if let Some(until) = self.current_hold() {
                tokio::select! {
                    () = tokio::time::sleep_until(until) => {}
                    () = lifted => {}
                }
                continue;
            }
            match self.limiter.check() {
                Ok(()) => {
                    self.calls.record(self.clock.now());
                    return Ok(());
                }
                Err(not_until) => {
                    let wait = not_until.wait_time_from(self.governor_clock.now());
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    async fn hold_until(&self, until: DateTime<Utc>) -> Result<(), StoreError> {
        // Jitter keeps every waiter (and every replica) from hitting the partner at the reset
        // instant, when its window may not have rolled over yet.
        let jitter = Duration::from_millis(rand::random::<u64>() % 1000);
        let wait = (until - self.clock.now()).to_std().unwrap_or_default() + jitter;
        let resume = tokio::time::Instant::now() + wait;
        let mut hold = self.hold.lock().expect("pacer hold lock");
        if hold.is_none_or(|(current, _)| current < resume) {
            let resume_wall = self.clock.now()
                + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
            *hold = Some((resume, resume_wall));
        }
        Ok(())
    }

    fn rate_per_minute(&self) -> u32 {
        self.rate_per_minute.get()
    }

    async fn clear_hold(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let lifted = self.held_until();
        *self.hold.lock().expect("pacer hold lock") = None;
        self.hold_lifted.notify_waiters();
        Ok(lifted)
    }

    fn held_until(&self) -> Option<DateTime<Utc>> {
        self.current_hold()?;
        self.hold
            .lock()
            .expect("pacer hold lock")
            .map(|(_, wall)| wall)
    }

    async fn calls_by_minute(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, u32)>, StoreError> {
        Ok(self.calls.since(since))
    }
}
