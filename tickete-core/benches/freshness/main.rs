//! How well the partner budget buys freshness: a virtual-time simulation (paused tokio clock;
//! a simulated day takes seconds) of the engine against a partner whose inventory changes at
//! known times (`truth.rs`), with shoppers reading what shoppers read.
//!
//!     cargo bench -p tickete-core --bench freshness [-- <products> <hours>]
//!
//! Each policy runs on the same truth and the same reads: 30 calls a minute, the three default
//! jobs, a warm-up of one simulated day (the first fill and the first observations), then
//! `<hours>` measured. Every simulated minute, shoppers read (product, date) pairs drawn by
//! popularity and nearness; a read is stale when the stored day differs from the partner's at
//! that instant. Ages are sampled for every known pair per window. Without arguments it runs
//! 200 and 450 products for 24 hours.
//!
//! `FRESHNESS_LIVE_PER_MINUTE=N` adds N live reads a minute during the measured hours (readers
//! asking with `max-age=0` for a pair drawn like any read, spread over the minute): the
//! report then also gives their wait (p50 / p99, simulated time) and outcomes, beside the
//! stale-read figures of the other reads.
//!
//! Other worlds: `FRESHNESS_RATE` (calls a minute, default 30; a smaller catalogue is over
//! budget at a proportionally smaller rate), `FRESHNESS_ZIPF` (exponent of product
//! popularity, default 1.0) and `FRESHNESS_CLOSED_DAYS` (share of closed days, by weekday and
//! at random; default: 40 % of products closed two weekdays). `benches/freshness_worlds.sh`
//! runs a matrix of them.

mod report;
mod truth;

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Days};
use tickete_core::engine::schedule::run_scheduler;
use tickete_core::engine::{LocalScheduler, PolicyKind};
use tickete_core::store::prelude::*;
use tickete_core::testing::MemoryStore;
use tickete_core::{Clock, Engine, EngineConfig, Product, ProductId, SyncJob, TokioClock};
use tokio_util::sync::CancellationToken;

use report::{Ages, Report, WINDOWS};
use truth::{Model, Served, SimSource, SplitMix, Truth};

const WARM_UP_MINUTES: u64 = 24 * 60;

/// The warm-up: a day, or `FRESHNESS_WARM_UP_MINUTES` (0 measures a cold start from the
/// first minute, as a new deployment or a batch of new products lives it).
fn warm_up_minutes() -> u64 {
    env_number("FRESHNESS_WARM_UP_MINUTES").unwrap_or(WARM_UP_MINUTES)
}
const READS_PER_MINUTE: u32 = 200;

fn env_number<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
}

/// Calls a minute the simulated partner allows (`FRESHNESS_RATE`, default 30).
fn rate() -> u32 {
    env_number("FRESHNESS_RATE").unwrap_or(30)
}

/// The simulated world: the standard model with the `FRESHNESS_*` variations.
fn model(products: u32) -> Model {
    let mut model = Model::standard(products);
    if let Some(zipf) = env_number("FRESHNESS_ZIPF") {
        model.zipf = zipf;
    }
    model.closed_days = env_number("FRESHNESS_CLOSED_DAYS");
    model
}

fn main() {
    let args: Vec<u32> = std::env::args()
        .skip(1)
        .filter_map(|arg| arg.parse().ok())
        .collect();
    let sizes = match args.first() {
        Some(&products) => vec![products],
        None => vec![200, 450],
    };
    let hours = args.get(1).copied().unwrap_or(24);
    let mut reports = Vec::new();
    for products in sizes {
        let only = std::env::var("FRESHNESS_POLICY").ok();
        for policy in policies() {
            if only.as_deref().is_some_and(|name| name != policy.0) {
                continue;
            }
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .start_paused(true)
                .build()
                .expect("runtime");
            let report = runtime.block_on(simulate(policy, products, hours));
            report::print(std::slice::from_ref(&report), hours, rate());
            reports.push(report);
        }
    }
    println!("\n== all runs ==");
    report::print(&reports, hours, rate());
    report::print_live(&reports);
}

/// The policies compared, by name, with the engine settings that select them.
fn policies() -> Vec<(&'static str, EngineConfig)> {
    // `FRESHNESS_SPARE_SHARE=1` runs as the binaries do by default (the library's default is 0).
    let spare_share = env_number("FRESHNESS_SPARE_SHARE").unwrap_or(0.0);
    let base = EngineConfig {
        rate_per_minute: NonZeroU32::new(rate()).expect("FRESHNESS_RATE > 0"),
        spare_share,
        ..EngineConfig::default()
    };
    vec![
        (
            "nearest-date-first",
            EngineConfig {
                policy: PolicyKind::NearestDateFirst,
                ..base.clone()
            },
        ),
        (
            "freshness",
            EngineConfig {
                policy: PolicyKind::Freshness,
                ..base
            },
        ),
    ]
}

