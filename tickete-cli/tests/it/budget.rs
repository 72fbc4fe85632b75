//! One budget per deployment on SQLite: a server and a `tickete sync` on the same file,
//! both calling the simulator at once, together stay under the partner's limit.
//!
//! Scaled down so the test takes seconds: 450 calls a minute (one per 133 ms) against a
//! partner that admits 10 calls per 1 s window, leaving room for scheduling noise on a busy
//! machine. Either process alone would run at that pace, so two pacers of their own would
//! send about 15 a second and meet 429s.

use std::time::Duration;

use tickete_app::partner::Partner;
use tickete_app::runtime::Running;
use tickete_app::settings::{CommonArgs, PartnerArgs, StoreArgs, SyncArgs};
use tickete_app::{App, Settings};
use tickete_partner_sim::SimConfig;

use crate::support::{Sim, Store};

const RATE: &str = "450";
const SIM_LIMIT: u32 = 10;

#[test]
fn the_server_and_the_cli_on_one_sqlite_file_share_one_budget() {
    let sim = Sim::with(SimConfig {
        rate_limit: SIM_LIMIT,
        window: Duration::from_secs(1),
        change_rate: 0.0,
        ..SimConfig::default()
    });
    let store = Store::new();

    // The server's engine, assembled as tickete-server assembles it (its HTTP side plays no
    // part in pacing): its first start plans 6 products × 30 days, about 20 s of work.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let settings = Settings::resolve(&CommonArgs {
        store: StoreArgs {
            database_url: Some(store.url.clone()),
        },
        partner: PartnerArgs {
            partner_url: Some(sim.url.clone()),
            partner_api_key: Some("partner-key".into()),
            partner_rate_per_minute: Some(RATE.parse().unwrap()),
            ..PartnerArgs::default()
        },
        sync: SyncArgs {
            products: Some("1,2,3,4,5,6".into()),
            ..SyncArgs::default()
        },
        ..CommonArgs::default()
    })
    .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = runtime.spawn(async move {
        let app = App::open(settings).await.unwrap();
        app.seed().await.unwrap();
        let partner = Partner::start(&app.settings().partner).await.unwrap();
        let (engine, scheduler) = app.service_engine(partner.source.clone()).await.unwrap();
        let running = Running::start(engine, scheduler, partner, None)
            .await
            .unwrap();
        let _ = stopped.await;
        running.shutdown().await;
    });
    for _ in 0..200 {
        if sim.sim.stats().requests >= 5 {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let before = sim.sim.stats().requests;
    assert!(before >= 5, "the server is fetching");

    // The CLI next to it, on the same file and partner.
    store
        .tickete(&sim.url)
        .env("TICKETE_PARTNER_RATE_PER_MINUTE", RATE)
        .args(["sync", "--days", "3"])
        .assert()
        .success();
    let during = sim.sim.stats().requests - before;
    let _ = stop.send(());
    runtime.block_on(server).unwrap();

    let stats = sim.sim.stats();
    assert!(
        during >= 18,
        "the CLI fetched its 18 pairs meanwhile: {during}"
    );
    assert_eq!(stats.rate_limited, 0, "no 429: {stats:?}");
    assert!(
        stats.max_requests_in_window <= u64::from(SIM_LIMIT),
        "at most {SIM_LIMIT} calls in any window, saw {}",
        stats.max_requests_in_window
    );
}
