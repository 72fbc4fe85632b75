//! The real binary on SIGTERM: finishes the in-flight call, marks the run interrupted, exits 0.

use std::process::Stdio;
use std::time::Duration;
use tickete_core::store::prelude::*;

use tickete_core::{PageRequest, RunStatus};
use tickete_store_sqlite::SqliteStore;
use tokio::io::AsyncBufReadExt;
use tokio::process::Command;

use crate::support::{server_binary, wait_ready, TOKEN};

#[tokio::test]
async fn sigterm_interrupts_the_run_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}/tickete.db", dir.path().display());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut child = start(&database_url, port).await;
    // First start: the three jobs' fill runs are under way (at 1 call per second). Signal once
    // every running run has fetched something, however slowly a loaded machine starts.
    wait_until_running_runs_have_fetched(port).await;

    let status = Command::new("kill")
        .args(["-TERM", &child.id().unwrap().to_string()])
        .status()
        .await
        .unwrap();
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("exits promptly after SIGTERM")
        .unwrap();
    assert!(exit.success(), "clean exit: {exit:?}");
    let mut log = String::new();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    while let Some(line) = lines.next_line().await.unwrap() {
        log.push_str(&line);
        log.push('\n');
    }
    assert!(
        log.contains("finishing the in-flight partner call"),
        "{log}"
    );

    let store = SqliteStore::open(&database_url).await.unwrap();
    let runs = store
        .list_runs(None, PageRequest { page: 1, limit: 10 })
        .await
        .unwrap();
    assert!(!runs.items.is_empty());
    assert!(
        runs.items
            .iter()
            .all(|run| run.status != RunStatus::Running),
        "no run left running: {:?}",
        runs.items
    );
    let interrupted = runs
        .items
        .iter()
        .find(|run| run.status == RunStatus::Interrupted)
        .expect("the 30-day fill was interrupted");
    assert!(interrupted.finished_at.is_some());
    assert!(
        interrupted.counts.fetched > 0,
        "work done before the signal is counted: {:?}",
        runs.items
    );
    assert!(interrupted.counts.fetched < interrupted.counts.planned);
    store.close().await;

    // The next start re-plans what the shutdown left: a catch-up of each interrupted job.
    let mut restarted = start(&database_url, port).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    restarted.start_kill().unwrap();
    restarted.wait().await.unwrap();
    let store = SqliteStore::open(&database_url).await.unwrap();
    let runs = store
        .list_runs(Some(&interrupted.job), PageRequest { page: 1, limit: 10 })
        .await
        .unwrap();
    let replanned = &runs.items[0];
    assert_eq!(
        replanned.trigger,
        tickete_core::Trigger::CatchUp,
        "{:?}",
        runs.items
    );
    assert_eq!(replanned.due_at, interrupted.due_at);
    assert!(
        replanned.counts.skipped_fresh >= interrupted.counts.fetched,
        "what was fetched before is not fetched again: {replanned:?}"
    );
}

async fn start(database_url: &str, port: u16) -> tokio::process::Child {
    let child = server_binary(database_url, port)
        .arg("--partner-sim")
        .env("TICKETE_PARTNER_RATE_PER_MINUTE", "60")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    wait_ready(&format!("http://127.0.0.1:{port}")).await;
    child
}

/// Polls the run log until at least one run is running and every running run has fetched a
/// day (at most 30 s).
async fn wait_until_running_runs_have_fetched(port: u16) {
    let http = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/api/v1/admin/runs?limit=10");
    for _ in 0..300 {
        let body: serde_json::Value = http
            .get(&url)
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let runs = body["data"].as_array().cloned().unwrap_or_default();
        let running: Vec<_> = runs
            .iter()
            .filter(|run| run["status"] == "running")
            .collect();
        if !running.is_empty() && running.iter().all(|run| run["fetched"].as_u64() > Some(0)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no running run fetched anything within 30 s");
}
