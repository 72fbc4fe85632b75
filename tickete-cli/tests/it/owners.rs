//! A run belongs to the process that started it (SPEC §4): a `tickete sync` keeps running
//! while a server on the same store restarts beside it, and a sync stopped with Ctrl-C is
//! re-planned, for its own product and window only, by the next server that starts.
//!
//! The real `tickete` binary runs as a background child while the server's engine, assembled
//! in this process as tickete-server assembles it (its HTTP side plays no part here), stops
//! and starts on the same store. Every job is disabled, so the server has nothing of its own
//! to fetch: whatever the simulator serves comes from the CLI's run or its re-plan.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate};
use serde_json::Value;
use tickete_app::partner::Partner;
use tickete_app::runtime::Running;
use tickete_app::settings::{CommonArgs, PartnerArgs, StoreArgs, SyncArgs};
use tickete_app::{App, Settings};
use tickete_partner::sim::SimConfig;
use tokio::runtime::Runtime;

use crate::postgres::TestDatabase;
use crate::support::{today, Sim, Store};

/// The catalogue every test starts with; only product 2 is synced.
const CATALOGUE: &str = "1,2,3,4";
const SYNCED: u32 = 2;
const JOBS: [&str; 3] = ["sync-today", "sync-next-7-days", "sync-next-30-days"];

#[test]
fn a_cli_sync_survives_a_server_restarting_beside_it() {
    let store = Store::new();
    cli_sync_survives_a_server_restart(&store.url);
}

#[test]
fn a_cli_sync_survives_a_server_restarting_beside_it_on_postgres() {
    let Some(database) = TestDatabase::create() else {
        return;
    };
    cli_sync_survives_a_server_restart(&database.url);
}

/// 30 days of product 2 at 120 calls a minute (about 15 s); the server restarts once the
/// sync has made 5 calls.
fn cli_sync_survives_a_server_restart(database_url: &str) {
    const DAYS: u32 = 30;
    const RATE: &str = "120";
    let sim = Sim::with(SimConfig {
        rate_limit: 0,
        change_rate: 0.0,
        ..SimConfig::default()
    });
    let deployment = Deployment::prepare(database_url, &sim.url);
    let first_day = today();
    let runtime = engine_runtime();
    let server = Server::start(&runtime, &deployment, RATE);

    let mut sync = deployment.sync(RATE, DAYS);
    let began = Instant::now();
    sync.wait_for_fetches(&sim, 5, Duration::from_secs(20));
    let server = server.restart(&runtime);
    let at_restart: u64 = fetches_of(&sim, SYNCED).values().sum();
    assert!(
        at_restart < u64::from(DAYS),
        "the server restarted while the sync was under way: {at_restart} of {DAYS} fetched"
    );
    // The restarted server is up and has looked for orphaned runs at its start; the old one
    // has left. The CLI is still listed, and still running.
    let processes = deployment.json(&["processes"]);
    assert_eq!(
        kinds(&processes),
        vec!["cli".to_owned(), "server".to_owned()],
        "one live CLI and one live server after the restart: {processes}"
    );
    let status = sync.wait(Duration::from_secs(40));
    let took = began.elapsed();
    server.stop(&runtime);

    assert_eq!(
        status.code(),
        Some(0),
        "the sync ended well: {}",
        sync.output()
    );
    // With every job disabled, the CLI's run is the only one: no re-plan, no catch-up.
    let runs = deployment.runs();
    assert_eq!(runs.len(), 1, "only the CLI's run: {runs:#?}");
    let run = &runs[0];
    assert_eq!(run["job"], "manual-sync", "{run:#}");
    assert_eq!(run["status"], "succeeded", "{run:#}");
    assert_eq!(run["planned"], DAYS, "{run:#}");
    assert_eq!(run["fetched"], DAYS, "{run:#}");
    assert_eq!(run["owner"]["kind"], "cli", "{run:#}");
    assert_eq!(
        run["scope"]["products"],
        serde_json::json!([SYNCED]),
        "{run:#}"
    );
    assert_eq!(run["scope"]["windowDays"], DAYS, "{run:#}");
    assert!(
        runs.iter().all(|run| run["status"] != "interrupted"),
        "nothing was interrupted: {runs:#?}"
    );
    assert!(
        runs.iter().all(|run| run["replans"].is_null()),
        "nothing was re-planned: {runs:#?}"
    );
    assert_fetched_once(&sim, first_day, DAYS);
    eprintln!("the sync took {took:?}; the server restarted after {at_restart} fetches");
}

