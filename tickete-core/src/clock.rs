//! Wall-clock time behind a trait, so tests with a paused tokio clock see time move.

use chrono::{DateTime, Utc};

/// Source of the current time.
pub trait Clock: Send + Sync + 'static {
    /// Now, in UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A wall clock that advances with tokio's clock: `start + tokio elapsed`.
///
/// With `tokio::time::pause()` it jumps exactly as far as paused time is advanced, which keeps
/// engine tests free of real sleeps.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    wall_start: DateTime<Utc>,
    tokio_start: tokio::time::Instant,
}

impl TokioClock {
    /// A clock reading `wall_start` now.
    pub fn starting_at(wall_start: DateTime<Utc>) -> Self {
        Self {
            wall_start,
            tokio_start: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed =
            chrono::Duration::from_std(self.tokio_start.elapsed()).unwrap_or(chrono::Duration::MAX);
        self.wall_start + elapsed
    }
}
