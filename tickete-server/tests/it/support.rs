//! A server under test.

use std::time::Duration;

use serde_json::Value;
use sqlx::Connection;
use tickete_app::settings::{CommonArgs, PartnerArgs, ServerArgs, StoreArgs, SyncArgs};
use tickete_app::{App, Settings};
use tickete_core::JobPatch;
use tickete_partner_sim::{SimConfig, Simulator};
use tickete_server::launch::{launch, LaunchError};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const TOKEN: &str = "test-admin-token";

/// Where the server's partner calls go.
pub enum Partner {
    /// A simulator on its own port, readable by the test.
    Sim(SimConfig),
    /// Any URL (wiremock).
    Url(String),
}

pub struct Options {
    pub partner: Partner,
    pub products: &'static str,
    pub rate_per_minute: u32,
    pub public_rate_per_minute: u32,
    /// Leave the three jobs enabled (their first-start runs then begin at once).
    pub jobs_enabled: bool,
    /// Store URL; a SQLite file in a temp dir when `None`.
    pub database_url: Option<String>,
    /// Key the public rate limit on `X-Forwarded-For`.
    pub trust_forwarded_for: bool,
    /// `TICKETE_WEBHOOK_ALLOW_PRIVATE` (test receivers listen on loopback).
    pub webhook_allow_private: bool,
    /// `TICKETE_LIVE_WAIT_MS`; the default when `None`.
    pub live_wait_ms: Option<u64>,
    /// `TICKETE_LIVE_SHARE`; the default when `None`.
    pub live_share: Option<f64>,
    /// `TICKETE_LIVE_PER_CLIENT_PER_MINUTE`; the default when `None`.
    pub live_per_client_per_minute: Option<u32>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            partner: Partner::Sim(SimConfig {
                rate_limit: 0,
                change_rate: 0.0,
                ..SimConfig::default()
            }),
            products: "14,15",
            rate_per_minute: 600,
            public_rate_per_minute: 0,
            jobs_enabled: false,
            database_url: None,
            trust_forwarded_for: false,
            webhook_allow_private: false,
            live_wait_ms: None,
            live_share: None,
            live_per_client_per_minute: None,
        }
    }
}

