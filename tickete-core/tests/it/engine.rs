//! Engine behaviour under a paused tokio clock: pacing, 429 holds, merging, priority,
//! failures, pause/resume and shutdown.

use std::time::Duration;
use tickete_core::store::prelude::*;

use tickete_core::engine::RunRequest;
use tickete_core::testing::sample_day;
use tickete_core::{Clock, EngineConfig, EngineError, RunStatus, SourceError};

use crate::harness::{day, max_calls_in_any_minute, pid, today, Harness};

#[tokio::test(start_paused = true)]
async fn pacer_never_exceeds_the_rate_and_runs_close_to_it_while_work_is_queued() {
    let products: Vec<u32> = (1..=10).collect();
    let mut h = Harness::new(&products, 30).await;
    h.start_worker();
    let run = h.sync("bulk", 20).await; // 200 tasks: ~400 s of work at 30/min
    tokio::time::sleep(Duration::from_secs(300)).await;

    let calls: Vec<_> = h.source.calls().iter().map(|call| call.at).collect();
    assert_eq!(
        max_calls_in_any_minute(&calls),
        30,
        "ceiling is 30 per minute"
    );
    for minute in 0..4u64 {
        let from = calls[0] + Duration::from_secs(60 * minute);
        let in_minute = calls
            .iter()
            .filter(|at| **at >= from && **at < from + Duration::from_secs(60))
            .count();
        assert!(
            in_minute >= 29,
            "minute {minute} made only {in_minute} of 30 calls"
        );
    }
    let spacing: Vec<_> = calls.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        spacing
            .iter()
            .all(|gap| *gap >= Duration::from_millis(1999)),
        "calls are spread evenly, never in bursts: {spacing:?}"
    );
    h.stop().await;
    let stored = h.store.get_run(run.id).await.unwrap();
    assert_eq!(stored.status, RunStatus::Interrupted);
}

#[tokio::test(start_paused = true)]
async fn a_429_holds_every_call_until_the_reset() {
    let mut h = Harness::new(&[1, 2, 3], 30).await;
    let reset_at = h.clock.now() + chrono::Duration::seconds(45);
    h.source
        .push_error(pid(1), today(), SourceError::RateLimited { reset_at });
    h.start_worker();
    let run = h.sync("rl", 2).await;
    let finished = h.engine.wait_for_run(run.id).await.unwrap();

    let calls = h.source.calls();
    let first = calls[0].at;
    let reset = first + Duration::from_secs(45);
    assert!(
        calls[1..].iter().all(|call| call.at >= reset),
        "no call between the 429 and the reset"
    );
    assert_eq!(calls.len(), 7, "6 tasks + the rate-limited attempt");
    assert_eq!(
        h.source.calls_for(pid(1), today()),
        2,
        "retried after reset"
    );
    assert_eq!(
        finished.status,
        RunStatus::Succeeded,
        "a 429 is not a task failure"
    );
    assert_eq!(finished.counts.failed, 0);
    h.stop().await;
}

/// A 429 whose reset was days away held every call for an hour (the client's clamp),
/// with no way to lift it. The engine clamps to `max_hold`, whatever the source says.
#[tokio::test(start_paused = true)]
async fn a_429_reset_days_away_holds_no_longer_than_max_hold() {
    let mut h = Harness::with_config(
        &[1],
        EngineConfig {
            rate_per_minute: std::num::NonZeroU32::new(30).unwrap(),
            max_hold: Duration::from_secs(600),
            ..EngineConfig::default()
        },
    )
    .await;
    let reset_at = h.clock.now() + chrono::Duration::days(3);
    h.source
        .push_error(pid(1), today(), SourceError::RateLimited { reset_at });
    h.start_worker();
    let run = h.sync("rl", 1).await;
    let finished = h.engine.wait_for_run(run.id).await.unwrap();
    assert_eq!(finished.status, RunStatus::Succeeded);
    let calls = h.source.calls();
    assert_eq!(calls.len(), 2, "the 429 and the retry");
    let held = calls[1].at - calls[0].at;
    assert!(
        held >= Duration::from_secs(600) && held <= Duration::from_secs(602),
        "held {held:?}, not 10 minutes (+ up to 1 s jitter)"
    );
    h.stop().await;
}

