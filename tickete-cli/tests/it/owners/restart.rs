//! A `tickete sync` keeps running, and finishes its one run, while a server on the same
//! store restarts beside it (SQLite and Postgres).

use std::time::{Duration, Instant};

use tickete_partner_sim::SimConfig;

use super::engine::{engine_runtime, Server};
use super::{assert_fetched_once, fetches_of, kinds, Deployment, SYNCED};
use crate::postgres::TestDatabase;
use crate::support::{today, Sim, Store};

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
