//! Contract cases for jobs, runs and the pause flag.

use std::sync::Arc;

use super::support::{assert_not_found, at, page};
use crate::domain::{JobPatch, NewRun, RunCounts, RunId, RunStatus, SyncJob, SyncRun, Trigger};
use crate::store::{InventoryStore, PauseState};

fn job(name: &str, schedule: &str, window_days: u32, enabled: bool) -> SyncJob {
    SyncJob {
        name: name.into(),
        schedule: schedule.into(),
        window_days,
        enabled,
    }
}

pub(super) fn new_run(job: &str, trigger: Trigger, started_at: &str, due_at: &str) -> NewRun {
    NewRun {
        job: job.into(),
        trigger,
        started_at: at(started_at),
        due_at: at(due_at),
        window_days: 7,
        products: None,
        manual: false,
        owner: None,
        replans: None,
    }
}

/// Jobs are inserted once (never overwritten), listed by name and patched field by field.
pub async fn jobs_are_inserted_once_listed_by_name_and_patched(store: Arc<dyn InventoryStore>) {
    assert!(store.list_jobs().await.expect("empty").is_empty());
    for default in SyncJob::defaults().iter().rev() {
        assert!(store.insert_job_if_missing(default).await.expect("insert"));
    }
    let changed = job("sync-today", "* * * * *", 3, false);
    assert!(
        !store
            .insert_job_if_missing(&changed)
            .await
            .expect("insert again"),
        "an existing job is not inserted again"
    );
    let mut expected = SyncJob::defaults();
    expected.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(store.list_jobs().await.expect("list"), expected);
    assert_eq!(
        store.get_job("sync-today").await.expect("get"),
        SyncJob::defaults()[0],
        "insert_job_if_missing keeps the stored job"
    );

    let patched = store
        .update_job(
            "sync-next-7-days",
            &JobPatch {
                schedule: Some("0 */2 * * *".into()),
                window_days: None,
                enabled: None,
            },
        )
        .await
        .expect("patch schedule");
    assert_eq!(patched, job("sync-next-7-days", "0 */2 * * *", 7, true));
    let patched = store
        .update_job(
            "sync-next-7-days",
            &JobPatch {
                schedule: None,
                window_days: Some(14),
                enabled: Some(false),
            },
        )
        .await
        .expect("patch window and flag");
    assert_eq!(patched, job("sync-next-7-days", "0 */2 * * *", 14, false));
    assert_eq!(
        store
            .update_job("sync-next-7-days", &JobPatch::default())
            .await
            .expect("empty patch"),
        patched
    );
    assert_eq!(
        store.get_job("sync-next-7-days").await.expect("get"),
        patched
    );
    assert_eq!(
        store.get_job("sync-today").await.expect("others untouched"),
        SyncJob::defaults()[0]
    );
}

/// Reads and changes of an unknown job are `NotFound`.
pub async fn unknown_job_is_not_found(store: Arc<dyn InventoryStore>) {
    store
        .insert_job_if_missing(&job("sync-today", "*/15 * * * *", 1, true))
        .await
        .expect("insert");
    assert_not_found(store.get_job("sync-never").await, "get_job");
    assert_not_found(
        store
            .update_job(
                "sync-never",
                &JobPatch {
                    schedule: None,
                    window_days: Some(2),
                    enabled: Some(true),
                },
            )
            .await,
        "update_job",
    );
    assert_eq!(store.list_jobs().await.expect("list").len(), 1);
}