/// An operator sees the hold in the status and lifts it; calls resume at once at the
/// normal pace instead of waiting for the reset.
#[tokio::test(start_paused = true)]
async fn clear_hold_lifts_a_429_hold_at_once() {
    let mut h = Harness::new(&[1, 2], 30).await;
    let reset_at = h.clock.now() + chrono::Duration::minutes(50);
    h.source
        .push_error(pid(1), today(), SourceError::RateLimited { reset_at });
    h.start_worker();
    let run = h.sync("rl", 1).await;
    while h.source.calls().is_empty() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(10)).await;
    let held = h.engine.status().await.unwrap().held_until;
    assert!(held.is_some_and(|until| until >= reset_at), "{held:?}");
    assert_eq!(h.source.calls().len(), 1, "nothing is called while held");

    let lifted = h.engine.clear_hold().await.unwrap();
    assert_eq!(lifted, held);
    assert_eq!(h.engine.status().await.unwrap().held_until, None);
    assert_eq!(
        h.engine.clear_hold().await.unwrap(),
        None,
        "nothing left to lift"
    );
    let lifted_at = tokio::time::Instant::now();
    let finished = h.engine.wait_for_run(run.id).await.unwrap();
    assert_eq!(finished.status, RunStatus::Succeeded);
    let calls = h.source.calls();
    assert_eq!(calls.len(), 3, "the 429, then both products");
    assert!(
        calls[2].at - lifted_at <= Duration::from_secs(5),
        "calls resumed at the normal pace after the lift"
    );
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn overlapping_jobs_fetch_each_product_and_date_once() {
    let mut h = Harness::new(&[14, 15], 30).await;
    let week = h.sync("sync-next-7-days", 7).await;
    let month = h.sync("sync-next-30-days", 30).await;
    let today_run = h.sync("sync-today", 1).await;
    h.start_worker();
    for id in [week.id, month.id, today_run.id] {
        let run = h.engine.wait_for_run(id).await.unwrap();
        assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
        assert_eq!(run.counts.planned, run.counts.fetched);
    }
    assert_eq!(
        h.source.calls().len(),
        60,
        "2 products × 30 dates, each once"
    );
    for offset in 0..30 {
        assert_eq!(h.source.calls_for(pid(14), day(offset)), 1);
    }
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn todays_tasks_go_first_then_older_data() {
    let mut h = Harness::new(&[1, 2, 3], 60).await;
    // Product 2 today was synced long ago, product 3 today never: never-synced goes first.
    h.store
        .apply_day(
            pid(1),
            &sample_day(today(), &["09:00"]),
            h.clock.now() - chrono::Duration::minutes(5),
        )
        .await
        .unwrap();
    h.store
        .apply_day(
            pid(2),
            &sample_day(today(), &["09:00"]),
            h.clock.now() - chrono::Duration::hours(5),
        )
        .await
        .unwrap();
    let run = h.sync("order", 3).await;
    h.start_worker();
    h.engine.wait_for_run(run.id).await.unwrap();
    let order: Vec<_> = h
        .source
        .calls()
        .iter()
        .map(|call| (call.product.get(), call.date))
        .collect();
    assert_eq!(
        &order[..3],
        &[(3, today()), (2, today()), (1, today())],
        "today first; within today, older data first"
    );
    assert!(order[3..6].iter().all(|(_, date)| *date == day(1)));
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn failed_or_invalid_fetches_leave_stored_data_untouched() {
    let mut h = Harness::new(&[1], 30).await;
    let good = sample_day(today(), &["09:00", "10:00"]);
    h.store
        .apply_day(pid(1), &good, h.clock.now() - chrono::Duration::hours(1))
        .await
        .unwrap();
    h.store
        .apply_day(
            pid(1),
            &sample_day(day(1), &["11:00"]),
            h.clock.now() - chrono::Duration::hours(1),
        )
        .await
        .unwrap();
    h.source.push_error(
        pid(1),
        today(),
        SourceError::InvalidResponse("startDate 2026-03-02 is not the requested date".into()),
    );
    for _ in 0..3 {
        h.source
            .push_error(pid(1), day(1), SourceError::Transient("502".into()));
    }
    h.start_worker();
    let run = h.sync("faults", 2).await;
    let run = h.engine.wait_for_run(run.id).await.unwrap();

    assert_eq!(run.status, RunStatus::Failed);
    assert_eq!(run.counts.failed, 2);
    assert_eq!(run.errors.len(), 2);
    assert!(
        run.errors.iter().any(|e| e.contains("requested date")),
        "{run:?}"
    );
    assert_eq!(h.source.calls_for(pid(1), today()), 1, "invalid: no retry");
    assert_eq!(
        h.source.calls_for(pid(1), day(1)),
        3,
        "transient: 3 attempts"
    );
    assert_eq!(h.store.slots(pid(1), today()).await.unwrap(), good.slots);
    assert_eq!(h.store.slots(pid(1), day(1)).await.unwrap().len(), 1);
    let states = h.store.day_states(today(), day(2)).await.unwrap();
    assert!(states.iter().all(|state| state.last_error.is_some()));
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn transient_failures_are_retried_with_backoff_then_succeed() {
    let mut h = Harness::new(&[1], 30).await;
    for _ in 0..2 {
        h.source
            .push_error(pid(1), today(), SourceError::Transient("timeout".into()));
    }
    h.source
        .set_day(pid(1), today(), sample_day(today(), &["09:00"]).slots);
    h.start_worker();
    let run = h.sync("retry", 1).await;
    let run = h.engine.wait_for_run(run.id).await.unwrap();
    assert_eq!(run.status, RunStatus::Succeeded);
    let calls = h.source.calls();
    assert_eq!(calls.len(), 3);
    assert!(calls[2].at - calls[1].at > calls[1].at - calls[0].at - Duration::from_secs(2));
    assert!(
        calls[1].at - calls[0].at >= Duration::from_secs(2),
        "backoff"
    );
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn vanished_slots_are_removed_on_a_successful_fetch() {
    let mut h = Harness::new(&[1], 30).await;
    h.source.push_day(
        pid(1),
        today(),
        sample_day(today(), &["09:00", "10:00", "11:00"]).slots,
    );
    h.source.push_day(
        pid(1),
        today(),
        sample_day(today(), &["09:00", "11:00"]).slots,
    );
    h.start_worker();
    let first = h.sync("first", 1).await;
    let first = h.engine.wait_for_run(first.id).await.unwrap();
    assert_eq!(first.counts.changed, 1);
    assert_eq!(h.store.slots(pid(1), today()).await.unwrap().len(), 3);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let second = h.sync("second", 1).await;
    h.engine.wait_for_run(second.id).await.unwrap();
    let times: Vec<_> = h
        .store
        .slots(pid(1), today())
        .await
        .unwrap()
        .iter()
        .map(|slot| slot.start_time.to_string())
        .collect();
    assert_eq!(times, ["09:00:00", "11:00:00"]);
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn unchanged_content_is_counted_as_unchanged() {
    let mut h = Harness::new(&[1], 30).await;
    h.source
        .set_day(pid(1), today(), sample_day(today(), &["09:00"]).slots);
    h.start_worker();
    let first = h.sync("a", 1).await;
    h.engine.wait_for_run(first.id).await.unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let second = h.sync("a", 1).await;
    let second = h.engine.wait_for_run(second.id).await.unwrap();
    assert_eq!((second.counts.changed, second.counts.unchanged), (0, 1));
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_job_never_runs_twice_at_once() {
    let h = Harness::new(&[1], 30).await;
    h.sync("sync-today", 1).await;
    let again = h
        .engine
        .start_run(RunRequest {
            job: "sync-today".into(),
            ..RunRequest::next_days(1)
        })
        .await;
    assert_eq!(again, Err(EngineError::AlreadyRunning("sync-today".into())));
}

#[tokio::test(start_paused = true)]
async fn shutdown_finishes_the_in_flight_call_and_marks_the_run_interrupted() {
    let mut h = Harness::new(&[1], 30).await;
    h.source.set_delay(pid(1), today(), Duration::from_secs(10));
    h.source
        .set_day(pid(1), today(), sample_day(today(), &["09:00"]).slots);
    h.start_worker();
    let run = h.sync("long", 5).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(h.engine.status().await.unwrap().in_flight, 1);
    h.stop().await;

    assert_eq!(h.source.calls().len(), 1, "no new calls after shutdown");
    assert_eq!(
        h.store.slots(pid(1), today()).await.unwrap().len(),
        1,
        "the in-flight call's write landed"
    );
    let stored = h.store.get_run(run.id).await.unwrap();
    assert_eq!(stored.status, RunStatus::Interrupted);
    assert_eq!(stored.counts.fetched, 1);
    assert!(stored.finished_at.is_some());
}

#[tokio::test(start_paused = true)]
async fn fresh_pairs_are_skipped() {
    let mut h = Harness::new(&[1], 30).await;
    h.start_worker();
    let first = h.sync("a", 3).await;
    h.engine.wait_for_run(first.id).await.unwrap();
    let again = h
        .engine
        .start_run(RunRequest {
            job: "b".into(),
            due_at: Some(h.clock.now() - chrono::Duration::minutes(1)),
            ..RunRequest::next_days(3)
        })
        .await
        .unwrap();
    assert_eq!(again.counts.skipped_fresh, 3);
    assert_eq!(again.status, RunStatus::Succeeded);
    assert_eq!(h.source.calls().len(), 3);
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_short_store_outage_does_not_lose_the_final_status_of_a_run() {
    let mut h = Harness::new(&[1], 30).await;
    h.source.set_delay(pid(1), today(), Duration::from_secs(5));
    h.start_worker();
    let run = h.sync("outage", 1).await;
    // The store goes down while the only task is in flight, and comes back 1.5 s after.
    tokio::time::sleep(Duration::from_secs(4)).await;
    h.store.set_unavailable(true);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    h.store.set_unavailable(false);
    tokio::time::sleep(Duration::from_secs(10)).await;
    let stored = h.store.get_run(run.id).await.unwrap();
    assert_eq!(stored.status, RunStatus::Failed, "{stored:?}");
    assert!(
        stored.errors[0].contains("could not store the day"),
        "{stored:?}"
    );
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn deleting_or_disabling_a_product_drops_its_queued_work() {
    let mut h = Harness::new(&[1, 2, 3], 30).await;
    h.start_worker();
    let run = h.sync("window", 10).await; // 30 tasks, one every 2 s
    tokio::time::sleep(Duration::from_secs(9)).await;
    let before = h.source.calls().len();
    assert!((4..=6).contains(&before), "{before}");

    // Deleted through the engine's upkeep: its tasks leave the queue at once.
    h.store.delete_product(pid(2)).await.unwrap();
    tickete_core::engine::upkeep::drop_product_work(&h.engine, pid(2)).await;
    let pending = h.engine.status().await.unwrap().pending;
    assert!(pending <= 20, "only products 1 and 3 are left: {pending}");
    // Disabled by another process on the same store: the worker drops the tasks unfetched.
    let disable = tickete_core::ProductPatch {
        enabled: Some(false),
        ..Default::default()
    };
    h.store.update_product(pid(3), &disable).await.unwrap();
    let edited = tokio::time::Instant::now();

    let finished = h.engine.wait_for_run(run.id).await.unwrap();
    let late: Vec<_> = h
        .source
        .calls()
        .into_iter()
        .filter(|call| call.at > edited && call.product != pid(1))
        .collect();
    assert!(
        late.is_empty(),
        "no partner call for products 2 and 3: {late:?}"
    );
    assert_eq!(finished.status, RunStatus::Partial);
    assert_eq!(
        finished.counts.failed, 0,
        "dropped, not failed: {finished:?}"
    );
    assert_eq!(
        finished.counts.fetched + finished.counts.missed,
        30,
        "{finished:?}"
    );
    assert_eq!(
        h.source
            .calls()
            .iter()
            .filter(|c| c.product == pid(1))
            .count(),
        10
    );
    h.stop().await;
}
