//! Three real server processes on one Postgres database: one partner budget, no duplicate
//! work, nothing lost when a replica is killed, pause on one pauses all.

use std::process::Stdio;
use std::time::Duration;
use tickete_core::store::prelude::*;

use reqwest::Method;
use serde_json::Value;
use tickete_app::settings::{CommonArgs, StoreArgs, SyncArgs};
use tickete_app::{App, Settings};
use tickete_core::{JobPatch, ProductId};
use tickete_partner_sim::{SimConfig, Simulator};
use tickete_store_postgres::PostgresStore;
use tokio::net::TcpListener;
use tokio::process::Child;

use crate::support::{server_binary, today, wait_ready, Database, TOKEN};

/// Cluster pace: 450/min = one call per 133 ms; the simulator allows 10 per 1 s window, which
/// leaves room for scheduling noise between three processes (at 540/min a window met 11).
const RATE_PER_MINUTE: u32 = 450;
const SIM_LIMIT: u32 = 10;
pub(crate) const PRODUCTS: &str = "1,2,3,4,5,6";

pub(crate) struct Replica {
    pub(crate) base: String,
    pub(crate) child: Child,
}

pub(crate) async fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

pub(crate) async fn start_replica(database_url: &str, partner_url: &str) -> Replica {
    start_replica_at(database_url, partner_url, RATE_PER_MINUTE).await
}

/// A replica pacing the cluster at `rate_per_minute`.
pub(crate) async fn start_replica_at(
    database_url: &str,
    partner_url: &str,
    rate_per_minute: u32,
) -> Replica {
    let port = free_port().await;
    let child = server_binary(database_url, port)
        .env("TICKETE_PARTNER_URL", partner_url)
        .env("TICKETE_PARTNER_API_KEY", "partner-key")
        .env(
            "TICKETE_PARTNER_RATE_PER_MINUTE",
            rate_per_minute.to_string(),
        )
        .env("TICKETE_PRODUCTS", PRODUCTS)
        .env("TICKETE_PUBLIC_RATE_PER_MINUTE", "0")
        .env("TICKETE_TASK_LEASE_SECONDS", "3")
        // These tests count the partner calls runs make: no early refreshes beside them.
        .env("TICKETE_SYNC_SPARE_SHARE", "0")
        .stderr(Stdio::inherit())
        .spawn()
        .expect("server binary starts");
    let replica = Replica {
        base: format!("http://127.0.0.1:{port}"),
        child,
    };
    wait_ready(&replica.base).await;
    replica
}

/// Seeds the catalogue (`PRODUCTS`) and the default jobs as a first start does, with `disabled`
/// jobs turned off, before any replica starts; returns the store.
pub(crate) async fn seed_with_jobs_disabled(
    database_url: &str,
    disabled: &[&str],
) -> PostgresStore {
    let settings = Settings::resolve(&CommonArgs {
        store: StoreArgs {
            database_url: Some(database_url.to_owned()),
        },
        sync: SyncArgs {
            products: Some(PRODUCTS.into()),
            ..SyncArgs::default()
        },
        ..CommonArgs::default()
    })
    .unwrap();
    App::open(settings).await.unwrap().seed().await.unwrap();
    let store = PostgresStore::connect(database_url).await.unwrap();
    for job in disabled {
        let patch = JobPatch {
            enabled: Some(false),
            ..JobPatch::default()
        };
        store.update_job(job, &patch).await.unwrap();
    }
    store
}

/// Serves `sim` on a loopback port; returns its URL.
pub(crate) async fn serve(sim: &Simulator) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(sim.clone().serve(listener, std::future::pending()));
    url
}

