//! Contract cases for engine processes and the owners of runs: only runs whose owner is gone
//! are rescued, each once, and each re-plan is claimed once.

use std::sync::Arc;

use super::runs::new_run;
use super::support::{at, page};
use crate::domain::{
    EngineProcess, NewRun, ProcessKind, ProductId, RunCounts, RunStatus, SyncRun, Trigger,
};
use crate::store::{InventoryStore, StoreError};

fn process(id: &str, kind: ProcessKind, seen: &str) -> EngineProcess {
    EngineProcess {
        id: id.into(),
        kind,
        host: "host-a".into(),
        pid: 4242,
        started_at: at("2025-03-25T03:00:00Z"),
        last_seen_at: at(seen),
    }
}

fn owned_run(job: &str, owner: Option<&EngineProcess>) -> NewRun {
    NewRun {
        owner: owner.map(EngineProcess::as_owner),
        ..new_run(
            job,
            Trigger::Schedule,
            "2025-03-25T04:00:00Z",
            "2025-03-25T04:00:00Z",
        )
    }
}

/// Processes register, beat (never backwards) and leave; only those seen since a time are
/// listed; a beat of a process that is not registered says so.
pub async fn processes_register_beat_and_leave(store: Arc<dyn InventoryStore>) {
    let server = process("server-1", ProcessKind::Server, "2025-03-25T04:00:00Z");
    let cli = process("cli-1", ProcessKind::Cli, "2025-03-25T04:00:00.000001Z");
    store.register_process(&server).await.expect("register");
    store.register_process(&cli).await.expect("register cli");
    let since = at("2025-03-25T04:00:00Z");
    let listed = store
        .list_processes(since, page(1, 10))
        .await
        .expect("list");
    assert_eq!(listed.total, 2);
    // Oldest start first, then by id.
    assert_eq!(listed.items, vec![cli.clone(), server.clone()]);

    let later = at("2025-03-25T04:00:10Z");
    assert!(store.beat_process("server-1", later).await.expect("beat"));
    assert!(
        store
            .beat_process("server-1", at("2025-03-25T04:00:05Z"))
            .await
            .expect("late beat"),
        "a late beat is accepted but does not move the heartbeat back"
    );
    let listed = store
        .list_processes(at("2025-03-25T04:00:05Z"), page(1, 10))
        .await
        .expect("list after beat");
    assert_eq!(
        listed.items,
        vec![EngineProcess {
            last_seen_at: later,
            ..server.clone()
        }],
        "only processes seen since the time are listed"
    );
    assert!(!store.beat_process("nobody", later).await.expect("unknown"));
    store.remove_process("cli-1").await.expect("remove");
    store.remove_process("cli-1").await.expect("remove twice");
    let listed = store
        .list_processes(since, page(1, 10))
        .await
        .expect("list");
    assert_eq!(listed.total, 1);
}