pub struct TestServer {
    pub base: String,
    pub http: reqwest::Client,
    pub sim: Option<Simulator>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<Result<(), LaunchError>>>,
    _dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start(options: Options) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (partner_url, sim) = match options.partner {
            Partner::Sim(config) => {
                let sim = Simulator::new(config).unwrap();
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                let url = format!("http://{}", listener.local_addr().unwrap());
                tokio::spawn(sim.clone().serve(listener, std::future::pending()));
                (url, Some(sim))
            }
            Partner::Url(url) => (url, None),
        };
        let common =
            CommonArgs {
                store: StoreArgs {
                    database_url: Some(options.database_url.clone().unwrap_or_else(|| {
                        format!("sqlite://{}/tickete.db", dir.path().display())
                    })),
                },
                partner: PartnerArgs {
                    partner_url: Some(partner_url),
                    partner_api_key: Some("partner-key".into()),
                    partner_rate_per_minute: Some(options.rate_per_minute),
                    ..PartnerArgs::default()
                },
                sync: SyncArgs {
                    products: Some(options.products.into()),
                    live_wait_ms: options.live_wait_ms,
                    live_share: options.live_share,
                    live_per_client_per_minute: options.live_per_client_per_minute,
                    ..SyncArgs::default()
                },
                feed: tickete_app::settings::FeedArgs {
                    webhook_allow_private: Some(options.webhook_allow_private),
                    ..Default::default()
                },
                ..CommonArgs::default()
            };
        let server = ServerArgs {
            admin_token: Some(TOKEN.into()),
            public_rate_per_minute: Some(options.public_rate_per_minute),
            trust_forwarded_for: Some(options.trust_forwarded_for),
            bind: Some("127.0.0.1:0".into()),
            ..ServerArgs::default()
        };
        let config = Settings::resolve_server(&common, &server).unwrap();
        if !options.jobs_enabled {
            let app = App::open(config.clone()).await.unwrap();
            app.seed().await.unwrap();
            for job in app.store().list_jobs().await.unwrap() {
                let patch = JobPatch {
                    enabled: Some(false),
                    ..JobPatch::default()
                };
                app.store().update_job(&job.name, &patch).await.unwrap();
            }
        }
        let listener = TcpListener::bind(config.server.bind).await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(launch(config, listener, async {
            let _ = stopped.await;
        }));
        let server = Self {
            base,
            http: reqwest::Client::new(),
            sim,
            stop: Some(stop),
            server: Some(server),
            _dir: dir,
        };
        server.wait_ready().await;
        server
    }

    async fn wait_ready(&self) {
        wait_ready(&self.base).await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// GET, returning status and JSON body.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self.http.get(self.url(path)).send().await.unwrap();
        (
            response.status().as_u16(),
            response.json().await.unwrap_or(Value::Null),
        )
    }

    /// A GET with extra headers, answered as it is: the caller reads status, headers and body.
    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut request = self.http.get(self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap()
    }

    /// The body of a GET as text (metrics, dashboard pages).
    pub async fn text(&self, path: &str, headers: &[(&str, &str)]) -> String {
        self.get_with(path, headers).await.text().await.unwrap()
    }

    /// An admin request with the right token.
    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.http.request(method, self.url(path)).bearer_auth(TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        (
            response.status().as_u16(),
            response.json().await.unwrap_or(Value::Null),
        )
    }

    /// Starts a one-off sync of `days` days and waits for it to finish.
    /// `GET /api/v1/admin/webhooks/{id}`'s `data`.
    pub async fn webhook(&self, id: &str) -> Value {
        let (status, body) = self
            .admin(
                reqwest::Method::GET,
                &format!("/api/v1/admin/webhooks/{id}"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["data"].clone()
    }

    pub async fn sync_days(&self, days: u32) -> Value {
        let (status, body) = self
            .admin(
                reqwest::Method::POST,
                &format!("/api/v1/admin/cron/sync?daysToSync={days}"),
                None,
            )
            .await;
        assert_eq!(status, 202, "{body}");
        self.wait_run(body["runId"].as_i64().unwrap()).await
    }

    /// The logged runs of `job` (up to 100, newest first).
    pub async fn runs_of(&self, job: &str) -> Vec<Value> {
        let (status, body) = self
            .admin(
                reqwest::Method::GET,
                &format!("/api/v1/admin/runs?job={job}&page=1&limit=100"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["data"].as_array().cloned().unwrap_or_default()
    }

    /// Polls a run until it is no longer running.
    pub async fn wait_run(&self, id: i64) -> Value {
        for _ in 0..600 {
            let (status, body) = self
                .admin(
                    reqwest::Method::GET,
                    &format!("/api/v1/admin/runs/{id}"),
                    None,
                )
                .await;
            assert_eq!(status, 200, "{body}");
            if body["data"]["status"] != "running" {
                return body["data"].clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("run {id} did not finish");
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.unwrap().unwrap();
        }
    }
}

/// Today in the server's zone (UTC in these tests).
pub fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

/// Whether it is now within the engine's look-ahead before UTC midnight (two hours), when a
/// server within budget fetches the dates about to enter a window ahead of time.
pub fn before_midnight_look_ahead() -> bool {
    let now = chrono::Utc::now();
    let midnight = (today() + chrono::Days::new(1))
        .and_time(chrono::NaiveTime::MIN)
        .and_utc();
    midnight - now <= chrono::Duration::hours(2) + chrono::Duration::minutes(1)
}

/// A fresh Postgres database for one test, dropped by [`Database::drop`].
pub struct Database {
    admin_url: String,
    name: String,
    /// URL of the new database.
    pub url: String,
}

impl Database {
    /// Creates it next to the database of `base`.
    pub async fn create(base: &str) -> Self {
        let name = format!("tickete_replicas_{:08x}", rand::random::<u32>());
        let (prefix, _) = base.rsplit_once('/').expect("URL has a database");
        let mut admin = sqlx::PgConnection::connect(base)
            .await
            .expect("Postgres reachable");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        Self {
            admin_url: base.to_owned(),
            url: format!("{prefix}/{name}"),
            name,
        }
    }

    /// Drops it, closing its connections.
    pub async fn drop(self) {
        let mut admin = sqlx::PgConnection::connect(&self.admin_url).await.unwrap();
        let _ = sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&mut admin)
        .await;
    }
}

/// The real server binary on `port` against `database_url`, with the test token and quiet
/// output; a test adds (or overrides) what it needs before spawning.
pub fn server_binary(database_url: &str, port: u16) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_tickete-server"));
    command
        .env("DATABASE_URL", database_url)
        .env("TICKETE_BIND", format!("127.0.0.1:{port}"))
        .env("TICKETE_ADMIN_TOKEN", TOKEN)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    command
}

/// Waits until the server at `base` answers `/readyz` with 200 (10 s at most).
pub async fn wait_ready(base: &str) {
    let http = reqwest::Client::new();
    for _ in 0..400 {
        if let Ok(response) = http.get(format!("{base}/readyz")).send().await {
            if response.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("server at {base} did not become ready");
}
