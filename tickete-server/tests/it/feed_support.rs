//! A webhook receiver that verifies signatures with the `standardwebhooks` crate (an
//! implementation independent of ours), and an event-stream reader.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use futures::StreamExt;
use serde_json::Value;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub body: Value,
    /// The signature checked out with the secret given to the receiver.
    pub verified: bool,
    /// What the receiver answered.
    pub status: u16,
}

#[derive(Default)]
struct Inner {
    secret: Option<String>,
    received: Vec<Received>,
    /// Leave the first request unanswered (to kill the server while it is in flight).
    hang_first: bool,
}

#[derive(Clone, Default)]
pub struct Receiver {
    inner: Arc<Mutex<Inner>>,
    pub url: String,
}

impl Receiver {
    pub async fn start(hang_first: bool) -> Self {
        let inner = Arc::new(Mutex::new(Inner {
            hang_first,
            ..Inner::default()
        }));
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { inner, url }
    }

    pub fn set_secret(&self, secret: &str) {
        self.inner.lock().unwrap().secret = Some(secret.to_owned());
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }

    /// Waits until `done` holds for what was received (at most `within`).
    pub async fn wait_for(&self, within: Duration, done: impl Fn(&[Received]) -> bool) {
        let deadline = tokio::time::Instant::now() + within;
        while tokio::time::Instant::now() < deadline {
            if done(&self.received()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("receiver: condition not met; got {:#?}", self.received());
    }
}

async fn receive(
    State(inner): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let (verified, hang) = {
        let mut inner = inner.lock().unwrap();
        let verified = inner.secret.as_deref().is_some_and(|secret| {
            standardwebhooks::Webhook::new(secret)
                .and_then(|webhook| webhook.verify(&body, &headers))
                .is_ok()
        });
        let hang = inner.hang_first && inner.received.is_empty();
        let status = if hang {
            0
        } else if verified {
            204
        } else {
            401
        };
        inner.received.push(Received {
            id: headers
                .get("webhook-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned(),
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
            verified,
            status,
        });
        (verified, hang)
    };
    if hang {
        std::future::pending::<()>().await;
    }
    if verified {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::UNAUTHORIZED
    }
}

/// One server-sent event.
#[derive(Debug, Clone, PartialEq)]
pub struct SseEvent {
    pub id: u64,
    pub event: String,
    pub data: Value,
}

/// An open `GET /api/v1/events`.
pub struct EventStream {
    bytes: futures::stream::BoxStream<'static, reqwest::Result<Bytes>>,
    buffer: String,
}

impl EventStream {
    pub async fn open(base: &str, token: &str, query: &str, last_event_id: Option<u64>) -> Self {
        let mut request = reqwest::Client::new()
            .get(format!("{base}/api/v1/events{query}"))
            .bearer_auth(token);
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id.to_string());
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
        Self {
            bytes: response.bytes_stream().boxed(),
            buffer: String::new(),
        }
    }

    /// The next event (comments skipped), waiting at most 20 s.
    pub async fn next(&mut self) -> SseEvent {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut id, mut event, mut data) = (None, String::new(), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = Some(v.trim().parse().unwrap());
                    } else if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if let Some(id) = id {
                    return SseEvent {
                        id,
                        event,
                        data: serde_json::from_str(&data).unwrap(),
                    };
                }
                continue;
            }
            let chunk = tokio::time::timeout(Duration::from_secs(20), self.bytes.next())
                .await
                .expect("an event within 20 s")
                .expect("the stream is open")
                .unwrap();
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}
