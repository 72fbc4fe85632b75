//! The delivery worker on a fake clock against a real (raw TCP) endpoint on loopback.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use tickete_core::feed::{DeliveryStatus, Webhook, RETRY_DELAYS};
use tickete_core::store::prelude::*;
use tickete_core::testing::{sample_day, MemoryStore};
use tickete_core::{Clock, InventoryStore, PageRequest, Product, ProductId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::{new_secret, DeliveryWorker, WorkerConfig};

/// A clock the test moves by hand.
struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().unwrap() = at;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// How the endpoint answers.
#[derive(Clone, Copy)]
enum Answer {
    Status(u16),
    Hang,
    /// 500 to the first request, 204 to the rest.
    FailFirst,
}

/// Requests an endpoint received: (webhook-id header, body).
type Received = Arc<Mutex<Vec<(String, String)>>>;

/// A minimal HTTP/1.1 endpoint on 127.0.0.1 answering every request the same way.
async fn endpoint(answer: Answer) -> (u16, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let received: Received = Arc::default();
    let log = received.clone();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            let log = log.clone();
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                loop {
                    let mut chunk = [0u8; 4096];
                    let Ok(n) = socket.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buffer.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buffer).to_string();
                    let Some(end) = text.find("\r\n\r\n") else {
                        continue;
                    };
                    let head = text[..end].to_ascii_lowercase();
                    let header = |name: &str| {
                        head.lines()
                            .find_map(|l| l.strip_prefix(&format!("{name}: ")).map(str::to_owned))
                    };
                    let length: usize = header("content-length").map_or(0, |v| v.parse().unwrap());
                    if buffer.len() < end + 4 + length {
                        continue;
                    }
                    let body = text[end + 4..end + 4 + length].to_owned();
                    let first = {
                        let mut log = log.lock().unwrap();
                        log.push((header("webhook-id").unwrap_or_default(), body));
                        log.len() == 1
                    };
                    buffer.drain(..end + 4 + length);
                    match answer {
                        Answer::Hang => {
                            tokio::time::sleep(Duration::from_secs(3600)).await;
                        }
                        Answer::Status(_) | Answer::FailFirst => {
                            let code = match answer {
                                Answer::Status(code) => code,
                                _ if first => 500,
                                _ => 204,
                            };
                            let reply = format!("HTTP/1.1 {code} X\r\ncontent-length: 2\r\n\r\nok");
                            if socket.write_all(reply.as_bytes()).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    (port, received)
}

struct Setup {
    store: Arc<MemoryStore>,
    clock: Arc<ManualClock>,
    start: DateTime<Utc>,
}

/// A store with one product, a webhook at `url` and one applied change.
async fn setup(url: String) -> Setup {
    let start = Utc::now();
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock(Mutex::new(start)));
    let product = ProductId::new(14).unwrap();
    store
        .upsert_product(&Product {
            id: product,
            name: "P".into(),
            enabled: true,
        })
        .await
        .unwrap();
    store
        .create_webhook(&Webhook {
            id: "wh_01".into(),
            url,
            events: vec![],
            description: None,
            enabled: true,
            secret: new_secret(),
            created_at: start,
            failing_since: None,
        })
        .await
        .unwrap();
    let date = NaiveDate::from_ymd_opt(2030, 1, 2).unwrap();
    store
        .apply_day(product, &sample_day(date, &["09:00"]), start)
        .await
        .unwrap();
    Setup {
        store,
        clock,
        start,
    }
}

fn worker(setup: &Setup, config: WorkerConfig) -> DeliveryWorker {
    DeliveryWorker::new(
        setup.store.clone() as Arc<dyn InventoryStore>,
        setup.clock.clone(),
        config,
    )
    .unwrap()
}

async fn the_delivery(store: &MemoryStore) -> tickete_core::feed::Delivery {
    let page = PageRequest { page: 1, limit: 10 };
    let mut deliveries = store.list_deliveries("wh_01", page).await.unwrap().items;
    assert_eq!(deliveries.len(), 1);
    deliveries.remove(0)
}

#[tokio::test]
async fn retries_follow_the_schedule_then_the_delivery_fails() {
    let (port, received) = endpoint(Answer::Status(500)).await;
    let setup = setup(format!("http://127.0.0.1:{port}/hook")).await;
    let config = WorkerConfig {
        allow_private: true,
        ..WorkerConfig::default()
    };
    let worker = worker(&setup, config);
    assert_eq!(worker.round().await.unwrap(), 1, "first attempt at once");
    let mut due = setup.start;
    for (retry, delay) in RETRY_DELAYS.iter().enumerate() {
        let delivery = the_delivery(&setup.store).await;
        assert_eq!(delivery.attempts as usize, retry + 1);
        assert_eq!(delivery.status, DeliveryStatus::Pending);
        assert_eq!(delivery.last_response_status, Some(500));
        due += chrono::Duration::from_std(*delay).unwrap();
        assert_eq!(
            delivery.next_attempt_at,
            Some(due),
            "retry {} after {delay:?}",
            retry + 1
        );
        setup.clock.set(due - chrono::Duration::seconds(1));
        assert_eq!(worker.round().await.unwrap(), 0, "not before the delay");
        setup.clock.set(due);
        assert_eq!(worker.round().await.unwrap(), 1, "at the delay");
    }
    let delivery = the_delivery(&setup.store).await;
    assert_eq!(delivery.attempts, 8);
    assert_eq!(delivery.status, DeliveryStatus::Failed);
    assert_eq!(delivery.next_attempt_at, None);
    setup.clock.set(due + chrono::Duration::days(1));
    assert_eq!(
        worker.round().await.unwrap(),
        0,
        "failed deliveries are not attempted"
    );
    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 8);
    assert!(received
        .iter()
        .all(|(id, body)| id == &delivery.event_id && body.contains(id.as_str())));
    // Failing since the first attempt, a little over a day: not disabled yet.
    let webhook = setup.store.get_webhook("wh_01").await.unwrap();
    assert_eq!(webhook.failing_since, Some(setup.start));
    assert!(webhook.enabled);
}

#[tokio::test]
async fn a_hanging_endpoint_times_out_and_is_retried() {
    let (port, received) = endpoint(Answer::Hang).await;
    let setup = setup(format!("http://127.0.0.1:{port}/hook")).await;
    let config = WorkerConfig {
        allow_private: true,
        timeout: Duration::from_millis(300),
        ..WorkerConfig::default()
    };
    assert_eq!(worker(&setup, config).round().await.unwrap(), 1);
    let delivery = the_delivery(&setup.store).await;
    assert_eq!(delivery.last_error.as_deref(), Some("timed out"));
    assert_eq!(delivery.last_response_status, None);
    assert_eq!(
        delivery.next_attempt_at,
        Some(setup.start + chrono::Duration::seconds(5))
    );
    assert_eq!(received.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn private_targets_are_refused_on_the_resolved_address() {
    let (port, received) = endpoint(Answer::Status(204)).await;
    for url in [
        format!("http://localhost:{port}/hook"),
        format!("http://127.0.0.1:{port}/hook"),
    ] {
        let setup = setup(url.clone()).await;
        assert_eq!(
            worker(&setup, WorkerConfig::default())
                .round()
                .await
                .unwrap(),
            1
        );
        let delivery = the_delivery(&setup.store).await;
        assert_eq!(delivery.status, DeliveryStatus::Pending, "{url}");
        let error = delivery.last_error.unwrap();
        assert!(
            error.contains("private") || error.contains("public"),
            "{url}: {error}"
        );
    }
    assert!(
        received.lock().unwrap().is_empty(),
        "nothing reached the endpoint"
    );
    // Allowed, the same name is delivered.
    let setup = setup(format!("http://localhost:{port}/hook")).await;
    let config = WorkerConfig {
        allow_private: true,
        ..WorkerConfig::default()
    };
    worker(&setup, config).round().await.unwrap();
    assert_eq!(
        the_delivery(&setup.store).await.status,
        DeliveryStatus::Succeeded
    );
    assert_eq!(received.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_retrying_change_holds_back_later_changes_of_its_day() {
    let (port, received) = endpoint(Answer::FailFirst).await;
    let setup = setup(format!("http://127.0.0.1:{port}/hook")).await;
    let product = ProductId::new(14).unwrap();
    let date = NaiveDate::from_ymd_opt(2030, 1, 2).unwrap();
    let other = NaiveDate::from_ymd_opt(2030, 1, 3).unwrap();
    setup
        .store
        .apply_day(product, &sample_day(date, &["10:00"]), setup.start)
        .await
        .unwrap();
    setup
        .store
        .apply_day(product, &sample_day(other, &["10:00"]), setup.start)
        .await
        .unwrap();
    let events = setup.store.events_after(0, &[], 10).await.unwrap();
    let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    let config = WorkerConfig {
        allow_private: true,
        concurrency: 1,
        ..WorkerConfig::default()
    };
    let worker = worker(&setup, config);
    // The day's first change fails; its second waits; the other day is not held back.
    assert_eq!(worker.round().await.unwrap(), 2);
    assert_eq!(worker.round().await.unwrap(), 0);
    setup.clock.set(setup.start + chrono::Duration::seconds(5));
    assert_eq!(worker.round().await.unwrap(), 1, "the retry");
    assert_eq!(
        worker.round().await.unwrap(),
        1,
        "then the day's next change"
    );
    let got: Vec<String> = received
        .lock()
        .unwrap()
        .iter()
        .map(|(id, _)| id.clone())
        .collect();
    assert_eq!(got, [ids[0], ids[2], ids[0], ids[1]]);
}

/// A proxy that answers 200 to every request and records each request line.
async fn recording_proxy() -> (String, Arc<Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let lines = Arc::new(Mutex::new(Vec::new()));
    let seen = lines.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = Vec::new();
            let mut buffer = [0u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buffer[..n]),
                }
            }
            let line = String::from_utf8_lossy(&request)
                .lines()
                .next()
                .unwrap_or("")
                .to_owned();
            seen.lock().unwrap().push(line);
            let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
            let _ = socket.write_all(answer).await;
        }
    });
    (url, lines)
}

