//! Runs have owners across real replicas on Postgres: `/admin/processes` lists the live
//! processes, a run names its replica, and the run of a replica killed with SIGKILL is adopted
//! by a live replica once the owner's lease has run out, never interrupted.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;
use tickete_core::engine::OWNER_LEASE;
use tickete_partner_sim::{SimConfig, Simulator};

use crate::replicas::{
    admin, seed_with_jobs_disabled, serve, start_replica_at, start_sync, wait_run, Replica,
};
use crate::support::Database;

async fn processes(replica: &Replica) -> Vec<Value> {
    let (status, body) = admin(replica, Method::GET, "/api/v1/admin/processes").await;
    assert_eq!(status, 200, "{body}");
    body["data"].as_array().unwrap().clone()
}

fn pid_of(replica: &Replica) -> u64 {
    u64::from(replica.child.id().expect("running"))
}

#[tokio::test]
async fn a_killed_replicas_run_is_adopted_by_a_live_replica_within_the_lease() {
    let Ok(base) = std::env::var("TICKETE_TEST_POSTGRES_URL") else {
        eprintln!("skipped: TICKETE_TEST_POSTGRES_URL is not set");
        return;
    };
    let database = Database::create(&base).await;
    seed_with_jobs_disabled(
        &database.url,
        &["sync-today", "sync-next-7-days", "sync-next-30-days"],
    )
    .await;
    let sim = Simulator::new(SimConfig {
        rate_limit: 0,
        change_rate: 0.0,
        ..SimConfig::default()
    })
    .unwrap();
    let sim_url = serve(&sim).await;

    // One call a second for the cluster: the 30 pairs keep the sync going past the lease.
    let live = start_replica_at(&database.url, &sim_url, 60).await;
    let doomed = start_replica_at(&database.url, &sim_url, 60).await;
    let listed = processes(&live).await;
    let pids: Vec<u64> = listed.iter().map(|p| p["pid"].as_u64().unwrap()).collect();
    assert!(
        pids.contains(&pid_of(&live)) && pids.contains(&pid_of(&doomed)),
        "{listed:?}"
    );
    assert!(listed.iter().all(|p| p["kind"] == "server"), "{listed:?}");

    let id = start_sync(&doomed, 5).await;
    let (_, run) = admin(&live, Method::GET, &format!("/api/v1/admin/runs/{id}")).await;
    assert_eq!(run["data"]["owner"]["pid"].as_u64(), Some(pid_of(&doomed)));
    assert_eq!(run["data"]["scope"]["products"], "all");
    assert_eq!(run["data"]["scope"]["windowDays"], 5);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut doomed = doomed;
    doomed.child.start_kill().unwrap();
    doomed.child.wait().await.unwrap();
    let killed_at = Instant::now();

    // The live replica takes the run over once the lease has run out (it looks every few
    // seconds); until then, and after, the run is never interrupted.
    let adopted = loop {
        let (_, body) = admin(&live, Method::GET, &format!("/api/v1/admin/runs/{id}")).await;
        let run = body["data"].clone();
        assert_ne!(run["status"], "interrupted", "{run}");
        if run["owner"]["pid"].as_u64() == Some(pid_of(&live)) {
            break killed_at.elapsed();
        }
        assert!(
            killed_at.elapsed() < OWNER_LEASE + Duration::from_secs(15),
            "not adopted: {run}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        adopted >= OWNER_LEASE - Duration::from_secs(6),
        "adopted after {adopted:?}"
    );
    let run = wait_run(&live, id).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["fetched"], 30, "nothing lost: {run}");
    let listed = processes(&live).await;
    assert_eq!(listed.len(), 1, "the killed replica is gone: {listed:?}");
    assert_eq!(listed[0]["pid"].as_u64(), Some(pid_of(&live)));
    database.drop().await;
}