/// A running run is interrupted only when its owner is gone (not registered, not seen since
/// the lease began, or not recorded); what it had not settled counts as missed and it waits
/// for a re-plan. Finished runs and live owners' runs are untouched; gone processes are
/// forgotten; a second rescue finds nothing.
pub async fn only_runs_whose_owner_is_gone_are_interrupted_once(store: Arc<dyn InventoryStore>) {
    let live = process("live", ProcessKind::Cli, "2025-03-25T04:29:55Z");
    let gone = process("gone", ProcessKind::Server, "2025-03-25T04:10:00Z");
    store.register_process(&live).await.expect("live");
    store.register_process(&gone).await.expect("gone");
    let of_live = store
        .create_run(&owned_run("a", Some(&live)))
        .await
        .expect("a");
    let of_gone = store
        .create_run(&owned_run("b", Some(&gone)))
        .await
        .expect("b");
    let of_gone = SyncRun {
        counts: RunCounts {
            planned: 10,
            fetched: 3,
            changed: 1,
            unchanged: 2,
            skipped_fresh: 2,
            failed: 1,
            missed: 0,
        },
        ..of_gone
    };
    store.save_run(&of_gone).await.expect("progress");
    let ownerless = store.create_run(&owned_run("c", None)).await.expect("c");
    let unregistered = process(
        "never-registered",
        ProcessKind::Server,
        "2025-03-25T04:29:59Z",
    );
    let of_unknown = store
        .create_run(&owned_run("d", Some(&unregistered)))
        .await
        .expect("d");
    let finished = store
        .create_run(&owned_run("e", Some(&gone)))
        .await
        .expect("e");
    let finished = SyncRun {
        status: RunStatus::Succeeded,
        finished_at: Some(at("2025-03-25T04:05:00Z")),
        ..finished
    };
    store.save_run(&finished).await.expect("finish");

    let alive_since = at("2025-03-25T04:29:45Z");
    let now = at("2025-03-25T04:30:00.000007Z");
    let ended = store
        .interrupt_orphaned_runs(alive_since, now)
        .await
        .expect("rescue");
    assert_eq!(ended, vec![of_gone.id, ownerless.id, of_unknown.id]);
    for (run, missed) in [(&of_gone, 4), (&ownerless, 0), (&of_unknown, 0)] {
        let stored = store.get_run(run.id).await.expect("get");
        assert_eq!(stored.status, RunStatus::Interrupted);
        assert_eq!(stored.finished_at, Some(now));
        assert!(stored.replan_pending, "run {} waits for a re-plan", run.id);
        assert_eq!(
            stored.counts,
            RunCounts {
                missed,
                ..run.counts.clone()
            }
        );
    }
    assert_eq!(store.get_run(of_live.id).await.expect("live"), of_live);
    assert_eq!(store.get_run(finished.id).await.expect("done"), finished);
    let listed = store
        .list_processes(at("2025-03-25T00:00:00Z"), page(1, 10))
        .await
        .expect("list");
    assert_eq!(listed.items, vec![live], "the gone process is forgotten");
    assert!(store
        .interrupt_orphaned_runs(alive_since, now)
        .await
        .expect("again")
        .is_empty());
    let waiting: Vec<_> = store
        .runs_to_replan()
        .await
        .expect("to re-plan")
        .into_iter()
        .map(|run| run.id)
        .collect();
    assert_eq!(waiting, vec![of_gone.id, ownerless.id, of_unknown.id]);
}

/// A run keeps its owner and scope; creating the re-plan of an interrupted run claims it, so
/// a second claim is a conflict that records nothing.
pub async fn a_replan_is_claimed_once_and_scope_round_trips(store: Arc<dyn InventoryStore>) {
    let cli = process("cli-7", ProcessKind::Cli, "2025-03-25T04:00:00Z");
    let products = vec![ProductId::new(2).unwrap(), ProductId::new(15).unwrap()];
    let original = store
        .create_run(&NewRun {
            products: Some(products.clone()),
            manual: true,
            window_days: 30,
            ..owned_run("manual-sync", Some(&cli))
        })
        .await
        .expect("create");
    assert_eq!(original.products, Some(products.clone()));
    assert!(original.manual);
    assert_eq!(original.owner, Some(cli.as_owner()));
    assert_eq!(store.get_run(original.id).await.expect("get"), original);

    let replan = NewRun {
        products: Some(products.clone()),
        manual: true,
        window_days: 30,
        replans: Some(original.id),
        ..owned_run("manual-sync", None)
    };
    let refused = store.create_run(&replan).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "a running run is not waiting for a re-plan: {refused:?}"
    );
    assert!(store.runs_to_replan().await.expect("none").is_empty());
    store
        .interrupt_orphaned_runs(at("2025-03-25T04:01:00Z"), at("2025-03-25T04:02:00Z"))
        .await
        .expect("rescue");
    assert_eq!(store.runs_to_replan().await.expect("one").len(), 1);

    let created = store.create_run(&replan).await.expect("claim the re-plan");
    assert_eq!(created.replans, Some(original.id));
    assert_eq!(created.products, Some(products));
    assert!(
        !store
            .get_run(original.id)
            .await
            .expect("get")
            .replan_pending
    );
    assert!(store.runs_to_replan().await.expect("claimed").is_empty());
    let twice = store.create_run(&replan).await;
    assert!(
        matches!(twice, Err(StoreError::Conflict(_))),
        "the second claim is refused: {twice:?}"
    );
    let all = store.list_runs(None, page(1, 10)).await.expect("list");
    assert_eq!(all.total, 2, "the refused claims recorded nothing");
}

