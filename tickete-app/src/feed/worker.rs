//! The delivery worker: turns new events into deliveries, claims due ones (on Postgres each
//! attempt by exactly one replica, through the store's lease) and posts them per Standard
//! Webhooks through one guarded client, recording each attempt and its retry.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use reqwest::redirect::Policy;
use tickete_core::engine::EngineEvent;
use tickete_core::feed::Webhooks;
use tickete_core::feed::{retry_delay, AttemptResult, ClaimedDelivery, DISABLE_AFTER};
use tickete_core::{Clock, StoreError};
use tokio::sync::{broadcast, Notify};
use tokio_util::sync::CancellationToken;

use super::guard::{is_private, AddressGuard};
use super::sign::signature;

/// How the worker reaches endpoints and how much it takes on at once.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Let webhooks reach loopback and private addresses.
    pub allow_private: bool,
    /// Whole attempt, request to last byte read (SPEC: 15 s).
    pub timeout: Duration,
    /// TCP (and TLS) connect.
    pub connect_timeout: Duration,
    /// Most of a response body read (the rest is dropped).
    pub max_response_bytes: usize,
    /// How long a claimed attempt is ours before another replica may take it.
    pub lease: Duration,
    /// Deliveries claimed per round.
    pub batch: u32,
    /// Attempts in flight at once.
    pub concurrency: usize,
    /// Look for due work at least this often (retries, other replicas' events).
    pub poll: Duration,
    /// Single node: at start, release claims a killed predecessor held (on a shared store
    /// they run out with their lease instead).
    pub release_claims_at_start: bool,
    /// The proxy deliveries go through (`TICKETE_WEBHOOK_PROXY`); none by default, and never
    /// one from the environment.
    pub proxy: Option<String>,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            allow_private: false,
            timeout: Duration::from_secs(15),
            connect_timeout: Duration::from_secs(5),
            max_response_bytes: 64 * 1024,
            lease: Duration::from_secs(60),
            batch: 200,
            concurrency: 64,
            poll: Duration::from_secs(1),
            release_claims_at_start: false,
            proxy: None,
        }
    }
}

/// Delivers webhook events until stopped.
#[derive(Clone)]
pub struct DeliveryWorker {
    store: Arc<dyn Webhooks>,
    clock: Arc<dyn Clock>,
    client: reqwest::Client,
    config: WorkerConfig,
    wake: Arc<Notify>,
}

impl DeliveryWorker {
    /// A worker over `store`, reading time from `clock`.
    pub fn new(
        store: Arc<dyn Webhooks>,
        clock: Arc<dyn Clock>,
        config: WorkerConfig,
    ) -> Result<Self, String> {
        let builder = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .redirect(Policy::none())
            // A proxy from the environment (HTTPS_PROXY, ALL_PROXY…) would be the address the
            // guard checks, and the proxy would reach the private target: never use one.
            .no_proxy()
            .user_agent("tickete-webhooks/1");
        let builder = match &config.proxy {
            // Direct: the guard filters the addresses the client connects to, so a name
            // cannot resolve to a public address at the check and a private one at connect.
            None => builder.dns_resolver(Arc::new(AddressGuard {
                allow_private: config.allow_private,
            })),
            // Through the operator's proxy: the client resolves only the proxy (often on a
            // private network); each target is checked before its request (`post`).
            Some(proxy) => builder.proxy(
                reqwest::Proxy::all(proxy)
                    .map_err(|_| "TICKETE_WEBHOOK_PROXY is not a proxy URL".to_owned())?,
            ),
        };
        let client = builder
            .build()
            .map_err(|e| format!("webhook client: {e}"))?;
        Ok(Self {
            store,
            clock,
            client,
            config,
            wake: Arc::new(Notify::new()),
        })
    }

