//! Two servers on one Postgres database: each delivery attempt is made by exactly one of them
//! (claimed FOR UPDATE SKIP LOCKED, woken by NOTIFY), and either serves the event stream.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::feed_support::{EventStream, Receiver};
use crate::support::{Database, Options, TestServer, TOKEN};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_delivery_is_made_by_one_replica_and_any_replica_streams() {
    let Ok(base) = std::env::var("TICKETE_TEST_POSTGRES_URL") else {
        eprintln!("TICKETE_TEST_POSTGRES_URL is not set: Postgres test skipped");
        return;
    };
    let db = Database::create(&base).await;
    let options = || Options {
        database_url: Some(db.url.clone()),
        webhook_allow_private: true,
        ..Options::default()
    };
    let a = TestServer::start(options()).await;
    let b = TestServer::start(options()).await;
    let receiver = Receiver::start(false).await;
    let (status, created) = a
        .admin(
            Method::POST,
            "/api/v1/admin/webhooks",
            Some(json!({"url": receiver.url})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    receiver.set_secret(created["data"]["secret"].as_str().unwrap());
    let mut stream = EventStream::open(&b.base, TOKEN, "", Some(0)).await;

    // Three days of two products: six changes and the run's end.
    a.sync_days(3).await;
    receiver
        .wait_for(Duration::from_secs(20), |got| got.len() >= 7)
        .await;
    // Give a second attempt by the other replica time to show up, if there were one.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got = receiver.received();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for received in &got {
        assert!(received.verified);
        *counts.entry(received.id.as_str()).or_default() += 1;
    }
    assert_eq!(counts.len(), 7, "{got:#?}");
    assert!(
        counts.values().all(|&n| n == 1),
        "each event once: {counts:?}"
    );
    let mut streamed = Vec::new();
    for _ in 0..7 {
        streamed.push(stream.next().await.data["id"].as_str().unwrap().to_owned());
    }
    assert!(streamed.iter().all(|id| counts.contains_key(id.as_str())));
    // The log is the same on either replica.
    let path = format!(
        "/api/v1/admin/webhooks/{}/deliveries?limit=100",
        created["data"]["id"].as_str().unwrap()
    );
    let (_, log_a) = a.admin(Method::GET, &path, None).await;
    let (_, log_b) = b.admin(Method::GET, &path, None).await;
    assert_eq!(log_a["totalLength"], 7);
    assert_eq!(log_a, log_b);
    drop(stream);
    a.stop().await;
    b.stop().await;
    db.drop().await;
}
