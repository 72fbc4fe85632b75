//! A `tickete sync` stopped with Ctrl-C is re-planned by the next server start, for its own
//! product and window only.

use std::time::{Duration, Instant};

use serde_json::Value;
use tickete_partner_sim::SimConfig;

use super::engine::{engine_runtime, Server};
use super::{assert_fetched_once, fetches_of, Deployment, SYNCED};
use crate::support::{today, Sim, Store};

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
