//! A feed subscription wakes when another process's commit is announced to its engine (on
//! Postgres, by the `NOTIFY` of the event write), not at its next poll.

use std::sync::Arc;

use tickete_core::feed::{
    EventType, Events, NewEvent, Subscription, ANNOUNCED_POLL_INTERVAL, POLL_INTERVAL,
};
use tickete_core::RunStatus;
use tokio::time::Instant;

use crate::harness::Harness;

/// An event as another process would write it, straight to the store this engine reads.
async fn written_elsewhere(h: &Harness) -> NewEvent {
    let now = h.engine.clock().now();
    let run = h.record_run("sync-today", now, RunStatus::Succeeded).await;
    NewEvent::run_finished(&run, now)
}

#[tokio::test(start_paused = true)]
async fn an_announced_commit_wakes_a_subscription_before_its_poll() {
    let h = Harness::new(&[14], 30).await;
    let commits = h.engine.commits().clone();
    commits.set_heard(true);
    let store: Arc<dyn Events> = h.store.clone();
    let mut feed =
        Subscription::new(store, 0, vec![EventType::SyncRunFinished]).woken_by(&h.engine);
    let reader = tokio::spawn(async move {
        let event = feed.next().await.unwrap();
        (event, Instant::now())
    });
    // The reader found nothing and waits (virtual time stands still until every task idles).
    tokio::task::yield_now().await;
    tokio::time::sleep(POLL_INTERVAL).await;
    let written_at = Instant::now();
    let event = written_elsewhere(&h).await;
    h.store.append_event(&event).await.unwrap();
    commits.announce();
    let (event, read_at) = reader.await.unwrap();
    assert_eq!(event.kind, EventType::SyncRunFinished);
    assert!(
        read_at - written_at < POLL_INTERVAL,
        "woken by the announcement, not a poll: {:?}",
        read_at - written_at
    );
}

#[tokio::test(start_paused = true)]
async fn without_an_announcement_the_poll_finds_the_event() {
    let h = Harness::new(&[14], 30).await;
    h.engine.commits().set_heard(true);
    let store: Arc<dyn Events> = h.store.clone();
    let mut feed =
        Subscription::new(store, 0, vec![EventType::SyncRunFinished]).woken_by(&h.engine);
    let reader = tokio::spawn(async move { feed.next().await.unwrap() });
    tokio::task::yield_now().await;
    let written_at = Instant::now();
    let event = written_elsewhere(&h).await;
    h.store.append_event(&event).await.unwrap();
    reader.await.unwrap();
    // Lost announcements are covered, at the long period kept while commits are announced.
    assert!(Instant::now() - written_at <= ANNOUNCED_POLL_INTERVAL);
    assert!(Instant::now() - written_at > POLL_INTERVAL);
}
