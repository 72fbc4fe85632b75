//! Change-feed delivery on one node: commit-to-first-delivery latency and events
//! per second to a fast receiver on loopback, over a real SQLite file store (or Postgres with
//! `FEED_BENCH_POSTGRES_URL`).
//!
//! ```text
//! cargo bench -p tickete-app --bench feed_delivery
//! ```
//!
//! Latency: one change every 20 ms (`FEED_BENCH_SAMPLES`, default 500), each applied by
//! `apply_day` and announced to the worker as the engine announces a settled task; measured
//! from the apply's return (commit) to the receiver reading the request. Throughput:
//! `FEED_BENCH_BURST` (default 5000) changes of distinct (product, date) committed at once,
//! then the time until the receiver has all of them. Goals: p99 ≤ 1 s, ≥ 500 events/s.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use tickete_app::feed::{new_secret, DeliveryWorker, WorkerConfig};
use tickete_core::feed::Webhook;
use tickete_core::testing::sample_day;
use tickete_core::{DayApply, InventoryStore, Product, ProductId, SystemClock};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

/// A fast receiver: answers 204 to every request, noting when each webhook-id first arrived.
async fn receiver() -> (String, Arrivals) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let arrivals: Arrivals = Arc::default();
    let log = arrivals.clone();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            let log = log.clone();
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                let mut chunk = vec![0u8; 16 * 1024];
                loop {
                    let Ok(n) = socket.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buffer.extend_from_slice(&chunk[..n]);
                    while let Some(end) = find(&buffer, b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
                        let value = |name: &str| {
                            head.lines()
                                .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
                        };
                        let length: usize =
                            value("content-length:").map_or(0, |v| v.parse().unwrap());
                        if buffer.len() < end + 4 + length {
                            break;
                        }
                        if let Some(id) = value("webhook-id:") {
                            log.lock().unwrap().entry(id).or_insert_with(Instant::now);
                        }
                        buffer.drain(..end + 4 + length);
                        let reply = b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n";
                        if socket.write_all(reply).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    (url, arrivals)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

async fn open_store(dir: &std::path::Path) -> Arc<dyn InventoryStore> {
    match std::env::var("FEED_BENCH_POSTGRES_URL") {
        Ok(url) => Arc::new(
            tickete_store_postgres::PostgresStore::connect(&url)
                .await
                .unwrap(),
        ),
        Err(_) => {
            let url = format!("sqlite://{}/bench.db", dir.display());
            Arc::new(tickete_store_sqlite::SqliteStore::open(&url).await.unwrap())
        }
    }
}

#[tokio::main]
async fn main() {
    let samples: usize = std::env::var("FEED_BENCH_SAMPLES").map_or(500, |v| v.parse().unwrap());
    let burst: usize = std::env::var("FEED_BENCH_BURST").map_or(5000, |v| v.parse().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    let products: Vec<ProductId> = (1..=50).map(|id| ProductId::new(id).unwrap()).collect();
    for &id in &products {
        let product = Product {
            id,
            name: format!("Product {id}"),
            enabled: true,
        };
        store.upsert_product(&product).await.unwrap();
    }
    let (url, arrivals) = receiver().await;
    store
        .create_webhook(&Webhook {
            id: format!("wh_{:024x}", rand::random::<u64>()),
            url,
            events: vec![],
            description: Some("bench".into()),
            enabled: true,
            secret: new_secret(),
            created_at: Utc::now(),
            failing_since: None,
        })
        .await
        .unwrap();
    let config = WorkerConfig {
        allow_private: true,
        ..WorkerConfig::default()
    };
    let worker = DeliveryWorker::new(store.clone(), Arc::new(SystemClock), config).unwrap();
    let wake = worker.waker();
    let stop = CancellationToken::new();
    let (_never, events) = tokio::sync::broadcast::channel(1);
    let running = tokio::spawn(worker.run(events, stop.clone()));

    // Latency: one change at a time, every 20 ms.
    let base = NaiveDate::from_ymd_opt(2030, 1, 1).unwrap();
    let times = ["08:00", "09:00", "10:00", "11:00", "12:00", "13:00"];
    let mut committed = Vec::with_capacity(samples);
    for i in 0..samples {
        let day = sample_day(
            base + chrono::Days::new((i % 60) as u64),
            &times[..1 + i % 5],
        );
        let product = products[i % products.len()];
        store.apply_day(product, &day, Utc::now()).await.unwrap();
        let at = Instant::now();
        wake.notify_one();
        let event = store
            .events_after(store.latest_event_seq().await.unwrap() - 1, &[], 1)
            .await
            .unwrap();
        committed.push((event[0].id.clone(), at));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while arrivals.lock().unwrap().len() < samples && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut latencies: Vec<Duration> = {
        let arrivals = arrivals.lock().unwrap();
        committed
            .iter()
            .filter_map(|(id, at)| arrivals.get(id).map(|arrived| arrived.duration_since(*at)))
            .collect()
    };
    latencies.sort();
    println!(
        "commit to first delivery: {} of {samples} delivered, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        latencies.len(),
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3,
    );

    // Throughput: a burst of distinct (product, date) changes committed at once.
    let before = arrivals.lock().unwrap().len();
    let days: Vec<_> = (0..burst)
        .map(|i| {
            let date = base + chrono::Days::new(100 + (i / products.len()) as u64);
            (
                products[i % products.len()],
                sample_day(date, &times[..1 + i % 6]),
            )
        })
        .collect();
    let started = Instant::now();
    for batch in days.chunks(250) {
        let applies: Vec<_> = batch
            .iter()
            .map(|(product, day)| DayApply {
                product: *product,
                snapshot: day,
                synced_at: Utc::now(),
            })
            .collect();
        store.apply_days(&applies).await.unwrap();
        wake.notify_one();
    }
    let committed_in = started.elapsed();
    let deadline = Instant::now() + Duration::from_secs(300);
    while arrivals.lock().unwrap().len() < before + burst && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    let delivered = arrivals.lock().unwrap().len() - before;
    println!(
        "burst: {delivered} of {burst} delivered in {:.2} s ({:.0} events/s; commits took {:.2} s)",
        elapsed.as_secs_f64(),
        delivered as f64 / elapsed.as_secs_f64(),
        committed_in.as_secs_f64(),
    );
    stop.cancel();
    running.await.unwrap();
}