async fn simulate(
    (name, config): (&'static str, EngineConfig),
    products: u32,
    hours: u32,
) -> Report {
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
    let truth = Arc::new(Mutex::new(Truth::new(model(products))));
    let served = Arc::new(Mutex::new(Served::default()));
    let source = Arc::new(SimSource {
        truth: truth.clone(),
        served: served.clone(),
        clock: clock.clone(),
        limit: rate(),
    });
    let engine = Engine::builder(store.clone(), source)
        .config(config)
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

    // Shoppers: products by popularity (Zipf over a seeded rank), dates nearer far more often.
    let (popularity, unknown): (Vec<f64>, Vec<bool>) = {
        let truth = truth.lock().expect("truth");
        truth
            .products
            .iter()
            .map(|p| (if p.unknown { 0.0 } else { p.popularity }, p.unknown))
            .unzip()
    };
    let cumulative: Vec<f64> = popularity
        .iter()
        .scan(0.0, |sum, w| {
            *sum += w;
            Some(*sum)
        })
        .collect();
    let date_weights: Vec<f64> = (0..30).map(|d| 0.8f64.powi(d)).collect();
    let date_cumulative: Vec<f64> = date_weights
        .iter()
        .scan(0.0, |sum, w| {
            *sum += w;
            Some(*sum)
        })
        .collect();
    let mut readers = SplitMix(0x5e_ad_e5);
    let live_per_minute: u32 = env_number("FRESHNESS_LIVE_PER_MINUTE").unwrap_or(0);
    let live = Arc::new(Mutex::new(Vec::new()));

    let mut report = Report {
        policy: name,
        products,
        reads: 0,
        stale_reads: 0,
        by_nearness: [(0, 0); 3],
        windows: [Ages::default(), Ages::default(), Ages::default()],
        held: 0,
        samples: 0,
        calls: 0,
        rate_limited: 0,
        budget: u64::from(hours) * 60 * u64::from(rate()),
        worst_minutes: 0,
        live: Vec::new(),
    };
    let mut last_day = engine.today();
    let (mut calls_before, mut limited_before) = (0, 0);
    let warm_up = warm_up_minutes();
    for minute in 0..warm_up + u64::from(hours) * 60 {
        let today = engine.today();
        if today != last_day {
            truth.lock().expect("truth").prune(today);
            last_day = today;
        }
        truth.lock().expect("truth").advance_minute(today);
        tokio::time::sleep(Duration::from_secs(60)).await;
        let today = engine.today();
        let measuring = minute >= warm_up;
        if minute == warm_up {
            let served = served.lock().expect("served");
            (calls_before, limited_before) = (served.calls, served.rate_limited);
        }
        // Reads.
        let total = *cumulative.last().expect("products");
        for read in 0..READS_PER_MINUTE {
            let pick = readers.unit() * total;
            let index = cumulative
                .partition_point(|c| *c <= pick)
                .min(cumulative.len() - 1);
            let id = index as u32 + 1;
            let pick = readers.unit() * date_cumulative[29];
            let ahead = date_cumulative.partition_point(|c| *c <= pick).min(29) as u64;
            let date = today + Days::new(ahead);
            let product = ProductId::new(id).expect("positive");
            // Each read from one of 20,000 shoppers, counted as the public routes count them.
            let shopper = 0x0a00_0000 + (readers.next() % 20_000) as u32;
            engine.note_read_by(std::net::Ipv4Addr::from(shopper).into(), product, date);
            if !measuring {
                continue;
            }
            if read < live_per_minute {
                // A live reader, later in the minute; its wait is what it measures.
                let offset = Duration::from_secs(60) * read / live_per_minute;
                let (engine, live) = (engine.clone(), live.clone());
                tokio::spawn(async move {
                    tokio::time::sleep(offset).await;
                    let asked = tokio::time::Instant::now();
                    let outcome = engine.live_fetch(product, date, Duration::ZERO, None).await;
                    let waited = asked.elapsed().as_secs_f64();
                    live.lock().expect("live").push((waited, outcome.as_str()));
                });
                continue;
            }
            let truth = truth.lock().expect("truth");
            let now_version = truth.version(id, date);
            let closed = truth.is_closed(id, date);
            drop(truth);
            let seen = served
                .lock()
                .expect("served")
                .versions
                .get(&(id, date))
                .copied();
            let stale = match seen {
                Some(version) => version != now_version,
                None => !closed,
            };
            report.reads += 1;
            report.stale_reads += u64::from(stale);
            let nearness = match ahead {
                0 => 0,
                1..=6 => 1,
                _ => 2,
            };
            report.by_nearness[nearness].0 += 1;
            report.by_nearness[nearness].1 += u64::from(stale);
        }
        if !measuring {
            continue;
        }
        // Ages of every known pair, per window.
        let now = clock.now();
        let states = store
            .day_states(today, today + Days::new(30))
            .await
            .expect("memory store");
        let mut synced = std::collections::HashMap::new();
        for state in &states {
            if let Some(at) = state.synced_at {
                synced.insert((state.product.get(), state.date), at);
            }
        }
        for id in 1..=products {
            if unknown[(id - 1) as usize] {
                continue;
            }
            for ahead in 0..30u64 {
                let date = today + Days::new(ahead);
                let target = match ahead {
                    0 => 15,
                    1..=6 => 240,
                    _ => 1440,
                };
                let age = synced
                    .get(&(id, date))
                    .map(|at| usize::try_from((now - *at).num_minutes()).unwrap_or(0));
                for (window, (_, days)) in WINDOWS.iter().enumerate() {
                    if ahead >= *days {
                        continue;
                    }
                    match age {
                        Some(minutes) => report.windows[window].record(minutes, minutes <= target),
                        None => report.windows[window].never += 1,
                    }
                }
                report.samples += 1;
                if let Some(minutes) = age {
                    report.held += u64::from(minutes <= target);
                    report.worst_minutes = report.worst_minutes.max(minutes);
                }
            }
        }
        let _ = &unknown;
    }
    {
        let served = served.lock().expect("served");
        report.calls = served.calls - calls_before;
        report.rate_limited = served.rate_limited - limited_before;
    }
    stop.cancel();
    let _ = tokio::join!(worker, scheduler);
    report.live = std::mem::take(&mut *live.lock().expect("live"));
    report
}
