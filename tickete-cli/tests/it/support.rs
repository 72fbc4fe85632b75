//! A temp store, a simulator on its own runtime, and the `tickete` command wired to both.

use assert_cmd::Command;
use serde_json::Value;
use tickete_partner_sim::{SimConfig, Simulator};
use tokio::runtime::Runtime;

/// A partner simulator served on 127.0.0.1:0 by a runtime of its own, so tests stay plain
/// `#[test]`s that run the binary synchronously.
pub struct Sim {
    pub sim: Simulator,
    pub url: String,
    _runtime: Runtime,
}

impl Sim {
    /// No rate limit and frozen inventory, so answers are comparable after the fact.
    pub fn start() -> Self {
        Self::with(SimConfig {
            rate_limit: 0,
            change_rate: 0.0,
            ..SimConfig::default()
        })
    }

    pub fn with(config: SimConfig) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let sim = Simulator::new(config).unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        runtime.spawn(sim.clone().serve(listener, std::future::pending()));
        Self {
            sim,
            url,
            _runtime: runtime,
        }
    }
}

/// A fresh SQLite store in a temp dir.
pub struct Store {
    pub url: String,
    _dir: tempfile::TempDir,
}

impl Store {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        Self {
            url: format!("sqlite://{}/t.db", dir.path().display()),
            _dir: dir,
        }
    }

    /// `tickete` on this store with a clean environment; the partner is `partner` (a URL).
    pub fn tickete(&self, partner: &str) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tickete"));
        command
            .env_clear()
            .env("DATABASE_URL", &self.url)
            .env("TICKETE_PARTNER_URL", partner)
            .env("TICKETE_PARTNER_RATE_PER_MINUTE", "600")
            .env("TICKETE_PRODUCTS", "14,15")
            .timeout(std::time::Duration::from_secs(120));
        command
    }

    /// `tickete` on this store with no partner to reach (commands that never call it).
    pub fn offline(&self) -> Command {
        self.tickete("http://127.0.0.1:9")
    }

    /// Runs `tickete --json <args>` (expecting success) and parses stdout.
    pub fn json(&self, args: &[&str]) -> Value {
        let output = self.offline().arg("--json").args(args).output().unwrap();
        assert!(
            output.status.success(),
            "tickete {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    }
}

/// Today in UTC, the service time zone of these tests.
pub fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}
