//! How fresh the data stays when the budget is tight: 200 products, 30 calls a minute, the
//! three default jobs, on a paused tokio clock (a simulated day takes seconds).
//!
//!     cargo bench -p tickete-core --bench freshness [-- <products> <hours>]
//!
//! After a 4-hour warm-up (the first fill of 30 days), every simulated minute it samples the
//! age of each (product, date) in the today, 7-day and 30-day windows, and prints the median,
//! p95 and worst age per window and the share of the budget spent. Today's data should stay
//! within about one `sync-today` period (15 min), except at midnight, when a new date becomes
//! "today" and waits for the first `sync-today` run of the day.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
use tickete_core::store::prelude::*;

use chrono::{DateTime, Days};
use tickete_core::engine::schedule::run_scheduler;
use tickete_core::engine::LocalScheduler;
use tickete_core::testing::{FakeSource, MemoryStore};
use tickete_core::{Clock, Engine, EngineConfig, Product, ProductId, SyncJob, TokioClock};
use tokio_util::sync::CancellationToken;

/// Counts of samples per whole minute of age.
#[derive(Default)]
struct Ages {
    by_minute: Vec<u64>,
    never: u64,
}

impl Ages {
    fn record(&mut self, minutes: usize) {
        if self.by_minute.len() <= minutes {
            self.by_minute.resize(minutes + 1, 0);
        }
        self.by_minute[minutes] += 1;
    }

    fn percentile(&self, share: f64) -> usize {
        let total: u64 = self.by_minute.iter().sum();
        let wanted = (total as f64 * share).ceil() as u64;
        let mut seen = 0;
        for (minutes, count) in self.by_minute.iter().enumerate() {
            seen += count;
            if seen >= wanted {
                return minutes;
            }
        }
        self.by_minute.len().saturating_sub(1)
    }
}

const WARM_UP: Duration = Duration::from_secs(4 * 3600);

fn main() {
    let args: Vec<u32> = std::env::args()
        .skip(1)
        .filter_map(|arg| arg.parse().ok())
        .collect();
    let products = args.first().copied().unwrap_or(200);
    let hours = args.get(1).copied().unwrap_or(24);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime");
    runtime.block_on(simulate(products, hours));
}

async fn simulate(products: u32, hours: u32) {
    let store = Arc::new(MemoryStore::new());
    for id in 1..=products {
        let product = Product {
            id: ProductId::new(id).expect("positive"),
            name: format!("Product {id}"),
            enabled: true,
        };
        store.upsert_product(&product).await.expect("memory store");
    }
    for job in SyncJob::defaults() {
        store
            .insert_job_if_missing(&job)
            .await
            .expect("memory store");
    }
    let start = DateTime::parse_from_rfc3339("2026-03-02T00:00:30Z")
        .expect("valid")
        .to_utc();
    let clock = Arc::new(TokioClock::starting_at(start));
    let source = Arc::new(FakeSource::new());
    let engine = Engine::builder(store.clone(), source.clone())
        .config(EngineConfig {
            rate_per_minute: NonZeroU32::new(30).expect("30 > 0"),
            ..EngineConfig::default()
        })
        .clock(clock.clone())
        .build()
        .await
        .expect("engine");
    let stop = CancellationToken::new();
    let worker = tokio::spawn({
        let (engine, stop) = (engine.clone(), stop.clone());
        async move { engine.run(stop).await }
    });
    let scheduler = tokio::spawn(run_scheduler(
        engine.clone(),
        Arc::new(LocalScheduler),
        stop.clone(),
    ));

    tokio::time::sleep(WARM_UP).await;
    let windows = [("today", 1u64), ("7 days", 7), ("30 days", 30)];
    let mut ages: Vec<Ages> = windows.iter().map(|_| Ages::default()).collect();
    let calls_before = source.calls().len();
    let minutes = u64::from(hours) * 60;
    for _ in 0..minutes {
        tokio::time::sleep(Duration::from_secs(60)).await;
        let now = clock.now();
        let today = engine.today();
        for ((_, days), age) in windows.iter().zip(ages.iter_mut()) {
            let until = today + Days::new(*days);
            let states = store.day_states(today, until).await.expect("memory store");
            let synced = states.iter().filter_map(|state| state.synced_at);
            let mut seen = 0;
            for at in synced {
                age.record(usize::try_from((now - at).num_minutes()).unwrap_or(0));
                seen += 1;
            }
            age.never += u64::from(products) * days - seen;
        }
    }
    let calls = source.calls().len() - calls_before;
    stop.cancel();
    let _ = tokio::join!(worker, scheduler);

    println!(
        "{products} products, 30 calls/min, default jobs; {hours} simulated hours after a 4 h warm-up"
    );
    println!(
        "{:<8} {:>12} {:>9} {:>11} {:>20}",
        "window", "median (min)", "p95 (min)", "worst (min)", "never-synced samples"
    );
    for ((name, _), age) in windows.iter().zip(&ages) {
        println!(
            "{:<8} {:>12} {:>9} {:>11} {:>20}",
            name,
            age.percentile(0.5),
            age.percentile(0.95),
            age.percentile(1.0),
            age.never
        );
    }
    let budget = minutes * 30;
    println!(
        "partner calls: {calls} of a budget of {budget} ({:.1} %)",
        100.0 * calls as f64 / budget.max(1) as f64
    );
}