    /// Notifying this wakes the worker at once (e.g. a Postgres `NOTIFY` of another replica).
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Runs rounds until `stop`: at once when `events` (the engine's) reports a settled task
    /// or a finished run, or the waker fires, else every `poll`.
    pub async fn run(self, events: broadcast::Receiver<EngineEvent>, stop: CancellationToken) {
        let mut events = Some(events);
        if self.config.release_claims_at_start {
            match self.store.release_claims().await {
                Ok(0) => {}
                Ok(released) => {
                    tracing::info!(released, "re-attempting deliveries a previous process left")
                }
                Err(error) => tracing::warn!(%error, "could not release delivery claims"),
            }
        }
        loop {
            let busy = match self.round().await {
                Ok(done) => done >= self.config.batch as usize,
                Err(error) => {
                    tracing::warn!(%error, "webhook delivery round failed");
                    false
                }
            };
            if busy {
                continue;
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = self.wake.notified() => {}
                closed = engine_event(&mut events) => if closed {
                    // No engine any more: keep polling until stopped.
                    events = None;
                },
                () = tokio::time::sleep(self.config.poll) => {}
            }
        }
    }

    /// One round: fans new events out to deliveries, claims the due ones and attempts them;
    /// returns how many attempts were made.
    pub async fn round(&self) -> Result<usize, StoreError> {
        let now = self.clock.now();
        self.store.fan_out(now).await?;
        let lease = chrono::Duration::from_std(self.config.lease).unwrap_or(chrono::Duration::MAX);
        let claimed = self
            .store
            .claim_deliveries(now, now + lease, self.config.batch)
            .await?;
        let count = claimed.len();
        futures::stream::iter(claimed)
            .for_each_concurrent(self.config.concurrency, |claimed| self.attempt(claimed))
            .await;
        Ok(count)
    }

    async fn attempt(&self, claimed: ClaimedDelivery) {
        let result = match &claimed.body {
            None => AttemptResult::Failed {
                status: None,
                error: "the event is no longer kept".into(),
                retry_at: None,
            },
            Some(body) => self.post(&claimed, body).await,
        };
        let now = self.clock.now();
        let disable_before = now - chrono::Duration::from_std(DISABLE_AFTER).unwrap_or_default();
        let delivery = &claimed.delivery;
        let outcome = match &result {
            AttemptResult::Delivered { .. } => "delivered",
            AttemptResult::Failed {
                retry_at: Some(_), ..
            } => "retry",
            AttemptResult::Failed { retry_at: None, .. } => "failed",
        };
        metrics::counter!("tickete_webhook_attempts_total", "outcome" => outcome).increment(1);
        match &result {
            AttemptResult::Delivered { status } => {
                tracing::debug!(delivery = %delivery.id, event = %delivery.event_id, status, "webhook delivered");
            }
            AttemptResult::Failed {
                error, retry_at, ..
            } => {
                tracing::info!(delivery = %delivery.id, event = %delivery.event_id, %error, ?retry_at, "webhook attempt failed");
            }
        }
        if let Err(error) = self
            .store
            .finish_attempt(&delivery.id, &result, now, disable_before)
            .await
        {
            // The lease runs out and the attempt is made again (at least once).
            tracing::warn!(%error, delivery = %delivery.id, "could not record the webhook attempt");
        }
    }

    async fn post(&self, claimed: &ClaimedDelivery, body: &str) -> AttemptResult {
        let attempts = claimed.delivery.attempts + 1;
        let failed = |status: Option<u16>, error: String| AttemptResult::Failed {
            status,
            error,
            retry_at: retry_delay(attempts).map(|delay| {
                self.clock.now() + chrono::Duration::from_std(delay).unwrap_or_default()
            }),
        };
        if !self.config.allow_private && literal_private_host(&claimed.url) {
            return failed(
                None,
                "refused: the URL's address is private or loopback".into(),
            );
        }
        if !self.config.allow_private && self.config.proxy.is_some() {
            if let Err(error) = check_target(&claimed.url).await {
                return failed(None, error);
            }
        }
        let timestamp = self.clock.now().timestamp();
        let id = &claimed.delivery.event_id;
        let request = self
            .client
            .post(&claimed.url)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header(
                "webhook-signature",
                signature(&claimed.secret, id, timestamp, body),
            )
            .body(body.to_owned());
        match request.send().await {
            Ok(mut response) => {
                let status = response.status().as_u16();
                // Read a bounded part of the body (so the connection can be reused), never more.
                let mut read = 0usize;
                while read < self.config.max_response_bytes {
                    match response.chunk().await {
                        Ok(Some(chunk)) => read += chunk.len(),
                        _ => break,
                    }
                }
                if (200..300).contains(&status) {
                    AttemptResult::Delivered { status }
                } else {
                    failed(Some(status), format!("HTTP {status}"))
                }
            }
            Err(error) => failed(None, describe(&error)),
        }
    }
}

/// Waits for the engine's next event; true when its channel closed (never returns without
/// an engine).
async fn engine_event(events: &mut Option<broadcast::Receiver<EngineEvent>>) -> bool {
    match events {
        Some(events) => matches!(
            events.recv().await,
            Err(broadcast::error::RecvError::Closed)
        ),
        None => std::future::pending().await,
    }
}

/// True when the URL's host is an IP literal on a refused range (a literal never reaches the
/// resolver, so it is checked here).
fn literal_private_host(url: &str) -> bool {
    match url::Url::parse(url)
        .ok()
        .and_then(|u| u.host().map(|h| h.to_owned()))
    {
        Some(url::Host::Ipv4(ip)) => is_private(ip.into()),
        Some(url::Host::Ipv6(ip)) => is_private(ip.into()),
        Some(url::Host::Domain(_)) => false,
        None => true,
    }
}

/// Through a proxy the client never resolves the target, so it is resolved here: refused
/// when any of its addresses is private (the proxy might pick that one). The proxy resolves
/// the name again when it connects; it should refuse private targets too (a name whose
/// answers change between the two lookups is beyond what this process can see).
async fn check_target(url: &str) -> Result<(), String> {
    let url = url::Url::parse(url).map_err(|_| "refused: not a URL".to_owned())?;
    let Some(url::Host::Domain(host)) = url.host() else {
        // IP literals were checked before.
        return Ok(());
    };
    let port = url.port_or_known_default().unwrap_or(443);
    let addresses: Vec<_> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| format!("could not resolve {host}: {e}"))?
        .collect();
    if addresses.is_empty() || addresses.iter().any(|address| is_private(address.ip())) {
        return Err(format!(
            "refused: {host} resolves to a private or loopback address"
        ));
    }
    Ok(())
}

