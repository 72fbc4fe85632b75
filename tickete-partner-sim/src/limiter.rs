//! The partner's rate limit (a fixed window, as `rateLimitState.reset` implies) and the
//! sliding-window traffic counter the stats report.

use std::collections::VecDeque;

/// A fixed window: it opens on the first request after the previous one ended, admits
/// `limit` requests, and resets `window_ms` after it opened.
#[derive(Debug, Clone)]
pub(crate) struct FixedWindow {
    limit: u32,
    window_ms: i64,
    opened_ms: i64,
    count: u32,
}

/// A refused request: the window resets at `reset_ms` (epoch ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refused {
    pub(crate) reset_ms: i64,
}

impl FixedWindow {
    /// `limit` requests per `window_ms`; a limit of 0 admits everything.
    pub(crate) fn new(limit: u32, window_ms: i64) -> Self {
        Self {
            limit,
            window_ms: window_ms.max(1),
            opened_ms: i64::MIN,
            count: 0,
        }
    }

    /// Admits or refuses one request arriving at `now_ms`.
    pub(crate) fn admit(&mut self, now_ms: i64) -> Result<(), Refused> {
        if self.limit == 0 {
            return Ok(());
        }
        if now_ms >= self.opened_ms.saturating_add(self.window_ms) {
            self.opened_ms = now_ms;
            self.count = 0;
        }
        if self.count >= self.limit {
            return Err(Refused {
                reset_ms: self.opened_ms + self.window_ms,
            });
        }
        self.count += 1;
        Ok(())
    }
}

/// The most requests seen in any window of `window_ms` (sliding, exact).
#[derive(Debug, Clone)]
pub(crate) struct SlidingMax {
    window_ms: i64,
    arrivals: VecDeque<i64>,
    max: usize,
}

impl SlidingMax {
    /// A counter over windows of `window_ms`.
    pub(crate) fn new(window_ms: i64) -> Self {
        Self {
            window_ms: window_ms.max(1),
            arrivals: VecDeque::new(),
            max: 0,
        }
    }

    /// Records an arrival at `now_ms` (non-decreasing).
    pub(crate) fn record(&mut self, now_ms: i64) {
        // The window (now - window, now] ending at this arrival; the maximum over all windows
        // is always reached by one that ends at an arrival.
        while self
            .arrivals
            .front()
            .is_some_and(|first| *first <= now_ms - self.window_ms)
        {
            self.arrivals.pop_front();
        }
        self.arrivals.push_back(now_ms);
        self.max = self.max.max(self.arrivals.len());
    }

    /// The maximum so far.
    pub(crate) fn max(&self) -> usize {
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_window_admits_limit_then_refuses_until_reset() {
        let mut window = FixedWindow::new(3, 1000);
        for t in [0, 10, 20] {
            assert_eq!(window.admit(t), Ok(()));
        }
        assert_eq!(window.admit(999), Err(Refused { reset_ms: 1000 }));
        assert_eq!(window.admit(1000), Ok(()));
        let mut open = FixedWindow::new(0, 1000);
        assert!((0..100).all(|t| open.admit(t).is_ok()));
    }

    #[test]
    fn sliding_max_counts_the_busiest_window() {
        let mut counter = SlidingMax::new(1000);
        for t in [0, 100, 200, 1100, 1150, 1199, 1200] {
            counter.record(t);
        }
        // (199, 1199] holds 200, 1100, 1150, 1199; (200, 1200] holds 1100, 1150, 1199, 1200.
        assert_eq!(counter.max(), 4);
    }
}
