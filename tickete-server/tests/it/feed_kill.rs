//! kill -9 of the real server binary while a delivery is in flight loses no event: the next
//! start attempts it again with the same `webhook-id`.

use std::time::Duration;

use serde_json::json;
use tickete_core::store::prelude::*;
use tickete_store_sqlite::SqliteStore;
use tokio::process::Command;

use crate::feed_support::Receiver;
use crate::support::{server_binary, wait_ready, TOKEN};

async fn start(database_url: &str, port: u16) -> tokio::process::Child {
    let child = server_binary(database_url, port)
        .arg("--partner-sim")
        .env("TICKETE_PARTNER_RATE_PER_MINUTE", "120")
        .env("TICKETE_WEBHOOK_ALLOW_PRIVATE", "true")
        .spawn()
        .unwrap();
    wait_ready(&format!("http://127.0.0.1:{port}")).await;
    child
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_delivery_loses_no_event() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}/tickete.db", dir.path().display());
    let port = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    };
    // The receiver leaves the first delivery unanswered: the server is killed mid-attempt.
    let receiver = Receiver::start(true).await;
    let mut child = start(&database_url, port).await;
    let response = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/api/v1/admin/webhooks"))
        .bearer_auth(TOKEN)
        .json(&json!({"url": receiver.url, "events": ["availability.changed"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let created: serde_json::Value = response.json().await.unwrap();
    receiver.set_secret(created["data"]["secret"].as_str().unwrap());
    // First start: the jobs' fill runs apply new days (changes) at two calls a second.
    receiver
        .wait_for(Duration::from_secs(30), |got| !got.is_empty())
        .await;
    let in_flight = receiver.received()[0].id.clone();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let killed = Command::new("kill")
        .args(["-9", &child.id().unwrap().to_string()])
        .status()
        .await
        .unwrap();
    assert!(killed.success());
    child.wait().await.unwrap();

    // Every change committed before the kill.
    let store = SqliteStore::open(&database_url).await.unwrap();
    // The webhook gets the events after its creation: from its first delivery on.
    let page = tickete_core::PageRequest {
        page: 1,
        limit: 100,
    };
    let webhook = created["data"]["id"].as_str().unwrap();
    let deliveries = store.list_deliveries(webhook, page).await.unwrap().items;
    let first = deliveries.iter().map(|d| d.event_seq).min().unwrap();
    let committed: Vec<String> = store
        .events_after(
            0,
            &[tickete_core::feed::EventType::AvailabilityChanged],
            10_000,
        )
        .await
        .unwrap()
        .into_iter()
        .filter(|event| event.seq >= first)
        .map(|event| event.id)
        .collect();
    store.close().await;
    assert!(committed.contains(&in_flight));

    let mut restarted = start(&database_url, port).await;
    receiver
        .wait_for(Duration::from_secs(30), |got| {
            let delivered: std::collections::HashSet<_> = got
                .iter()
                .filter(|r| r.status == 204)
                .map(|r| r.id.as_str())
                .collect();
            committed.iter().all(|id| delivered.contains(id.as_str()))
        })
        .await;
    restarted.start_kill().unwrap();
    restarted.wait().await.unwrap();
    let got = receiver.received();
    let again: Vec<_> = got.iter().filter(|r| r.id == in_flight).collect();
    assert!(again.len() >= 2, "redelivered: {again:#?}");
    assert!(
        again.iter().all(|r| r.verified),
        "same id, valid signature each time"
    );
}