pub(crate) async fn admin(replica: &Replica, method: Method, path: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .request(method, format!("{}{path}", replica.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    (
        response.status().as_u16(),
        response.json().await.unwrap_or(Value::Null),
    )
}

pub(crate) async fn wait_run(replica: &Replica, id: i64) -> Value {
    for _ in 0..1200 {
        let (_, body) = admin(replica, Method::GET, &format!("/api/v1/admin/runs/{id}")).await;
        if body["data"]["status"] != "running" {
            return body["data"].clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("run {id} did not finish");
}

pub(crate) async fn start_sync(replica: &Replica, days: u32) -> i64 {
    let (status, body) = admin(
        replica,
        Method::POST,
        &format!("/api/v1/admin/cron/sync?daysToSync={days}"),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    body["runId"].as_i64().unwrap()
}

fn fetches(sim: &Simulator, product: u32, offset: u64) -> u64 {
    let date = today() + chrono::Days::new(offset);
    sim.stats()
        .days
        .iter()
        .find(|day| day.product_id == product && day.date == date)
        .map_or(0, |day| day.fetches)
}

#[tokio::test]
async fn three_replicas_share_one_budget_and_one_queue() {
    let Ok(base) = std::env::var("TICKETE_TEST_POSTGRES_URL") else {
        eprintln!("skipped: TICKETE_TEST_POSTGRES_URL is not set");
        return;
    };
    let database = Database::create(&base).await;

    // Catalogue and jobs before any replica starts: only sync-today enabled, so the first
    // start has exactly one catch-up run to make, whichever replica claims it.
    let store =
        seed_with_jobs_disabled(&database.url, &["sync-next-7-days", "sync-next-30-days"]).await;

    // Slow answers keep several tasks in flight across replicas at once, so claims really
    // race each other.
    let sim = Simulator::new(SimConfig {
        rate_limit: SIM_LIMIT,
        window: Duration::from_secs(1),
        latency: Duration::from_millis(300),
        change_rate: 0.0,
        ..SimConfig::default()
    })
    .unwrap();
    let sim_url = serve(&sim).await;

    let mut replicas = Vec::new();
    for _ in 0..3 {
        replicas.push(start_replica(&database.url, &sim_url).await);
    }

    // 1. The first-start catch-up of sync-today ran once for the whole cluster.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (_, runs) = admin(
        &replicas[0],
        Method::GET,
        "/api/v1/admin/runs?job=sync-today",
    )
    .await;
    let catch_ups: Vec<&Value> = runs["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|run| run["trigger"] == "catch-up")
        .collect();
    assert_eq!(catch_ups.len(), 1, "{runs}");
    let first = wait_run(&replicas[1], catch_ups[0]["id"].as_i64().unwrap()).await;
    assert_eq!(first["fetched"], 6, "{first}");
    // A job edit through one replica is seen by all: no more sync-today ticks in this test.
    let (status, _) = admin(&replicas[2], Method::PUT, "/api/v1/admin/cron/toggle").await;
    assert_eq!(status, 400, "toggle needs a body");
    let toggled = reqwest::Client::new()
        .put(format!("{}/api/v1/admin/cron/toggle", replicas[2].base))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({"name": "sync-today", "status": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(toggled.status().as_u16(), 200);

    // 2. A full sync through three replicas fetches every (product, date) exactly once.
    let run = wait_run(&replicas[2], start_sync(&replicas[0], 5).await).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(
        (run["planned"].as_u64(), run["fetched"].as_u64()),
        (Some(30), Some(30))
    );
    for product in 1..=6 {
        assert_eq!(fetches(&sim, product, 0), 2, "today: catch-up + this run");
        for offset in 1..5 {
            // In the two hours before midnight each replica also fetches tomorrow ahead of
            // its entering the enabled job's window (an early refresh, not this run's; the
            // replicas do not share that look-ahead).
            let ahead = 3 * u64::from(offset == 1 && crate::support::before_midnight_look_ahead());
            let seen = fetches(&sim, product, offset);
            assert!(
                (1..=1 + ahead).contains(&seen),
                "product {product} day {offset}: {seen}"
            );
        }
    }

    // 3. SIGKILL one replica mid-sync: its claimed tasks come back after the lease.
    let id = start_sync(&replicas[1], 12).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut killed = replicas.remove(2);
    killed.child.start_kill().unwrap();
    killed.child.wait().await.unwrap();
    let run = wait_run(&replicas[0], id).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["fetched"], 72, "no task lost: {run}");
    for product in 1..=6 {
        for offset in 5..12 {
            let seen = fetches(&sim, product, offset);
            assert!(
                (1..=2).contains(&seen),
                "product {product} day {offset}: {seen}"
            );
        }
    }

    // 4. Pause through one replica stops the partner calls of all of them.
    let id = start_sync(&replicas[0], 20).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (status, _) = admin(&replicas[1], Method::POST, "/api/v1/sync/pause").await;
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let during_pause = sim.stats().requests;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        sim.stats().requests,
        during_pause,
        "no replica calls the partner while paused"
    );
    let (_, status_body) = admin(&replicas[0], Method::GET, "/api/v1/sync/status").await;
    assert_eq!(status_body["paused"], true);
    assert!(status_body["pending"].as_u64().unwrap() > 0);
    admin(&replicas[0], Method::POST, "/api/v1/sync/resume").await;
    let run = wait_run(&replicas[1], id).await;
    assert_eq!(run["status"], "succeeded", "{run}");

    // The cluster as a whole never exceeded the partner's limit.
    let stats = sim.stats();
    assert_eq!(stats.rate_limited, 0, "no 429s");
    assert!(
        stats.max_requests_in_window <= u64::from(SIM_LIMIT),
        "at most {SIM_LIMIT} calls in any 1 s window, saw {}",
        stats.max_requests_in_window
    );
    assert!(sim.day(ProductId::new(1).unwrap(), today()).is_some());

    drop(replicas);
    store.close().await;
    database.drop().await;
}
