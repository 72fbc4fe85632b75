//! `TICKETE_SYNC_SPARE_SHARE` (SPEC §4): by default the engine spends only the calls its
//! targets need; with a share it spends that share of the left-over budget on early
//! refreshes, never past the budget.

use std::num::NonZeroU32;
use std::time::Duration;

use tickete_core::store::prelude::*;
use tickete_core::{EngineConfig, SyncJob};

use crate::harness::{day, max_calls_in_any_minute, pid, runs_of, Harness};

/// Partner calls in two hours with the given spare share, and the calls the runs made.
/// Two products at 30 calls a minute with `spare_share`, and one job: today, hourly (2 calls
/// an hour of the budget's 1,800).
fn config(spare_share: f64) -> EngineConfig {
    EngineConfig {
        rate_per_minute: NonZeroU32::new(30).unwrap(),
        spare_share,
        ..EngineConfig::default()
    }
}

async fn hourly_today(spare_share: f64) -> Harness {
    let h = Harness::with_config(&[1, 2], config(spare_share)).await;
    let job = SyncJob {
        name: "hourly-today".into(),
        schedule: "0 * * * *".into(),
        window_days: 1,
        enabled: true,
    };
    h.store.insert_job_if_missing(&job).await.unwrap();
    h
}

async fn two_hours(spare_share: f64) -> (usize, u32, Vec<tokio::time::Instant>) {
    let mut h = hourly_today(spare_share).await;
    h.start_scheduler();
    h.start_worker();
    tokio::time::sleep(Duration::from_secs(2 * 3600)).await;
    h.stop().await;
    let by_runs = runs_of(&h.store, "hourly-today")
        .await
        .iter()
        .map(|run| run.counts.fetched + run.counts.failed)
        .sum();
    let calls: Vec<_> = h.source.calls().iter().map(|call| call.at).collect();
    (calls.len(), by_runs, calls)
}

#[tokio::test(start_paused = true)]
async fn without_a_spare_share_only_the_targets_are_paid_for() {
    let (calls, by_runs, _) = two_hours(0.0).await;
    // The first-start run and the 09:00 tick, two pairs each.
    assert_eq!(by_runs, 4);
    assert_eq!(calls, 4, "no call beyond the runs' own");
}

#[tokio::test(start_paused = true)]
async fn a_spare_share_spends_that_share_of_the_left_over_budget() {
    // The targets need 2 calls an hour; 30 a minute are left over, almost all of it.
    let (half, by_runs, _) = two_hours(0.5).await;
    let spare = (half - by_runs as usize) as f64;
    let expected = 0.5 * (30.0 - 2.0 / 60.0) * 120.0;
    assert!(
        (0.95 * expected..=expected + 1.0).contains(&spare),
        "{spare} early refreshes, expected about {expected}"
    );
    let (all, _, calls) = two_hours(1.0).await;
    assert!(all > half + 1500, "share 1: {all} calls, share ½: {half}");
    assert!(
        max_calls_in_any_minute(&calls) <= 30,
        "never past the budget"
    );
}

/// Two servers on one store spend the spare share once between them, not once each: each
/// takes its part by the live servers it counts at its heartbeat.
#[tokio::test(start_paused = true)]
async fn two_servers_on_one_store_spend_the_spare_share_once() {
    let mut h = hourly_today(0.5).await;
    let other = tickete_core::Engine::builder(h.store.clone(), h.source.clone())
        .config(config(0.5))
        .clock(h.clock.clone())
        .build()
        .await
        .unwrap();
    // Its own scheduler loop would do this; one planner is enough on a local queue.
    other.update_policy().await.unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    let other_worker = tokio::spawn({
        let (other, stop) = (other.clone(), stop.clone());
        async move { other.run(stop).await }
    });
    h.start_scheduler();
    h.start_worker();
    tokio::time::sleep(Duration::from_secs(2 * 3600)).await;
    h.stop().await;
    stop.cancel();
    other_worker.await.unwrap();
    let by_runs: u32 = runs_of(&h.store, "hourly-today")
        .await
        .iter()
        .map(|run| run.counts.fetched + run.counts.failed)
        .sum();
    let spare = (h.source.calls().len() - by_runs as usize) as f64;
    let once = 0.5 * (30.0 - 2.0 / 60.0) * 120.0;
    assert!(
        (0.95 * once..=once * 1.02).contains(&spare),
        "{spare} early refreshes by two servers, the share once is about {once}"
    );
}

/// Within budget, the date a window gains at midnight is fetched in the two hours before it,
/// on idle budget, so the window holds its target from 00:00 (not from when the midnight run
/// reaches its last date).
#[tokio::test(start_paused = true)]
async fn the_date_entering_a_window_at_midnight_is_fetched_ahead() {
    let mut h = Harness::at(&[1, 2], 30, "2026-03-01T20:00:00Z", chrono_tz::Tz::UTC).await;
    let job = SyncJob {
        name: "daily-3-days".into(),
        schedule: "0 0 * * *".into(),
        window_days: 3,
        enabled: true,
    };
    h.store.insert_job_if_missing(&job).await.unwrap();
    h.start_scheduler();
    h.start_worker();
    let entering = day(3);
    let calls_for = |h: &Harness| {
        [pid(1), pid(2)]
            .iter()
            .map(|product| h.source.calls_for(*product, entering))
            .collect::<Vec<_>>()
    };
    // 21:30: the first-start run fetched the window; nothing ahead yet.
    tokio::time::sleep(Duration::from_secs(90 * 60)).await;
    assert_eq!(h.source.calls().len(), 6);
    assert_eq!(calls_for(&h), [0, 0]);
    // 23:59: fetched ahead, once each; nothing further out.
    tokio::time::sleep(Duration::from_secs(149 * 60)).await;
    assert_eq!(calls_for(&h), [1, 1]);
    assert_eq!(h.source.calls_for(pid(1), day(4)), 0);
    let states = h.store.day_states(entering, day(4)).await.unwrap();
    assert_eq!(states.len(), 2);
    assert!(states.iter().all(|state| state.synced_at.is_some()));
    h.stop().await;
}
