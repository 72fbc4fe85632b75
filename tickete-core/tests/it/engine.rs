//! Engine behaviour under a paused tokio clock: pacing, 429 holds, merging, priority, failures,
//! pause/resume, shutdown and catch-up.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate};
use tickete_core::engine::schedule::run_scheduler;
use tickete_core::engine::{LocalScheduler, RunRequest};
use tickete_core::testing::{sample_day, FakeSource, MemoryStore};
use tickete_core::{
    Clock, Engine, EngineConfig, EngineError, InventoryStore, NewRun, Product, ProductId,
    RunStatus, SourceError, SyncJob, TokioClock, Trigger,
};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const START: &str = "2026-03-01T08:00:00Z";

fn pid(raw: u32) -> ProductId {
    ProductId::new(raw).unwrap()
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()
}

fn day(offset: u64) -> NaiveDate {
    today() + chrono::Days::new(offset)
}

struct Harness {
    store: Arc<MemoryStore>,
    source: Arc<FakeSource>,
    clock: Arc<TokioClock>,
    engine: Engine,
    shutdown: CancellationToken,
    worker: Option<JoinHandle<()>>,
}

impl Harness {
    async fn new(products: &[u32], rate: u32) -> Self {
        let store = Arc::new(MemoryStore::new());
        for &id in products {
            store
                .upsert_product(&Product {
                    id: pid(id),
                    name: format!("Product {id}"),
                    enabled: true,
                })
                .await
                .unwrap();
        }
        let source = Arc::new(FakeSource::new());
        let clock = Arc::new(TokioClock::starting_at(
            DateTime::parse_from_rfc3339(START).unwrap().to_utc(),
        ));
        let config = EngineConfig {
            rate_per_minute: NonZeroU32::new(rate).unwrap(),
            ..EngineConfig::default()
        };
        let engine = Engine::builder(store.clone(), source.clone())
            .config(config)
            .clock(clock.clone())
            .build()
            .await
            .unwrap();
        Self {
            store,
            source,
            clock,
            engine,
            shutdown: CancellationToken::new(),
            worker: None,
        }
    }

    fn start_worker(&mut self) {
        let engine = self.engine.clone();
        let shutdown = self.shutdown.clone();
        self.worker = Some(tokio::spawn(async move { engine.run(shutdown).await }));
    }

    async fn stop(&mut self) {
        self.shutdown.cancel();
        if let Some(worker) = self.worker.take() {
            worker.await.unwrap();
        }
    }

    async fn sync(&self, job: &str, days: u32) -> tickete_core::SyncRun {
        self.engine
            .start_run(RunRequest {
                job: job.into(),
                ..RunRequest::next_days(days)
            })
            .await
            .unwrap()
    }
}

/// Most calls in any half-open window `[t, t + 60 s)` starting at a call.
fn max_calls_in_any_minute(calls: &[tokio::time::Instant]) -> usize {
    calls
        .iter()
        .map(|start| {
            calls
                .iter()
                .filter(|at| **at >= *start && **at < *start + Duration::from_secs(60))
                .count()
        })
        .max()
        .unwrap_or(0)
}

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

async fn seed_jobs(store: &MemoryStore) {
    for job in SyncJob::defaults() {
        store.insert_job_if_missing(&job).await.unwrap();
    }
}

async fn runs_of(store: &MemoryStore, job: &str) -> Vec<tickete_core::SyncRun> {
    store
        .list_runs(
            Some(job),
            tickete_core::PageRequest {
                page: 1,
                limit: 100,
            },
        )
        .await
        .unwrap()
        .items
}

#[tokio::test(start_paused = true)]
async fn missed_ticks_give_exactly_one_catch_up_run() {
    let mut h = Harness::new(&[1], 600).await;
    seed_jobs(&h.store).await;
    // sync-today last ran 3 hours ago: 12 ticks were missed while the service was down.
    let three_hours_ago = h.clock.now() - chrono::Duration::hours(3);
    for job in ["sync-today", "sync-next-7-days", "sync-next-30-days"] {
        let mut run = h
            .store
            .create_run(&NewRun {
                job: job.into(),
                trigger: Trigger::Schedule,
                started_at: three_hours_ago,
                due_at: three_hours_ago,
            })
            .await
            .unwrap();
        run.status = RunStatus::Succeeded;
        h.store.save_run(&run).await.unwrap();
    }
    h.start_worker();
    let scheduler = tokio::spawn(run_scheduler(
        h.engine.clone(),
        Arc::new(LocalScheduler),
        h.shutdown.clone(),
    ));
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
    scheduler.await.unwrap();
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
    let scheduler = tokio::spawn(run_scheduler(
        h.engine.clone(),
        Arc::new(LocalScheduler),
        h.shutdown.clone(),
    ));
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(runs_of(&h.store, "sync-today").await.len(), 1);
    assert_eq!(runs_of(&h.store, "sync-next-7-days").await.len(), 1);
    assert_eq!(runs_of(&h.store, "sync-next-30-days").await.len(), 0);
    h.stop().await;
    scheduler.await.unwrap();
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
    let mut run = h
        .store
        .create_run(&NewRun {
            job: "sync-today".into(),
            trigger: Trigger::Schedule,
            started_at: due,
            due_at: due,
        })
        .await
        .unwrap();
    run.status = RunStatus::Interrupted;
    h.store.save_run(&run).await.unwrap();

    h.start_worker();
    let scheduler = tokio::spawn(run_scheduler(
        h.engine.clone(),
        Arc::new(LocalScheduler),
        h.shutdown.clone(),
    ));
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
    scheduler.await.unwrap();
}
