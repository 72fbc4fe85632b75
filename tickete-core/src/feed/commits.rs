//! Events committed by other processes on the same store, announced to this process's
//! subscriptions (on Postgres, by the `NOTIFY` each event write sends).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

/// How often a subscription looks at the store while the store announces every commit: a
/// fallback for a lost announcement, not the way events arrive.
pub const ANNOUNCED_POLL_INTERVAL: Duration = Duration::from_secs(5);

/// Commit announcements, shared by an engine and its subscriptions.
#[derive(Debug, Default)]
pub struct Commits {
    notify: Notify,
    heard: AtomicBool,
}

impl Commits {
    /// An event was committed (by any process): wakes every waiting subscription.
    pub fn announce(&self) {
        self.notify.notify_waiters();
    }

    /// Whether commits are being announced (the listener is connected); while they are,
    /// subscriptions poll the store only at [`ANNOUNCED_POLL_INTERVAL`].
    pub fn set_heard(&self, heard: bool) {
        self.heard.store(heard, Ordering::Relaxed);
    }

    /// Whether commits are being announced.
    pub fn heard(&self) -> bool {
        self.heard.load(Ordering::Relaxed)
    }

    /// Completes at the next announcement after it was created and enabled (or first polled).
    pub fn notified(&self) -> tokio::sync::futures::Notified<'_> {
        self.notify.notified()
    }
}