/// A new run is `running`, unfinished, with zero counts and no errors.
pub async fn create_run_starts_running_with_zero_counts(store: Arc<dyn InventoryStore>) {
    let created = store
        .create_run(&new_run(
            "sync-today",
            Trigger::CatchUp,
            "2025-03-25T04:00:01.234567Z",
            "2025-03-25T03:45:00Z",
        ))
        .await
        .expect("create");
    assert_eq!(
        created,
        SyncRun {
            id: created.id,
            job: "sync-today".into(),
            trigger: Trigger::CatchUp,
            started_at: at("2025-03-25T04:00:01.234567Z"),
            due_at: at("2025-03-25T03:45:00Z"),
            window_days: 7,
            products: None,
            manual: false,
            owner: None,
            replans: None,
            replan_pending: false,
            skipped_ticks: 0,
            finished_at: None,
            status: RunStatus::Running,
            counts: RunCounts::default(),
            errors: Vec::new(),
        }
    );
    assert_eq!(store.get_run(created.id).await.expect("get"), created);
    let second = store
        .create_run(&new_run(
            "manual-sync",
            Trigger::Manual,
            "2025-03-25T04:00:02Z",
            "2025-03-25T04:00:02Z",
        ))
        .await
        .expect("create second");
    assert!(second.id > created.id, "run ids increase");
    assert_not_found(store.get_run(RunId(second.id.0 + 1000)).await, "get_run");
}

/// `save_run` overwrites status, counts, errors and finish time, and nothing else.
pub async fn save_run_overwrites_status_counts_errors_and_finish(store: Arc<dyn InventoryStore>) {
    let created = store
        .create_run(&new_run(
            "sync-next-7-days",
            Trigger::Schedule,
            "2025-03-25T04:00:00Z",
            "2025-03-25T04:00:00Z",
        ))
        .await
        .expect("create");
    let progress = SyncRun {
        counts: RunCounts {
            planned: 14,
            fetched: 3,
            changed: 2,
            unchanged: 1,
            skipped_fresh: 4,
            failed: 1,
            missed: 0,
        },
        errors: vec!["product 14 on 2025-03-25: partner answered 503".into()],
        ..created.clone()
    };
    store.save_run(&progress).await.expect("save progress");
    assert_eq!(store.get_run(created.id).await.expect("get"), progress);

    let finished = SyncRun {
        status: RunStatus::Partial,
        finished_at: Some(at("2025-03-25T04:07:30.000042Z")),
        counts: RunCounts {
            planned: 14,
            fetched: 12,
            changed: 5,
            unchanged: 7,
            skipped_fresh: 0,
            failed: 1,
            missed: 1,
        },
        errors: vec![
            "product 14 on 2025-03-25: partner answered 503".into(),
            "product 15 on 2025-03-26: invalid body: «ünïcode», \"quotes\", \\ and\nnewline".into(),
            String::new(),
        ],
        ..created.clone()
    };
    store.save_run(&finished).await.expect("save finished");
    assert_eq!(store.get_run(created.id).await.expect("get"), finished);

    // Identity fields are not rewritten by save_run.
    let tampered = SyncRun {
        job: "other".into(),
        trigger: Trigger::Manual,
        ..finished.clone()
    };
    store.save_run(&tampered).await.expect("save tampered");
    let stored = store.get_run(created.id).await.expect("get");
    assert_eq!(stored.job, "sync-next-7-days");
    assert_eq!(stored.trigger, Trigger::Schedule);

    let unknown = SyncRun {
        id: RunId(created.id.0 + 1000),
        ..finished
    };
    assert_not_found(store.save_run(&unknown).await, "save_run of an unknown run");
}

