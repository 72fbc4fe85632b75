//! The change feed (SPEC §6): every applied change of a (product, date) becomes one event,
//! written by the store in the transaction of the change; runs that end add
//! `sync.run.finished`. Events are read back in commit order by sequence: by webhooks (their
//! deliveries are kept by the [`Webhooks`] capability), by the server's event stream, and by
//! embedders through [`Subscription`].
//!
//! ```
//! # #[cfg(feature = "testing")]
//! # {
//! use std::sync::Arc;
//! use tickete_core::feed::{EventType, Subscription};
//! use tickete_core::store::prelude::*;
//! use tickete_core::testing::{sample_day, MemoryStore};
//! use tickete_core::{Product, ProductId};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let store = Arc::new(MemoryStore::new());
//! let product = ProductId::new(14)?;
//! store.upsert_product(&Product { id: product, name: "Gardens".into(), enabled: true }).await?;
//! let mut feed = Subscription::new(store.clone(), 0, vec![EventType::AvailabilityChanged]);
//! let date = chrono::NaiveDate::from_ymd_opt(2030, 1, 2).unwrap();
//! store.apply_day(product, &sample_day(date, &["09:00"]), chrono::Utc::now()).await?;
//! let event = feed.next().await?;
//! assert_eq!(event.subject, Some((product, date)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! # }
//! ```

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;

use crate::engine::EngineEvent;
use crate::store::StoreError;

mod commits;
mod event;
mod store;

pub use commits::{Commits, ANNOUNCED_POLL_INTERVAL};
pub use event::{join_types, new_event_id, parse_types, subject_key, Event, EventType, NewEvent};
pub use store::{
    AttemptResult, ClaimedDelivery, Delivery, DeliveryStatus, Events, Webhook, WebhookPatch,
    WebhookSecret, Webhooks, EVENT_RETENTION_DAYS,
};

/// Waits before each retry of a delivery (SPEC §6): after the 8th failed attempt it is failed.
pub const RETRY_DELAYS: [Duration; 7] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];

/// An endpoint failing every attempt this long is disabled.
pub const DISABLE_AFTER: Duration = Duration::from_secs(5 * 24 * 3600);

/// The wait before the next attempt after `attempts` failed ones, `None` when spent.
pub fn retry_delay(attempts: u32) -> Option<Duration> {
    let index = usize::try_from(attempts.checked_sub(1)?).ok()?;
    RETRY_DELAYS.get(index).copied()
}

/// How often a subscription looks at the store when nothing woke it (changes written by
/// another process, or an engine it was not given).
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// An in-process reader of the feed: events after a sequence, in order, waiting for new ones.
/// Nothing is missed: it reads the store's outbox, so a subscriber that falls behind catches
/// up from the kept events (7 days).
pub struct Subscription {
    store: Arc<dyn Events>,
    after: u64,
    types: Vec<EventType>,
    buffer: VecDeque<Event>,
    wake: Option<broadcast::Receiver<EngineEvent>>,
    commits: Option<Arc<Commits>>,
}

impl Subscription {
    /// Events after sequence `after` (0: from the oldest kept) of `types` (empty: all).
    pub fn new(store: Arc<dyn Events>, after: u64, types: Vec<EventType>) -> Self {
        Self {
            store,
            after,
            types,
            buffer: VecDeque::new(),
            wake: None,
            commits: None,
        }
    }

    /// Events from now on (after the latest written).
    pub async fn from_now(
        store: Arc<dyn Events>,
        types: Vec<EventType>,
    ) -> Result<Self, StoreError> {
        let after = store.latest_event_seq().await?;
        Ok(Self::new(store, after, types))
    }

    /// Wakes at once when `engine` settles a task or ends a run, or when another process's
    /// commit is announced to it, instead of at the next poll.
    pub fn woken_by(mut self, engine: &crate::Engine) -> Self {
        self.wake = Some(engine.subscribe());
        self.commits = Some(engine.commits().clone());
        self
    }

    /// The sequence of the last event returned (where a new subscription would resume).
    pub fn position(&self) -> u64 {
        self.after
    }

    /// The next event, waiting until there is one.
    pub async fn next(&mut self) -> Result<Event, StoreError> {
        loop {
            if let Some(event) = self.buffer.pop_front() {
                self.after = event.seq;
                return Ok(event);
            }
            // Listening before the read: a commit announced while it runs is not missed.
            let commits = self.commits.clone();
            let mut announced = commits.as_deref().map(|c| Box::pin(c.notified()));
            if let Some(announced) = announced.as_mut() {
                announced.as_mut().enable();
            }
            let events = self
                .store
                .events_after(self.after, &self.types, 256)
                .await?;
            if events.is_empty() {
                let poll = match commits.as_deref() {
                    Some(commits) if commits.heard() => ANNOUNCED_POLL_INTERVAL,
                    _ => POLL_INTERVAL,
                };
                let announced = async {
                    match announced {
                        Some(announced) => announced.await,
                        None => std::future::pending().await,
                    }
                };
                self.wait(announced, poll).await;
            } else {
                self.buffer.extend(events);
            }
        }
    }

    async fn wait(&mut self, announced: impl std::future::Future<Output = ()>, poll: Duration) {
        let Some(wake) = &mut self.wake else {
            return tokio::time::sleep(poll).await;
        };
        let closed = tokio::select! {
            woken = wake.recv() => matches!(woken, Err(broadcast::error::RecvError::Closed)),
            () = announced => false,
            () = tokio::time::sleep(poll) => false,
        };
        if closed {
            // The engine is gone: polling alone from now on.
            self.wake = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_has_seven_retries_then_stops() {
        assert_eq!(retry_delay(0), None);
        assert_eq!(retry_delay(1), Some(Duration::from_secs(5)));
        assert_eq!(retry_delay(7), Some(Duration::from_secs(36_000)));
        assert_eq!(retry_delay(8), None);
    }
}
