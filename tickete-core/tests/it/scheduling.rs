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

/// Only `sync-today` enabled, as in the reports of the fall-back loop.
async fn only_sync_today(h: &Harness) {
    seed_jobs(&h.store).await;
    for job in ["sync-next-7-days", "sync-next-30-days"] {
        let patch = tickete_core::JobPatch {
            enabled: Some(false),
            ..Default::default()
        };
        h.store.update_job(job, &patch).await.unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn the_scheduler_fires_each_tick_once_through_a_fall_back() {
    // New York from 05:59:30Z on 2025-11-02 (01:59:30 EDT), London from 01:00Z on
    // 2025-10-26 (the repeated 01:00): two real hours later, one first-start run and one run
    // per real quarter hour, never a burst, and the next tick always ahead.
    for (zone, start) in [
        ("America/New_York", "2025-11-02T05:59:30Z"),
        ("Europe/London", "2025-10-26T01:00:00Z"),
    ] {
        let tz: chrono_tz::Tz = zone.parse().unwrap();
        let mut h = Harness::at(&[1], 600, start, tz).await;
        only_sync_today(&h).await;
        let last = h
            .record_run(
                "sync-today",
                h.clock.now() - chrono::Duration::minutes(1),
                RunStatus::Succeeded,
            )
            .await;
        h.start_worker();
        h.start_scheduler();
        tokio::time::sleep(Duration::from_secs(2 * 3600)).await;
        let runs = runs_of(&h.store, "sync-today").await;
        let mut due: Vec<_> = runs
            .iter()
            .filter(|run| run.id != last.id)
            .map(|run| run.due_at)
            .collect();
        due.sort();
        // New York: 06:00Z … 07:45Z; London: the start tick 01:00Z, then 01:15Z … 02:45Z.
        assert_eq!(due.len(), 8, "{zone}: {due:?}");
        assert!(
            due.windows(2)
                .all(|pair| pair[1] - pair[0] == chrono::Duration::minutes(15)),
            "{zone}: {due:?}"
        );
        let cron = tickete_core::engine::schedule::parse_schedule("*/15 * * * *").unwrap();
        let next = tickete_core::engine::schedule::next_tick(&cron, tz, h.clock.now()).unwrap();
        assert!(
            next > h.clock.now(),
            "{zone}: nextRunAt {next} is in the past"
        );
        h.stop().await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_new_tick_supersedes_the_run_still_going() {
    // 20 products at 1 call a minute: the 08:00 run of sync-today cannot finish by 08:15.
    let products: Vec<u32> = (1..=20).collect();
    let mut h = Harness::new(&products, 1).await;
    only_sync_today(&h).await;
    h.start_worker();
    h.start_scheduler();
    tokio::time::sleep(Duration::from_secs(15 * 60 + 30)).await;

    let runs = runs_of(&h.store, "sync-today").await;
    assert_eq!(runs.len(), 2, "{runs:?}");
    let (new, old) = (&runs[0], &runs[1]);
    assert_eq!(new.trigger, Trigger::Schedule);
    assert_eq!(new.status, RunStatus::Running);
    assert_eq!(new.due_at, old.due_at + chrono::Duration::minutes(15));
    assert_eq!(old.status, RunStatus::Partial, "{old:?}");
    assert_eq!(
        old.finished_at,
        Some(new.started_at),
        "ended when the tick started"
    );
    assert!(old.counts.missed >= 4, "{old:?}");
    assert_eq!(
        old.counts.fetched + old.counts.failed + old.counts.skipped_fresh + old.counts.missed,
        old.counts.planned,
        "every pair of the old run is accounted for: {old:?}"
    );
    // The new run plans the whole window again.
    assert_eq!(new.counts.planned, 20);
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn at_midnight_past_dates_leave_the_queue_and_the_new_today_comes_first() {
    // 200 products at 60 calls a minute; a two-day one-off sync starts at 23:59, so at
    // midnight most of the old today is still queued.
    let products: Vec<u32> = (1..=200).collect();
    let mut h = Harness::at(&products, 60, "2026-03-01T23:59:00Z", chrono_tz::Tz::UTC).await;
    only_sync_today(&h).await;
    h.record_run(
        "sync-today",
        h.clock.now() - chrono::Duration::minutes(14),
        RunStatus::Succeeded,
    )
    .await;
    let started = tokio::time::Instant::now();
    h.start_worker();
    let one_off = h.sync(tickete_core::engine::MANUAL_SYNC_JOB, 2).await;
    h.start_scheduler();
    tokio::time::sleep(Duration::from_secs(60 + 5 * 60)).await;

    let old_day = today();
    let new_day = crate::harness::day(1);
    let midnight = started + Duration::from_secs(60);
    let late: Vec<_> = h
        .source
        .calls()
        .into_iter()
        .filter(|call| call.at > midnight && call.date == old_day)
        .collect();
    assert!(
        late.is_empty(),
        "fetched the old today after midnight: {}",
        late.len()
    );
    let after: Vec<_> = h
        .source
        .calls()
        .into_iter()
        .filter(|call| call.at > midnight)
        .collect();
    assert!(after.len() >= 199, "the new today, once: {}", after.len());
    assert!(after.iter().all(|call| call.date == new_day));

    // The one-off run ended honestly: the old today's unreached pairs are missed.
    let run = h.store.get_run(one_off.id).await.unwrap();
    assert_eq!(run.status, RunStatus::Partial, "{run:?}");
    assert!(run.counts.missed >= 130, "{run:?}");
    assert_eq!(run.counts.fetched + run.counts.missed, 400, "{run:?}");
    // The midnight tick of sync-today ran for the new today.
    let today_runs = runs_of(&h.store, "sync-today").await;
    assert!(today_runs
        .iter()
        .any(|r| r.due_at.date_naive() == new_day && r.trigger == Trigger::Schedule));
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn resume_gives_each_job_that_missed_ticks_one_catch_up_run() {
    let mut h = Harness::new(&[1], 600).await;
    only_sync_today(&h).await;
    let due = h.clock.now();
    h.record_run("sync-today", due, RunStatus::Succeeded).await;
    h.start_worker();
    h.start_scheduler();
    tokio::time::sleep(Duration::from_secs(1)).await;
    h.engine.pause().await.unwrap();
    // 08:15, 08:30 and 08:45 pass while paused: not run, but not silent either: one
    // `skipped` row stands for the three, due at the first.
    tokio::time::sleep(Duration::from_secs(50 * 60)).await;
    let runs = runs_of(&h.store, "sync-today").await;
    assert_eq!(runs.len(), 2, "{runs:?}");
    let skipped = &runs[0];
    assert_eq!(skipped.status, RunStatus::Skipped);
    assert_eq!(skipped.skipped_ticks, 3);
    assert_eq!(skipped.due_at, due + chrono::Duration::minutes(15));
    assert_eq!(skipped.counts.planned, 0, "nothing ran while paused");
    assert_eq!(h.source.calls().len(), 0);
    h.engine.resume().await.unwrap();
    tokio::time::sleep(Duration::from_secs(10)).await;

    let runs = runs_of(&h.store, "sync-today").await;
    assert_eq!(runs.len(), 3, "{runs:?}");
    let catch_up = &runs[0];
    assert_eq!(catch_up.trigger, Trigger::CatchUp);
    assert_eq!(
        catch_up.due_at,
        due + chrono::Duration::minutes(45),
        "the latest skipped tick"
    );
    assert_eq!(catch_up.status, RunStatus::Succeeded);
    assert_eq!(h.source.calls().len(), 1);
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn an_interrupted_one_off_sync_is_replanned_at_the_next_start() {
    let mut h = Harness::new(&[1, 2], 6).await; // one call every 10 s
    only_sync_today(&h).await;
    h.record_run("sync-today", h.clock.now(), RunStatus::Succeeded)
        .await;
    h.start_worker();
    let one_off = h.sync(tickete_core::engine::MANUAL_SYNC_JOB, 3).await;
    tokio::time::sleep(Duration::from_secs(25)).await;
    h.stop().await; // SIGTERM: the in-flight call finishes, the run is interrupted
    let interrupted = h.store.get_run(one_off.id).await.unwrap();
    assert_eq!(interrupted.status, RunStatus::Interrupted);
    let fetched_before = h.source.calls().len();
    assert_eq!(interrupted.counts.fetched as usize, fetched_before);
    assert_eq!(interrupted.counts.fetched + interrupted.counts.missed, 6);

    h.restart().await;
    h.start_worker();
    h.start_scheduler();
    tokio::time::sleep(Duration::from_secs(120)).await;
    let runs = runs_of(&h.store, tickete_core::engine::MANUAL_SYNC_JOB).await;
    assert_eq!(runs.len(), 2, "{runs:?}");
    let again = &runs[0];
    assert_eq!(again.trigger, Trigger::CatchUp);
    assert_eq!(again.due_at, one_off.due_at, "due as it was");
    assert_eq!(again.window_days, 3);
    assert_eq!(again.status, RunStatus::Succeeded, "{again:?}");
    assert_eq!(again.counts.skipped_fresh as usize, fetched_before);
    assert_eq!(h.source.calls().len(), 6, "each pair fetched once in all");
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_run_interrupted_before_a_paused_restart_is_replanned_on_resume() {
    let mut h = Harness::new(&[1, 2], 600).await;
    only_sync_today(&h).await;
    let due = h.clock.now();
    h.record_run("sync-today", due, RunStatus::Interrupted)
        .await;
    h.store.set_paused(true, due).await.unwrap();
    h.restart().await; // the new process reads the stored pause flag
    h.start_worker();
    h.start_scheduler();
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(
        runs_of(&h.store, "sync-today").await.len(),
        1,
        "nothing while paused"
    );

    h.engine.resume().await.unwrap();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let runs = runs_of(&h.store, "sync-today").await;
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!(runs[0].trigger, Trigger::CatchUp);
    assert_eq!(runs[0].due_at, due, "due as the interrupted run was");
    assert_eq!(runs[0].status, RunStatus::Succeeded);
    assert_eq!(h.source.calls().len(), 2);
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_fixed_time_skipped_by_spring_forward_fires_once_at_the_transition() {
    // New York, 2026-03-08: 02:00 EST becomes 03:00 EDT at 07:00Z; 02:30 does not exist.
    let tz: chrono_tz::Tz = "America/New_York".parse().unwrap();
    let mut h = Harness::at(&[1], 600, "2026-03-08T06:50:00Z", tz).await;
    only_sync_today(&h).await;
    for (job, enabled) in [("sync-today", false), ("sync-next-30-days", true)] {
        let patch = tickete_core::JobPatch {
            schedule: Some("30 2 * * *".into()),
            enabled: Some(enabled),
            ..Default::default()
        };
        h.store.update_job(job, &patch).await.unwrap();
    }
    let last = h
        .record_run(
            "sync-next-30-days",
            h.clock.now() - chrono::Duration::hours(23),
            RunStatus::Succeeded,
        )
        .await;
    h.start_worker();
    h.start_scheduler();
    tokio::time::sleep(Duration::from_secs(3 * 3600)).await;
    let due: Vec<_> = runs_of(&h.store, "sync-next-30-days")
        .await
        .into_iter()
        .filter(|run| run.id != last.id)
        .map(|run| run.due_at)
        .collect();
    assert_eq!(
        due,
        vec![DateTime::parse_from_rfc3339("2026-03-08T07:00:00Z")
            .unwrap()
            .to_utc()],
        "once, at the transition"
    );
    h.stop().await;
}
