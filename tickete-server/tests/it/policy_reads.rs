//! Reads feed the refresh policy, end to end: one client hammering one product's
//! slots (and dates) takes nothing from the other products, which are still fetched in every
//! run and stay within their target; what it may add is counted once (the per-client bound),
//! and the counted reads reach the store, where every replica and the next process find them.

use reqwest::Method;
use serde_json::json;
use tickete_core::store::prelude::*;
use tickete_core::ProductId;
use tickete_store_sqlite::SqliteStore;

use crate::support::{today, Options, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_hammering_one_product_leaves_the_others_fetched_and_its_reads_are_stored() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}/tickete.db", dir.path().display());
    let server = TestServer::start(Options {
        products: "14,15,16,17",
        database_url: Some(database_url.clone()),
        ..Options::default()
    })
    .await;
    let first = server.sync_days(3).await;
    assert_eq!(first["fetched"], 12, "{first}");

    // One client hammers product 14: its slots today, and its dates now and then.
    let date = today();
    let slots = server.url(&format!("/api/v1/experience/14/slots?date={date}"));
    let dates = server.url("/api/v1/experience/14/dates");
    for round in 0..40 {
        let mut requests = Vec::new();
        for _ in 0..10 {
            requests.push(server.http.get(&slots).send());
        }
        if round % 10 == 0 {
            requests.push(server.http.get(&dates).send());
        }
        for response in futures::future::join_all(requests).await {
            assert_eq!(response.unwrap().status().as_u16(), 200);
        }
    }

    // The next run (its planning flushes the reads) still fetches every product's pairs.
    let second = server.sync_days(3).await;
    assert_eq!(second["status"], "succeeded", "{second}");
    assert_eq!(
        (
            second["fetched"].as_u64(),
            second["failed"].as_u64(),
            second["missed"].as_u64()
        ),
        (Some(12), Some(0), Some(0)),
        "{second}"
    );
    let sim = server.sim.as_ref().unwrap();
    for product in [15, 16, 17] {
        for offset in 0..3 {
            let day = date + chrono::Days::new(offset);
            let fetches = sim
                .stats()
                .days
                .iter()
                .find(|d| d.product_id == product && d.date == day)
                .map_or(0, |d| d.fetches);
            assert_eq!(
                fetches, 2,
                "product {product} on {day}: fill and second run"
            );
        }
    }

    // What the user sees: with sync-today enabled, every product's today is within target.
    let (status, _) = server
        .admin(
            Method::PUT,
            "/api/v1/admin/cron/sync-today",
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = server.admin(Method::GET, "/api/v1/sync/status", None).await;
    assert_eq!(status, 200, "{body}");
    let today_job = body["freshness"]
        .as_array()
        .unwrap()
        .iter()
        .find(|job| job["job"] == "sync-today")
        .cloned()
        .unwrap_or_else(|| panic!("sync-today freshness: {body}"));
    assert_eq!(today_job["pairs"], 4, "{today_job}");
    assert_eq!(today_job["withinTarget"], 4, "{today_job}");
    server.stop().await;

    // The reads are in the store, as much as one client may add: its 400 slots reads of
    // product 14 today count once (weight 1), its 4 dates reads once (weight ½, the client's
    // second distinct read, spread over the dates window), within one 10-minute window (or
    // two, if the reads straddle one's end); nothing for the products nobody read.
    let store = SqliteStore::open(&database_url).await.unwrap();
    let stored = store.stored_reads(date).await.unwrap();
    let now = chrono::Utc::now();
    let weight = |product: u32, day: chrono::NaiveDate| -> f64 {
        stored
            .iter()
            .filter(|r| r.product == ProductId::new(product).unwrap() && r.date == day)
            .map(|r| r.weight_at(now))
            .sum()
    };
    let hammered = weight(14, date);
    assert!((1.0..=2.1).contains(&hammered), "{hammered}");
    let tomorrow = weight(14, date + chrono::Days::new(1));
    assert!(tomorrow > 0.0 && tomorrow < 1.0, "{tomorrow}");
    assert!(stored.iter().all(|r| r.product.get() == 14), "{stored:?}");
    store.close().await;
}
