//! An event committed by any process is announced to every replica listening on the store:
//! the delivery worker wakes and the event streams are told (`LISTEN`/`NOTIFY`).

use std::sync::Arc;
use std::time::Duration;

use tickete_core::feed::{Commits, Events, NewEvent};
use tickete_core::store::prelude::*;
use tickete_core::{NewRun, Trigger};
use tickete_store_postgres::feed::wake_on_events;
use tokio::sync::Notify;

use crate::harness::TestDatabase;

#[tokio::test]
async fn a_committed_event_wakes_the_worker_and_is_announced_to_the_streams() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let store = db.store().clone();
    let (wake, commits) = (Arc::new(Notify::new()), Arc::new(Commits::default()));
    let listener = tokio::spawn(wake_on_events(store.clone(), wake.clone(), commits.clone()));
    for _ in 0..200 {
        if commits.heard() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(commits.heard(), "the listener is connected");

    let mut announced = Box::pin(commits.notified());
    announced.as_mut().enable();
    let now = chrono::Utc::now();
    let run = store
        .create_run(&NewRun {
            job: "sync-today".into(),
            trigger: Trigger::Manual,
            started_at: now,
            due_at: now,
            window_days: 1,
            products: None,
            manual: true,
            owner: None,
            replans: None,
        })
        .await
        .unwrap();
    store
        .append_event(&NewEvent::run_finished(&run, now))
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), announced)
        .await
        .expect("the commit was announced");
    tokio::time::timeout(Duration::from_secs(1), wake.notified())
        .await
        .expect("the delivery worker was woken");

    listener.abort();
    db.drop_database().await;
}
