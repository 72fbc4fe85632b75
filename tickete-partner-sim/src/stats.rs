//! What the simulator saw: counters, traffic maxima, per-day change times.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::Simulator;

/// Running counters of the partner route.
#[derive(Debug, Clone, Default)]
pub(crate) struct Counters {
    pub(crate) requests: u64,
    pub(crate) served: u64,
    pub(crate) rate_limited: u64,
    pub(crate) unauthorized: u64,
    pub(crate) not_found: u64,
    pub(crate) bad_request: u64,
    pub(crate) server_errors: u64,
    pub(crate) timeouts: u64,
    pub(crate) malformed: u64,
}

/// A snapshot of the simulator's statistics (`GET /__sim/stats`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimStats {
    /// When the simulator started.
    pub started_at: DateTime<Utc>,
    /// Configured requests per window (0 = no limit).
    pub rate_limit: u32,
    /// Configured window length in milliseconds.
    pub window_ms: u64,
    /// Every request that reached the partner route, whatever its answer.
    pub requests: u64,
    /// Requests answered 200 with a valid day.
    pub served: u64,
    /// Requests answered 429.
    pub rate_limited: u64,
    /// Requests answered 401 (missing or wrong key).
    pub unauthorized: u64,
    /// Requests for an unknown product (404).
    pub not_found: u64,
    /// Requests with a malformed product id or date (400).
    pub bad_request: u64,
    /// Injected 5xx answers.
    pub server_errors: u64,
    /// Injected hangs.
    pub timeouts: u64,
    /// Injected malformed 200 bodies.
    pub malformed: u64,
    /// The most partner-route requests seen in any 60 s (sliding) window, 429s included.
    pub max_requests_in_60s: u64,
    /// The most partner-route requests seen in any sliding window of the configured length.
    pub max_requests_in_window: u64,
    /// Every (product, date) asked for so far, by product then date.
    pub days: Vec<DayStats>,
}

/// One (product, date) the simulator has been asked about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DayStats {
    /// Product id.
    pub product_id: u32,
    /// Date.
    pub date: NaiveDate,
    /// When its answer last changed; `None` when unchanged since start.
    pub last_change_at: Option<DateTime<Utc>>,
    /// The current answer has been true since then: the last change, else the start.
    pub valid_since: DateTime<Utc>,
    /// Changes applied since start.
    pub changes: u64,
    /// Successful (200, valid) partner-route answers for this day.
    pub fetches: u64,
    /// Slots in the current answer.
    pub slots: usize,
}

impl Simulator {
    /// Stats, with `days` limited to `product` when given.
    pub(crate) fn stats_filtered(&self, product: Option<u32>) -> SimStats {
        let now = self.now_ms();
        let config = self.config();
        let mut state = self.lock();
        let mut keys: Vec<(u32, NaiveDate)> = state
            .days
            .keys()
            .filter(|(p, _)| product.is_none_or(|wanted| wanted == *p))
            .copied()
            .collect();
        keys.sort_unstable();
        let days = keys
            .into_iter()
            .map(|(product_id, date)| {
                let day = self.day_state(&mut state, product_id, date, now);
                let last_change_at = day.last_change_ms.map(|ms| self.at(ms));
                DayStats {
                    product_id,
                    date,
                    last_change_at,
                    valid_since: last_change_at.unwrap_or(self.started_at()),
                    changes: day.changes,
                    fetches: day.fetches,
                    slots: day.slots.len(),
                }
            })
            .collect();
        let c = &state.counters;
        SimStats {
            started_at: self.started_at(),
            rate_limit: config.rate_limit,
            window_ms: config.window.as_millis() as u64,
            requests: c.requests,
            served: c.served,
            rate_limited: c.rate_limited,
            unauthorized: c.unauthorized,
            not_found: c.not_found,
            bad_request: c.bad_request,
            server_errors: c.server_errors,
            timeouts: c.timeouts,
            malformed: c.malformed,
            max_requests_in_60s: state.per_minute.max() as u64,
            max_requests_in_window: state.per_window.max() as u64,
            days,
        }
    }
}