/// `TICKETE_WEBHOOK_PROXY`: a delivery to a public target goes through the configured proxy
/// (itself on loopback, as an operator's proxy often is on a private network), and private
/// targets are refused before the proxy is asked: by literal address or by what the name
/// resolves to.
#[tokio::test]
async fn a_configured_proxy_carries_deliveries_and_private_targets_are_still_refused() {
    let (proxy, lines) = recording_proxy().await;
    let config = || WorkerConfig {
        proxy: Some(proxy.clone()),
        ..WorkerConfig::default()
    };
    let public = setup("http://8.8.8.8/hook".into()).await;
    assert_eq!(worker(&public, config()).round().await.unwrap(), 1);
    assert_eq!(
        the_delivery(&public.store).await.status,
        DeliveryStatus::Succeeded
    );
    assert_eq!(
        lines.lock().unwrap().as_slice(),
        ["POST http://8.8.8.8/hook HTTP/1.1"]
    );
    for url in [
        "http://localhost:9/hook",
        "http://[::1]:9/hook",
        "http://10.0.0.1/hook",
    ] {
        let private = setup(url.into()).await;
        worker(&private, config()).round().await.unwrap();
        let delivery = the_delivery(&private.store).await;
        assert_eq!(delivery.status, DeliveryStatus::Pending, "{url}");
        let error = delivery.last_error.unwrap();
        assert!(error.contains("private"), "{url}: {error}");
    }
    assert_eq!(
        lines.lock().unwrap().len(),
        1,
        "the proxy saw only the public target"
    );
}
