//! The scheduler under a paused tokio clock: catch-up after downtime, first start, and
//! re-planning an interrupted run.

use std::time::Duration;
use tickete_core::store::prelude::*;

use chrono::DateTime;
use tickete_core::testing::sample_day;
use tickete_core::{Clock, Product, RunStatus, Trigger};

use crate::harness::{pid, runs_of, seed_jobs, today, Harness};

#[tokio::test(start_paused = true)]
async fn missed_ticks_give_exactly_one_catch_up_run() {
    let mut h = Harness::new(&[1], 600).await;
    seed_jobs(&h.store).await;
    // sync-today last ran 3 hours ago: 12 ticks were missed while the service was down.
    let three_hours_ago = h.clock.now() - chrono::Duration::hours(3);
    for job in ["sync-today", "sync-next-7-days", "sync-next-30-days"] {
        h.record_run(job, three_hours_ago, RunStatus::Succeeded)
            .await;
    }
    h.start_worker();
    h.start_scheduler();
    tokio::time::sleep(Duration::from_secs(60)).await;

    let today_runs = runs_of(&h.store, "sync-today").await;
    let catch_ups: Vec<_> = today_runs
        .iter()
        .filter(|run| run.trigger == Trigger::CatchUp)
        .collect();
    assert_eq!(
        catch_ups.len(),
        1,
        "one catch-up, never a burst: {today_runs:?}"
    );
    assert_eq!(
        catch_ups[0].due_at,
        DateTime::parse_from_rfc3339("2026-03-01T08:00:00Z")
            .unwrap()
            .to_utc(),
        "due at the latest missed tick"
    );
    // 08:00 − 3 h = 05:00: the 4-hourly job missed 08:00 too; the daily job missed nothing.
    assert_eq!(runs_of(&h.store, "sync-next-7-days").await.len(), 2);
    assert_eq!(runs_of(&h.store, "sync-next-30-days").await.len(), 1);

    // Then the schedule goes on: 08:15, 08:30, 08:45 within the next 50 minutes.
    tokio::time::sleep(Duration::from_secs(50 * 60)).await;
    let scheduled = runs_of(&h.store, "sync-today")
        .await
        .into_iter()
        .filter(|run| run.trigger == Trigger::Schedule)
        .count();
    assert_eq!(scheduled, 1 + 3, "the old run and three ticks");
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn first_start_runs_every_enabled_job_once() {
    let mut h = Harness::new(&[1], 600).await;
    seed_jobs(&h.store).await;
    h.store
        .update_job(
            "sync-next-30-days",
            &tickete_core::JobPatch {
                enabled: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    h.start_worker();
    h.start_scheduler();
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(runs_of(&h.store, "sync-today").await.len(), 1);
    assert_eq!(runs_of(&h.store, "sync-next-7-days").await.len(), 1);
    assert_eq!(runs_of(&h.store, "sync-next-30-days").await.len(), 0);
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn an_interrupted_run_is_replanned_at_start_and_fetches_only_what_is_missing() {
    let mut h = Harness::new(&[1], 600).await;
    seed_jobs(&h.store).await;
    for job in ["sync-next-7-days", "sync-next-30-days"] {
        let patch = tickete_core::JobPatch {
            enabled: Some(false),
            ..Default::default()
        };
        h.store.update_job(job, &patch).await.unwrap();
    }
    // sync-today was due at 08:00 (no tick missed since); a shutdown interrupted it after it
    // had fetched product 1, before product 2.
    h.store
        .upsert_product(&Product {
            id: pid(2),
            name: "Product 2".into(),
            enabled: true,
        })
        .await
        .unwrap();
    let due = h.clock.now();
    h.store
        .apply_day(pid(1), &sample_day(today(), &["09:00"]), due)
        .await
        .unwrap();
    h.record_run("sync-today", due, RunStatus::Interrupted)
        .await;

    h.start_worker();
    h.start_scheduler();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let runs = runs_of(&h.store, "sync-today").await;
    assert_eq!(runs.len(), 2, "{runs:?}");
    let again = &runs[0];
    assert_eq!(again.trigger, Trigger::CatchUp);
    assert_eq!(again.due_at, due);
    assert_eq!(again.status, RunStatus::Succeeded);
    assert_eq!((again.counts.skipped_fresh, again.counts.fetched), (1, 1));
    assert_eq!(
        h.source.calls_for(pid(1), today()),
        0,
        "already fetched before"
    );
    assert_eq!(h.source.calls_for(pid(2), today()), 1);
    h.stop().await;
}
