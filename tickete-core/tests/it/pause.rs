//! Pause and resume under a paused tokio clock: a paused engine calls no partner, and the
//! flag survives a restart.

use std::time::Duration;
use tickete_core::store::prelude::*;

use tickete_core::engine::RunRequest;
use tickete_core::{Engine, EngineError, RunStatus};

use crate::harness::Harness;

#[tokio::test(start_paused = true)]
async fn pause_stops_partner_calls_and_resume_continues() {
    let mut h = Harness::new(&[1, 2], 30).await;
    h.start_worker();
    let run = h.sync("pausable", 10).await; // 20 tasks
    tokio::time::sleep(Duration::from_secs(9)).await;
    h.engine.pause().await.unwrap();
    let at_pause = h.source.calls().len();
    assert!((4..=6).contains(&at_pause), "{at_pause} calls before pause");
    assert!(
        h.store.pause_state().await.unwrap().paused,
        "pause is persisted"
    );
    assert_eq!(
        h.engine.start_run(RunRequest::next_days(1)).await,
        Err(EngineError::Paused)
    );

    tokio::time::sleep(Duration::from_secs(120)).await;
    assert_eq!(h.source.calls().len(), at_pause, "no calls while paused");
    assert_eq!(h.engine.status().await.unwrap().pending, 20 - at_pause);

    h.engine.resume().await.unwrap();
    let run = h.engine.wait_for_run(run.id).await.unwrap();
    assert_eq!(run.status, RunStatus::Succeeded);
    assert_eq!(h.source.calls().len(), 20);
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn pause_survives_a_restart() {
    let h = Harness::new(&[1], 30).await;
    h.engine.pause().await.unwrap();
    let restarted = Engine::builder(h.store.clone(), h.source.clone())
        .build()
        .await
        .unwrap();
    assert!(restarted.pause_state().paused);
}
