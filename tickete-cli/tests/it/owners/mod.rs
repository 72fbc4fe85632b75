//! A run belongs to the process that started it (SPEC §4). The real `tickete` binary runs as
//! a background child while the server's engine (engine.rs) stops and starts on the same
//! store; every job is disabled, so whatever the simulator serves comes from the CLI's run
//! or its re-plan.
//!
//! This file holds the shared helpers; restart.rs covers a `tickete sync` that keeps running
//! while a server restarts beside it, replan.rs a sync stopped with Ctrl-C and re-planned by
//! the next server start.

mod engine;
mod replan;
mod restart;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate};
use serde_json::Value;

use crate::support::Sim;

/// The catalogue every test starts with; only product 2 is synced.
const CATALOGUE: &str = "1,2,3,4";
const SYNCED: u32 = 2;
const JOBS: [&str; 3] = ["sync-today", "sync-next-7-days", "sync-next-30-days"];

/// A store with the catalogue 1..=4 and every job disabled, and the partner to call.
struct Deployment {
    database_url: String,
    partner_url: String,
}

impl Deployment {
    fn prepare(database_url: &str, partner_url: &str) -> Self {
        let deployment = Self {
            database_url: database_url.to_owned(),
            partner_url: partner_url.to_owned(),
        };
        deployment.succeed(&["migrate"]);
        for job in JOBS {
            deployment.succeed(&["jobs", "disable", job]);
        }
        let jobs = deployment.json(&["jobs"]);
        let jobs = data(&jobs);
        assert_eq!(jobs.len(), JOBS.len(), "{jobs:#?}");
        assert!(jobs.iter().all(|job| job["enabled"] == false), "{jobs:#?}");
        let products = deployment.json(&["products"]);
        let ids: Vec<u64> = data(&products)
            .iter()
            .map(|product| product["id"].as_u64().unwrap())
            .collect();
        assert_eq!(ids, vec![1, 2, 3, 4], "{products}");
        deployment
    }

    /// `tickete` on this store and partner with a clean environment.
    fn tickete(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tickete"));
        command
            .env_clear()
            .env("DATABASE_URL", &self.database_url)
            .env("TICKETE_PARTNER_URL", &self.partner_url)
            .env("TICKETE_PARTNER_RATE_PER_MINUTE", "600")
            .env("TICKETE_PRODUCTS", CATALOGUE)
            .env("RUST_LOG", "warn");
        command
    }

    fn succeed(&self, args: &[&str]) -> std::process::Output {
        let output = self.tickete().args(args).output().unwrap();
        assert!(
            output.status.success(),
            "tickete {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// `tickete --json <args>`, parsed.
    fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        serde_json::from_slice(&self.succeed(&all).stdout).unwrap()
    }

    /// The run log, newest first.
    fn runs(&self) -> Vec<Value> {
        data(&self.json(&["runs"])).clone()
    }

    /// `tickete sync --product 2 --days <days>` in the background, at `rate` calls a minute.
    fn sync(&self, rate: &str, days: u32) -> Background {
        let dir = tempfile::tempdir().unwrap();
        let stdout = dir.path().join("stdout");
        let stderr = dir.path().join("stderr");
        let child = self
            .tickete()
            .env("TICKETE_PARTNER_RATE_PER_MINUTE", rate)
            .args(["sync", "--product", &SYNCED.to_string()])
            .args(["--days", &days.to_string()])
            .stdin(Stdio::null())
            .stdout(File::create(&stdout).unwrap())
            .stderr(File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        Background {
            child,
            stdout,
            stderr,
            _dir: dir,
        }
    }
}

/// A `tickete` child running beside the test; killed if the test ends first.
struct Background {
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
    _dir: tempfile::TempDir,
}

impl Background {
    /// Waits until the simulator has served `count` days of product 2.
    fn wait_for_fetches(&mut self, sim: &Sim, count: u64, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let served: u64 = fetches_of(sim, SYNCED).values().sum();
            if served >= count {
                return;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "the sync ended ({status}) after {served} fetches: {}",
                    self.output()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{served} fetches of product {SYNCED} within {within:?}: {}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Ctrl-C.
    fn interrupt(&self) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -INT {}", self.child.id());
    }

    /// Waits for the child to exit.
    fn wait(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("the sync did not end within {within:?}: {}", self.output());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What it printed so far.
    fn output(&self) -> String {
        format!(
            "\nstdout:\n{}\nstderr:\n{}",
            std::fs::read_to_string(&self.stdout).unwrap_or_default(),
            std::fs::read_to_string(&self.stderr).unwrap_or_default()
        )
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The `data` array of a page envelope.
fn data(envelope: &Value) -> &Vec<Value> {
    envelope["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data array: {envelope}"))
}

/// The kinds of the live processes, sorted.
fn kinds(processes: &Value) -> Vec<String> {
    let list = processes["data"]
        .as_array()
        .or_else(|| processes.as_array())
        .unwrap_or_else(|| panic!("no process list: {processes}"));
    let mut kinds: Vec<String> = list
        .iter()
        .map(|process| process["kind"].as_str().unwrap().to_owned())
        .collect();
    kinds.sort();
    kinds
}

/// Successful answers the simulator gave per date of `product`.
fn fetches_of(sim: &Sim, product: u32) -> BTreeMap<NaiveDate, u64> {
    sim.sim
        .stats()
        .days
        .iter()
        .filter(|day| day.product_id == product && day.fetches > 0)
        .map(|day| (day.date, day.fetches))
        .collect()
}

/// The simulator served each of product 2's `days` dates from `first` exactly once, and
/// nothing of any other product.
fn assert_fetched_once(sim: &Sim, first: NaiveDate, days: u32) {
    let expected: BTreeMap<NaiveDate, u64> = (0..u64::from(days))
        .map(|offset| (first + Days::new(offset), 1))
        .collect();
    assert_eq!(
        fetches_of(sim, SYNCED),
        expected,
        "each date of product {SYNCED} fetched once"
    );
    for product in CATALOGUE.split(',').map(|id| id.parse::<u32>().unwrap()) {
        if product != SYNCED {
            assert!(
                fetches_of(sim, product).is_empty(),
                "product {product} was not fetched: {:?}",
                fetches_of(sim, product)
            );
        }
    }
    let stats = sim.sim.stats();
    assert_eq!(
        stats.requests,
        u64::from(days),
        "no other partner call: {} requests, {} served",
        stats.requests,
        stats.served
    );
}
