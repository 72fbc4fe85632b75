//! No tick is silent: a tick skipped while paused, one that supersedes a run still going, and
//! one not caught up because its job was disabled meanwhile all show in the run log and in
//! `tickete_job_ticks_total`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use tickete_core::store::prelude::*;
use tickete_core::{Clock, JobPatch, RunStatus, Trigger};

use crate::harness::{runs_of, seed_jobs, Harness};

/// `tickete_job_ticks_total{job, outcome}` as counted so far (a snapshot drains the
/// recorder's counters, so they add up here).
struct Ticks {
    snapshotter: Snapshotter,
    counted: RefCell<HashMap<(String, String), u64>>,
}

impl Ticks {
    fn count(&self, job: &str, outcome: &str) -> u64 {
        let mut counted = self.counted.borrow_mut();
        for (key, _, _, value) in self.snapshotter.snapshot().into_vec() {
            let key = key.key();
            if key.name() != "tickete_job_ticks_total" {
                continue;
            }
            let label = |name: &str| {
                key.labels()
                    .find(|label| label.key() == name)
                    .map(|label| label.value().to_owned())
                    .unwrap_or_default()
            };
            let DebugValue::Counter(count) = value else {
                panic!("not a counter: {value:?}");
            };
            *counted.entry((label("job"), label("outcome"))).or_default() += count;
        }
        counted
            .get(&(job.to_owned(), outcome.to_owned()))
            .copied()
            .unwrap_or(0)
    }
}

/// Runs `test` on a paused current-thread runtime with a recorder of its own, so the counts
/// are this test's alone.
fn with_metrics(test: impl FnOnce(Ticks) -> Pin<Box<dyn Future<Output = ()>>>) {
    let recorder = DebuggingRecorder::new();
    let ticks = Ticks {
        snapshotter: recorder.snapshotter(),
        counted: RefCell::default(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || runtime.block_on(test(ticks)));
}

async fn only_sync_today(h: &Harness) {
    seed_jobs(&h.store).await;
    for job in ["sync-next-7-days", "sync-next-30-days"] {
        let patch = JobPatch {
            enabled: Some(false),
            ..JobPatch::default()
        };
        h.store.update_job(job, &patch).await.unwrap();
    }
}

#[test]
fn ticks_skipped_while_paused_show_in_the_run_log_and_the_metrics() {
    with_metrics(|metrics| {
        Box::pin(async move {
            let mut h = Harness::new(&[1], 600).await;
            only_sync_today(&h).await;
            let due = h.clock.now();
            h.record_run("sync-today", due, RunStatus::Succeeded).await;
            h.start_worker();
            h.start_scheduler();
            tokio::time::sleep(Duration::from_secs(1)).await;
            h.engine.pause().await.unwrap();
            // 08:15, 08:30, 08:45 and 09:00 pass while paused.
            tokio::time::sleep(Duration::from_secs(65 * 60)).await;
            assert_eq!(metrics.count("sync-today", "skipped"), 4);
            let runs = runs_of(&h.store, "sync-today").await;
            assert_eq!(runs[0].status, RunStatus::Skipped, "{runs:?}");
            assert_eq!(runs[0].skipped_ticks, 4);
            assert_eq!(runs[0].errors, vec!["sync was paused".to_owned()]);

            // Disabled before the resume: not caught up, and the log says so.
            let disable = JobPatch {
                enabled: Some(false),
                ..JobPatch::default()
            };
            h.store.update_job("sync-today", &disable).await.unwrap();
            h.engine.resume().await.unwrap();
            tokio::time::sleep(Duration::from_secs(10)).await;
            let runs = runs_of(&h.store, "sync-today").await;
            assert_eq!(runs.len(), 2, "no catch-up for a disabled job: {runs:?}");
            assert!(
                runs[0].errors.iter().any(|line| line.contains("disabled")),
                "{:?}",
                runs[0]
            );
            assert_eq!(metrics.count("sync-today", "ran"), 0);
            assert!(h.source.calls().is_empty());
            h.stop().await;
        })
    });
}

#[test]
fn a_tick_that_supersedes_a_run_still_going_shows_in_the_run_log_and_the_metrics() {
    with_metrics(|metrics| {
        Box::pin(async move {
            // 40 products at 2 calls a minute: a sync-today run takes 20 minutes, so the
            // next quarter-hour tick finds it still going.
            let products: Vec<u32> = (1..=40).collect();
            let mut h = Harness::new(&products, 2).await;
            only_sync_today(&h).await;
            let due = h.clock.now() - chrono::Duration::minutes(1);
            h.record_run("sync-today", due, RunStatus::Succeeded).await;
            h.start_worker();
            h.start_scheduler();
            // The first start catches up 08:00; 08:15 and 08:30 each find a run still going.
            tokio::time::sleep(Duration::from_secs(31 * 60)).await;
            // The 08:00 catch-up ran; the 08:15 tick superseded it, and 08:30 the 08:15 run.
            assert_eq!(metrics.count("sync-today", "ran"), 1);
            assert_eq!(metrics.count("sync-today", "superseded"), 2);
            let runs = runs_of(&h.store, "sync-today").await;
            let superseded = runs
                .iter()
                .find(|run| run.trigger == Trigger::Schedule && run.status != RunStatus::Running)
                .expect("the 08:15 run ended when 08:30 came");
            assert_eq!(superseded.status, RunStatus::Partial, "{superseded:?}");
            assert!(superseded.counts.missed > 0);
            assert!(
                superseded
                    .errors
                    .iter()
                    .any(|line| line.contains("superseded")),
                "{superseded:?}"
            );
            h.stop().await;
        })
    });
}
