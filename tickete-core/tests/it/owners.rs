//! Runs have owners: a server never takes over a live process's run, rescues the runs of a
//! process that is gone once its lease has run out (each once, with the run's own scope), and
//! manual work goes before scheduled work. Two engines on one store, on a paused clock.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use tickete_core::engine::schedule::run_scheduler;
use tickete_core::engine::{LocalScheduler, RunRequest, OWNER_LEASE};
use tickete_core::store::prelude::*;
use tickete_core::testing::{FakeSource, MemoryStore};
use tickete_core::{
    Clock, Engine, EngineConfig, EngineProcess, ProcessKind, RunStatus, SyncJob, SyncRun, Trigger,
};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::harness::{day, pid, runs_of, Harness};

/// One engine process on the harness's store and clock, with a partner of its own, so what
/// each process fetched can be told apart.
struct Process {
    engine: Engine,
    source: Arc<FakeSource>,
    stop: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Process {
    async fn start(h: &Harness, kind: ProcessKind, rate: u32, schedule: bool) -> Self {
        let source = Arc::new(FakeSource::new());
        let config = EngineConfig {
            rate_per_minute: NonZeroU32::new(rate).unwrap(),
            ..EngineConfig::default()
        };
        let engine = Engine::builder(h.store.clone(), source.clone())
            .config(config)
            .clock(h.clock.clone())
            .process(EngineProcess::current(kind, h.clock.now()))
            .build()
            .await
            .unwrap();
        let stop = CancellationToken::new();
        let mut tasks = vec![tokio::spawn({
            let (engine, stop) = (engine.clone(), stop.clone());
            async move { engine.run(stop).await }
        })];
        if schedule {
            tasks.push(tokio::spawn(run_scheduler(
                engine.clone(),
                Arc::new(LocalScheduler),
                stop.clone(),
            )));
        }
        Self {
            engine,
            source,
            stop,
            tasks,
        }
    }

    /// A one-off sync of `products` over `days` days, as `tickete sync --product` asks.
    async fn sync(&self, products: &[u32], days: u32) -> SyncRun {
        self.engine
            .start_run(RunRequest {
                products: Some(products.iter().map(|&id| pid(id)).collect()),
                ..RunRequest::next_days(days)
            })
            .await
            .unwrap()
    }

    /// A clean stop (SIGTERM, Ctrl-C): the in-flight call finishes, the runs are handed over.
    async fn stop(self) {
        self.stop.cancel();
        for task in self.tasks {
            task.await.unwrap();
        }
    }

    /// kill -9: nothing more happens, no heartbeat, nothing handed over.
    fn kill(self) {
        for task in self.tasks {
            task.abort();
        }
    }

    fn calls_of(&self, product: u32) -> usize {
        self.source
            .calls()
            .iter()
            .filter(|call| call.product == pid(product))
            .count()
    }
}

/// Products 1..=4, the default jobs stored but disabled: the only work is what a test starts.
async fn quiet_store() -> Harness {
    let h = Harness::new(&[1, 2, 3, 4], 600).await;
    for mut job in SyncJob::defaults() {
        job.enabled = false;
        h.store.insert_job_if_missing(&job).await.unwrap();
    }
    h
}

async fn wait_until_finished(store: &MemoryStore, id: tickete_core::RunId) -> SyncRun {
    for _ in 0..10_000 {
        let run = store.get_run(id).await.unwrap();
        if run.status != RunStatus::Running {
            return run;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("run {id} never finished");
}

#[tokio::test(start_paused = true)]
async fn a_server_restarting_beside_a_cli_sync_never_touches_its_run() {
    let h = quiet_store().await;
    let server = Process::start(&h, ProcessKind::Server, 600, true).await;
    // One call every 2 s: the 30 pairs take a minute.
    let cli = Process::start(&h, ProcessKind::Cli, 30, false).await;
    let run = cli.sync(&[2], 30).await;
    assert_eq!(run.owner, Some(cli.engine.process().as_owner()));
    tokio::time::sleep(Duration::from_secs(10)).await;
    server.stop().await;
    let restarted = Process::start(&h, ProcessKind::Server, 600, true).await;
    // Well past the lease: the CLI beats, so its run is its own throughout.
    tokio::time::sleep(OWNER_LEASE * 3).await;

    let finished = wait_until_finished(&h.store, run.id).await;
    assert_eq!(finished.status, RunStatus::Succeeded, "{finished:?}");
    assert_eq!(finished.counts.planned, 30);
    assert_eq!(finished.counts.fetched, 30, "{finished:?}");
    assert_eq!(cli.calls_of(2), 30, "each pair once");
    assert_eq!(
        restarted.source.calls().len(),
        0,
        "the server fetched none of the CLI's pairs"
    );
    let all = h.store.list_runs(None, page()).await.unwrap();
    assert_eq!(all.total, 1, "no re-plan, no catch-up: {:?}", all.items);
    restarted.stop().await;
    cli.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_killed_clis_run_is_replanned_by_a_live_server_once_its_lease_runs_out() {
    let h = quiet_store().await;
    let server = Process::start(&h, ProcessKind::Server, 600, true).await;
    let cli = Process::start(&h, ProcessKind::Cli, 30, false).await;
    let run = cli.sync(&[2], 10).await;
    tokio::time::sleep(Duration::from_secs(7)).await;
    let fetched_before = cli.calls_of(2);
    assert!((3..10).contains(&fetched_before), "{fetched_before}");
    cli.kill();

    // Within the lease the run stays the dead CLI's; after it (plus one look), a server
    // interrupts it and re-plans what it lacked.
    tokio::time::sleep(OWNER_LEASE - Duration::from_secs(6)).await;
    assert_eq!(
        h.store.get_run(run.id).await.unwrap().status,
        RunStatus::Running,
        "not rescued within the lease"
    );
    tokio::time::sleep(Duration::from_secs(30)).await;
    let interrupted = h.store.get_run(run.id).await.unwrap();
    assert_eq!(
        interrupted.status,
        RunStatus::Interrupted,
        "{interrupted:?}"
    );
    assert!(!interrupted.replan_pending, "its re-plan was claimed");
    let runs = runs_of(&h.store, tickete_core::engine::MANUAL_SYNC_JOB).await;
    assert_eq!(runs.len(), 2, "{runs:?}");
    let replan = &runs[0];
    assert_eq!(replan.replans, Some(run.id));
    assert_eq!(replan.trigger, Trigger::CatchUp);
    assert_eq!(replan.products, Some(vec![pid(2)]), "its own scope");
    assert_eq!(replan.window_days, 10);
    assert!(replan.manual, "a re-plan of manual work is manual work");
    assert_eq!(replan.owner, Some(server.engine.process().as_owner()));
    let replan = wait_until_finished(&h.store, replan.id).await;
    assert_eq!(replan.status, RunStatus::Succeeded, "{replan:?}");
    assert_eq!(replan.counts.planned, 10);
    assert_eq!(
        replan.counts.skipped_fresh as usize, fetched_before,
        "what the CLI fetched counts as fresh"
    );
    assert_eq!(
        server.calls_of(2) + fetched_before,
        10,
        "each date once in all"
    );
    for product in [1, 3, 4] {
        assert_eq!(
            server.calls_of(product),
            0,
            "product {product} is not in its scope"
        );
    }
    server.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_stopped_sync_is_replanned_at_the_next_server_start_for_its_products_only() {
    let h = quiet_store().await;
    let cli = Process::start(&h, ProcessKind::Cli, 30, false).await;
    let run = cli.sync(&[2, 3], 5).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let cli_partner = cli.source.clone();
    cli.stop().await; // Ctrl-C: the run is handed over at once
    let stopped = h.store.get_run(run.id).await.unwrap();
    assert_eq!(stopped.status, RunStatus::Interrupted);
    assert!(stopped.replan_pending);
    let fetched_before = stopped.counts.fetched;
    assert!((1..10).contains(&fetched_before), "{stopped:?}");
    // Product 3 is disabled meanwhile: dropped from the re-plan.
    h.store
        .update_product(
            pid(3),
            &tickete_core::ProductPatch {
                enabled: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();

    let server = Process::start(&h, ProcessKind::Server, 600, true).await;
    tokio::time::sleep(Duration::from_secs(30)).await;
    let runs = runs_of(&h.store, tickete_core::engine::MANUAL_SYNC_JOB).await;
    assert_eq!(runs.len(), 2, "{runs:?}");
    let replan = wait_until_finished(&h.store, runs[0].id).await;
    assert_eq!(replan.replans, Some(run.id));
    assert_eq!(replan.status, RunStatus::Succeeded, "{replan:?}");
    assert_eq!(replan.counts.planned, 5, "product 2 only, 5 days");
    let cli_calls_of_2 = cli_partner
        .calls()
        .iter()
        .filter(|call| call.product == pid(2))
        .count();
    assert_eq!(
        server.calls_of(2) + cli_calls_of_2,
        5,
        "each date of product 2 fetched once in all"
    );
    for product in [1, 3, 4] {
        assert_eq!(server.calls_of(product), 0, "product {product}");
    }
    server.stop().await;
}

#[tokio::test(start_paused = true)]
async fn an_owner_alive_but_slow_keeps_its_runs() {
    let h = quiet_store().await;
    let server = Process::start(&h, ProcessKind::Server, 600, true).await;
    let cli = Process::start(&h, ProcessKind::Cli, 600, false).await;
    // Each answer takes longer than the lease (within the engine's 30 s call timeout): the
    // CLI is slow, not gone.
    for offset in 0..2 {
        cli.source
            .set_delay(pid(2), day(offset), OWNER_LEASE + Duration::from_secs(10));
    }
    let run = cli.sync(&[2], 2).await;
    let finished = wait_until_finished(&h.store, run.id).await;
    assert_eq!(finished.status, RunStatus::Succeeded, "{finished:?}");
    assert_eq!(finished.counts.fetched, 2);
    assert_eq!(server.source.calls().len(), 0);
    assert_eq!(h.store.list_runs(None, page()).await.unwrap().total, 1);
    server.stop().await;
    cli.stop().await;
}

fn page() -> tickete_core::PageRequest {
    tickete_core::PageRequest {
        page: 1,
        limit: 100,
    }
}

#[tokio::test(start_paused = true)]
async fn a_manual_syncs_pairs_all_go_before_any_pair_of_a_later_tick() {
    // sync-today over 40 products every quarter hour at 2 calls a minute: the schedule alone
    // asks for more than the budget, so its ticks keep the queue full.
    let products: Vec<u32> = (1..=40).collect();
    let mut h = Harness::new(&products, 2).await;
    for mut job in SyncJob::defaults() {
        job.enabled = job.name == "sync-today";
        h.store.insert_job_if_missing(&job).await.unwrap();
    }
    h.start_worker();
    h.start_scheduler();
    tokio::time::sleep(Duration::from_secs(60)).await;

    // A one-off sync of products 1..=10 over a week: 70 pairs, 35 minutes of budget, during
    // which the 08:15 and 08:30 ticks queue products 11..=40 for today.
    let manual = h
        .engine
        .start_run(RunRequest {
            products: Some((1..=10).map(pid).collect()),
            ..RunRequest::next_days(7)
        })
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    let finished = wait_until_finished(&h.store, manual.id).await;
    let done = tokio::time::Instant::now();
    assert_eq!(finished.status, RunStatus::Succeeded, "{finished:?}");
    assert_eq!(
        finished.counts.fetched + finished.counts.skipped_fresh,
        70,
        "{finished:?}"
    );
    let calls = h.source.calls();
    let during: Vec<_> = calls
        .iter()
        .filter(|call| call.at > started && call.at <= done)
        .collect();
    // The call in flight when the sync was asked for may be scheduled work; none after it.
    let scheduled_only: Vec<_> = during
        .iter()
        .skip(1)
        .filter(|call| call.product.get() > 10)
        .collect();
    assert!(
        scheduled_only.is_empty(),
        "scheduled pairs fetched while manual work waited: {scheduled_only:?}"
    );
    let ticks = runs_of(&h.store, "sync-today").await;
    assert!(
        ticks
            .iter()
            .any(|run| run.trigger == Trigger::Schedule && run.started_at > manual.started_at),
        "a later tick came while the manual sync ran: {ticks:?}"
    );

    // Once the manual work is done, scheduled work goes on.
    tokio::time::sleep(Duration::from_secs(10 * 60)).await;
    let after = h
        .source
        .calls()
        .iter()
        .filter(|call| call.at > done && call.product.get() > 10)
        .count();
    assert!(after >= 10, "scheduled work resumed: {after}");
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_process_taken_for_gone_hears_that_its_run_ended_and_stops_fetching_it() {
    let h = quiet_store().await;
    let cli = Process::start(&h, ProcessKind::Cli, 30, false).await;
    let mut events = cli.engine.subscribe();
    let run = cli.sync(&[2], 20).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    // A server took the CLI for gone (it was suspended past its lease) and rescued its run.
    h.store
        .remove_process(&cli.engine.process().id)
        .await
        .unwrap();
    let rescued = h
        .store
        .interrupt_orphaned_runs(h.clock.now(), h.clock.now())
        .await
        .unwrap();
    assert_eq!(rescued, vec![run.id]);
    let calls_at_rescue = cli.calls_of(2);

    // What `tickete sync` waits for: the end of its run, among the engine's events.
    let heard = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Ok(tickete_core::EngineEvent::RunFinished(finished)) = events.recv().await {
                if finished.id == run.id {
                    return finished;
                }
            }
        }
    })
    .await
    .expect("the CLI hears the end of its run");
    assert_eq!(heard.status, RunStatus::Interrupted);
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert!(
        cli.calls_of(2) <= calls_at_rescue + 1,
        "at most the call in flight: {} after {calls_at_rescue}",
        cli.calls_of(2)
    );
    cli.stop().await;
}