/// A short, secret-free reason for a failed request.
fn describe(error: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = Some(error);
    let mut innermost = error.to_string();
    while let Some(current) = source {
        innermost = current.to_string();
        source = current.source();
    }
    if error.is_timeout() {
        "timed out".into()
    } else if error.is_connect() {
        format!("could not connect: {innermost}")
    } else {
        format!("request failed: {innermost}")
    }
}

#[cfg(test)]
mod proxy_tests {
    use std::sync::Arc;
    use std::time::Duration;

    use tickete_core::testing::MemoryStore;
    use tickete_core::SystemClock;
    use tokio::net::TcpListener;

    use super::{DeliveryWorker, WorkerConfig};

    /// With the system proxy variables pointing at a proxy that would reach anything, the
    /// delivery client still goes direct: the proxy never sees a connection, and a name that
    /// resolves to no public address is not reached at all.
    #[tokio::test]
    async fn a_proxy_in_the_environment_is_never_used() {
        let proxy = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
        // Set once for this test process; the other tests' clients ignore proxies as well.
        for name in [
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "ALL_PROXY",
            "http_proxy",
            "https_proxy",
        ] {
            std::env::set_var(name, &proxy_url);
        }
        let worker = DeliveryWorker::new(
            Arc::new(MemoryStore::new()),
            Arc::new(SystemClock),
            WorkerConfig::default(),
        )
        .unwrap();
        for target in [
            "http://private-target.invalid/hook",
            "https://localhost:9/hook",
        ] {
            let sent = worker.client.post(target).body("{}").send().await;
            assert!(sent.is_err(), "{target} was reached: {sent:?}");
        }
        let accepted = tokio::time::timeout(Duration::from_millis(300), proxy.accept()).await;
        assert!(
            accepted.is_err(),
            "the delivery client went through the proxy"
        );
    }
}