/// `save_run` keeps a `skipped` row's tick count and a run's re-plan state.
pub async fn skipped_rows_keep_their_count_and_replan_state_is_saved(
    store: Arc<dyn InventoryStore>,
) {
    let created = store
        .create_run(&owned_run("a", None))
        .await
        .expect("create");
    let skipped = SyncRun {
        status: RunStatus::Skipped,
        skipped_ticks: 3,
        finished_at: Some(at("2025-03-25T04:45:00Z")),
        errors: vec!["sync was paused".into()],
        ..created
    };
    store.save_run(&skipped).await.expect("save");
    assert_eq!(store.get_run(skipped.id).await.expect("get"), skipped);
    let interrupted = SyncRun {
        status: RunStatus::Interrupted,
        replan_pending: true,
        ..store.create_run(&owned_run("b", None)).await.expect("b")
    };
    store.save_run(&interrupted).await.expect("save");
    assert_eq!(
        store.runs_to_replan().await.expect("waiting"),
        vec![interrupted.clone()]
    );
    let dismissed = SyncRun {
        replan_pending: false,
        ..interrupted
    };
    store.save_run(&dismissed).await.expect("dismiss");
    assert!(store.runs_to_replan().await.expect("none").is_empty());
}

/// A run that has ended keeps its status: a process that was taken for gone cannot bring its
/// rescued run back to `running` or give it another end. Edits that keep the status pass.
pub async fn an_ended_run_keeps_its_status(store: Arc<dyn InventoryStore>) {
    let running = store
        .create_run(&owned_run("a", None))
        .await
        .expect("create");
    store
        .interrupt_orphaned_runs(at("2025-03-25T04:00:00Z"), at("2025-03-25T04:01:00Z"))
        .await
        .expect("rescue");
    let rescued = store.get_run(running.id).await.expect("get");
    for status in [RunStatus::Running, RunStatus::Succeeded] {
        let zombie = SyncRun {
            status,
            counts: RunCounts {
                fetched: 1,
                ..RunCounts::default()
            },
            ..running.clone()
        };
        let refused = store.save_run(&zombie).await;
        assert!(
            matches!(refused, Err(StoreError::Conflict(_))),
            "{status}: {refused:?}"
        );
        assert_eq!(store.get_run(running.id).await.expect("get"), rescued);
    }
    let noted = SyncRun {
        errors: vec!["not re-planned: a newer run of its job covers it".into()],
        replan_pending: false,
        ..rescued
    };
    store.save_run(&noted).await.expect("same status");
    assert_eq!(store.get_run(running.id).await.expect("get"), noted);
}

/// Dashboard sessions: a started session is active until it expires or is ended; ending all
/// ends every one; the list holds the active ones, newest first.
pub async fn sessions_end_at_sign_out_expiry_or_all_at_once(store: Arc<dyn InventoryStore>) {
    use crate::sessions::SessionRecord;
    let session = |id: &str, created: &str, expires: &str| SessionRecord {
        id: id.into(),
        created_at: at(created),
        expires_at: at(expires),
    };
    let a = session("a", "2025-03-25T04:00:00Z", "2025-03-25T16:00:00Z");
    let b = session("b", "2025-03-25T05:00:00Z", "2025-03-25T17:00:00Z");
    let old = session("old", "2025-03-24T00:00:00Z", "2025-03-24T12:00:00Z");
    for s in [&a, &b, &old] {
        store.start_session(s).await.expect("start");
    }
    let now = at("2025-03-25T06:00:00Z");
    assert!(store.session_active("a", now).await.expect("a"));
    assert!(!store.session_active("old", now).await.expect("expired"));
    assert!(!store.session_active("nobody", now).await.expect("unknown"));
    assert_eq!(
        store.active_sessions(now).await.expect("list"),
        vec![b.clone(), a.clone()]
    );
    store.end_session("a").await.expect("sign out");
    store.end_session("a").await.expect("twice");
    assert!(!store.session_active("a", now).await.expect("ended"));
    assert!(store.session_active("b", now).await.expect("b still"));
    assert_eq!(store.end_all_sessions(now).await.expect("all"), 1);
    assert!(!store.session_active("b", now).await.expect("ended"));
    assert!(store.active_sessions(now).await.expect("none").is_empty());
}