/// Runs are listed newest first, optionally of one job, with page bounds like products.
pub async fn list_runs_is_newest_first_filtered_and_paged(store: Arc<dyn InventoryStore>) {
    let empty = store.list_runs(None, page(1, 10)).await.expect("empty");
    assert!(empty.items.is_empty());
    assert_eq!(empty.total, 0);

    let mut ids = Vec::new();
    for (n, job) in ["a", "b", "a", "a", "b"].iter().enumerate() {
        // Start times deliberately not in creation order: newest means last created.
        let started = format!("2025-03-25T0{}:00:00Z", 5 - n);
        let run = store
            .create_run(&new_run(job, Trigger::Schedule, &started, &started))
            .await
            .expect("create");
        ids.push(run.id);
    }
    let listed = |items: &[SyncRun]| items.iter().map(|run| run.id).collect::<Vec<_>>();

    let all = store.list_runs(None, page(1, 10)).await.expect("all");
    assert_eq!(
        listed(&all.items),
        vec![ids[4], ids[3], ids[2], ids[1], ids[0]]
    );
    assert_eq!(all.total, 5);

    let a = store.list_runs(Some("a"), page(1, 2)).await.expect("a p1");
    assert_eq!(listed(&a.items), vec![ids[3], ids[2]]);
    assert_eq!(a.total, 3);
    let a2 = store.list_runs(Some("a"), page(2, 2)).await.expect("a p2");
    assert_eq!(listed(&a2.items), vec![ids[0]]);
    assert_eq!(a2.total, 3);
    let a3 = store.list_runs(Some("a"), page(3, 2)).await.expect("a p3");
    assert!(a3.items.is_empty());
    assert_eq!(a3.total, 3);

    let none = store.list_runs(Some("c"), page(1, 10)).await.expect("c");
    assert!(none.items.is_empty());
    assert_eq!(none.total, 0);
    assert_eq!(
        store
            .list_runs(Some("b"), page(1, 10))
            .await
            .expect("b")
            .items[0],
        store.get_run(ids[4]).await.expect("get")
    );
}

/// `last_run` is the run of the job with the latest `due_at`, not the latest created.
pub async fn last_run_is_the_latest_due_at(store: Arc<dyn InventoryStore>) {
    assert_eq!(store.last_run("sync-today").await.expect("none"), None);
    let later_due = store
        .create_run(&new_run(
            "sync-today",
            Trigger::Schedule,
            "2025-03-25T04:15:00Z",
            "2025-03-25T04:15:00Z",
        ))
        .await
        .expect("later due");
    store
        .create_run(&new_run(
            "sync-today",
            Trigger::CatchUp,
            "2025-03-25T04:20:00Z",
            "2025-03-25T04:00:00Z",
        ))
        .await
        .expect("earlier due, created later");
    store
        .create_run(&new_run(
            "sync-next-7-days",
            Trigger::Schedule,
            "2025-03-25T05:00:00Z",
            "2025-03-25T05:00:00Z",
        ))
        .await
        .expect("other job");
    assert_eq!(
        store.last_run("sync-today").await.expect("last"),
        Some(later_due)
    );
    assert_eq!(store.last_run("sync-never").await.expect("unknown"), None);
}

/// The pause flag starts off; pausing twice keeps the first time; resuming clears it.
pub async fn pause_flag_keeps_the_first_paused_at(store: Arc<dyn InventoryStore>) {
    assert_eq!(
        store.pause_state().await.expect("initial"),
        PauseState::default()
    );
    let (t1, t2, t3) = (
        at("2025-03-25T04:00:00.000001Z"),
        at("2025-03-25T05:00:00Z"),
        at("2025-03-25T06:00:00Z"),
    );
    let paused = PauseState {
        paused: true,
        paused_at: Some(t1),
    };
    assert_eq!(store.set_paused(true, t1).await.expect("pause"), paused);
    assert_eq!(
        store.set_paused(true, t2).await.expect("pause again"),
        paused
    );
    assert_eq!(store.pause_state().await.expect("state"), paused);
    assert_eq!(
        store.set_paused(false, t2).await.expect("resume"),
        PauseState::default()
    );
    assert_eq!(
        store.set_paused(false, t2).await.expect("resume again"),
        PauseState::default()
    );
    assert_eq!(
        store.pause_state().await.expect("state"),
        PauseState::default()
    );
    assert_eq!(
        store.set_paused(true, t3).await.expect("pause later"),
        PauseState {
            paused: true,
            paused_at: Some(t3),
        }
    );
}