#[test]
fn a_stopped_cli_sync_is_replanned_by_the_next_server_start_for_its_product_only() {
    const DAYS: u32 = 10;
    const RATE: &str = "60";
    let sim = Sim::with(SimConfig {
        rate_limit: 0,
        change_rate: 0.0,
        ..SimConfig::default()
    });
    let store = Store::new();
    let deployment = Deployment::prepare(&store.url, &sim.url);
    let first_day = today();

    // No server: the CLI alone, stopped with Ctrl-C after 3 calls.
    let mut sync = deployment.sync(RATE, DAYS);
    sync.wait_for_fetches(&sim, 3, Duration::from_secs(20));
    sync.interrupt();
    let status = sync.wait(Duration::from_secs(20));
    assert_eq!(
        status.code(),
        Some(130),
        "Ctrl-C ends the sync with 130: {}",
        sync.output()
    );
    let fetched_by_cli = fetches_of(&sim, SYNCED).values().sum::<u64>();
    let runs = deployment.runs();
    assert_eq!(runs.len(), 1, "only the CLI's run: {runs:#?}");
    let stopped = &runs[0];
    assert_eq!(stopped["job"], "manual-sync", "{stopped:#}");
    assert_eq!(stopped["status"], "interrupted", "{stopped:#}");
    assert_eq!(stopped["fetched"], fetched_by_cli, "{stopped:#}");
    assert!(
        (3..u64::from(DAYS)).contains(&fetched_by_cli),
        "stopped part way: {fetched_by_cli} fetched"
    );
    let stopped_id = stopped["id"].as_i64().unwrap();

    // The next server start re-plans what the sync still lacked.
    let runtime = engine_runtime();
    let server = Server::start(&runtime, &deployment, RATE);
    let deadline = Instant::now() + Duration::from_secs(60);
    let replan = loop {
        let runs = deployment.runs();
        let replans: Vec<Value> = runs
            .iter()
            .filter(|run| run["replans"] == stopped_id)
            .cloned()
            .collect();
        assert!(replans.len() <= 1, "re-planned once: {runs:#?}");
        if let Some(replan) = replans.first() {
            if !replan["finishedAt"].is_null() {
                break replan.clone();
            }
        }
        assert!(
            Instant::now() < deadline,
            "no finished re-plan of run {stopped_id} within 60 s: {runs:#?}"
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    server.stop(&runtime);

    assert_eq!(replan["status"], "succeeded", "{replan:#}");
    assert_eq!(replan["job"], "manual-sync", "{replan:#}");
    assert_eq!(replan["trigger"], "catch-up", "{replan:#}");
    assert_eq!(replan["owner"]["kind"], "server", "{replan:#}");
    assert_eq!(
        replan["scope"]["products"],
        serde_json::json!([SYNCED]),
        "{replan:#}"
    );
    assert_eq!(replan["scope"]["windowDays"], DAYS, "{replan:#}");
    assert_eq!(replan["planned"], DAYS, "{replan:#}");
    assert_eq!(replan["skippedFresh"], fetched_by_cli, "{replan:#}");
    assert_eq!(
        replan["fetched"],
        u64::from(DAYS) - fetched_by_cli,
        "{replan:#}"
    );
    let runs = deployment.runs();
    assert_eq!(runs.len(), 2, "the CLI's run and its re-plan: {runs:#?}");
    assert_fetched_once(&sim, first_day, DAYS);
}

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

/// The server's engine (worker, scheduler and upkeep) on a runtime of the test's.
struct Server {
    stop: tokio::sync::oneshot::Sender<()>,
    join: tokio::task::JoinHandle<()>,
    database_url: String,
    partner_url: String,
    rate: String,
}

fn engine_runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

impl Server {
    /// Assembles the engine as tickete-server does and returns once it is running.
    fn start(runtime: &Runtime, deployment: &Deployment, rate: &str) -> Self {
        Self::launch(
            runtime,
            deployment.database_url.clone(),
            deployment.partner_url.clone(),
            rate.to_owned(),
        )
    }

    fn launch(runtime: &Runtime, database_url: String, partner_url: String, rate: String) -> Self {
        let settings = Settings::resolve(&CommonArgs {
            store: StoreArgs {
                database_url: Some(database_url.clone()),
            },
            partner: PartnerArgs {
                partner_url: Some(partner_url.clone()),
                partner_rate_per_minute: Some(rate.parse().unwrap()),
                ..PartnerArgs::default()
            },
            sync: SyncArgs {
                products: Some(CATALOGUE.into()),
                ..SyncArgs::default()
            },
            ..CommonArgs::default()
        })
        .unwrap();
        let (ready, started) = tokio::sync::oneshot::channel::<()>();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let join = runtime.spawn(async move {
            let app = App::open(settings).await.unwrap();
            app.seed().await.unwrap();
            let partner = Partner::start(&app.settings().partner).await.unwrap();
            let (engine, scheduler) = app.service_engine(partner.source.clone()).await.unwrap();
            let running = Running::start(engine, scheduler, partner, None)
                .await
                .unwrap();
            let _ = ready.send(());
            let _ = stopped.await;
            running.shutdown().await;
        });
        if runtime.block_on(started).is_err() {
            // The task panicked before it was running: show why.
            runtime.block_on(join).unwrap();
            unreachable!("the server task ended without starting");
        }
        let server = Self {
            stop,
            join,
            database_url,
            partner_url,
            rate,
        };
        server.wait_until_registered();
        server
    }

    /// The scheduler registers the process and looks after orphaned runs as it starts; wait
    /// until it is listed, so a restart is complete when `start` returns.
    fn wait_until_registered(&self) {
        let deployment = Deployment {
            database_url: self.database_url.clone(),
            partner_url: self.partner_url.clone(),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let processes = deployment.json(&["processes"]);
            if kinds(&processes).iter().any(|kind| kind == "server") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not register within 10 s: {processes}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops it as a SIGTERM would: the in-flight call finishes, its own runs are handed over.
    fn stop(self, runtime: &Runtime) {
        let _ = self.stop.send(());
        runtime.block_on(self.join).unwrap();
    }

    /// Stops it and starts a new one on the same store.
    fn restart(self, runtime: &Runtime) -> Self {
        let (database_url, partner_url, rate) = (
            self.database_url.clone(),
            self.partner_url.clone(),
            self.rate.clone(),
        );
        self.stop(runtime);
        Self::launch(runtime, database_url, partner_url, rate)
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
