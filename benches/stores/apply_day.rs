//! Apply-day throughput of both stores on realistic days: 9 slots with 2 pax each.
//!
//! `changed` alternates between two contents, so every apply rewrites the day; `unchanged`
//! re-applies the stored content, so only `synced_at` moves. The `batch_*` cases apply
//! [`BATCH`] days (of different dates) in one `apply_days` transaction and report days per
//! second. `big_day_2000` alternates two versions of a day of 2,000 slots with 3 pax each
//! (store time must be linear in the size of the day). SQLite runs on a file in a
//! temporary directory; Postgres runs only when `TICKETE_TEST_POSTGRES_URL` is set, on a
//! database created for the bench and dropped afterwards.
//!
//! `cargo bench -p tickete-benches --bench apply_day`

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveTime, Utc};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rust_decimal::Decimal;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};
use tickete_core::{
    DayApply, DaySnapshot, InventoryStore, PaxAvailability, Price, Product, ProductId, Slot,
};
use tickete_store_postgres::PostgresStore;
use tickete_store_sqlite::SqliteStore;
use tokio::runtime::Runtime;

const PRODUCT: u32 = 14;
/// Days per `apply_days` batch in the `batch_*` cases.
const BATCH: usize = 30;

fn pax(pax_type: &str, final_price: Decimal, is_primary: bool) -> PaxAvailability {
    PaxAvailability {
        pax_type: pax_type.into(),
        name: Some(pax_type.split('_').next().unwrap_or(pax_type).to_owned()),
        description: Some(format!("{pax_type} admission")),
        min: Some(1),
        max: Some(10),
        remaining: 25,
        is_primary,
        price: Price {
            final_price,
            original_price: final_price + Decimal::TEN,
            discount: Decimal::TEN,
            currency_code: "SGD".into(),
        },
    }
}

/// Nine hourly slots from 09:00, an adult (primary) and a child pax each; `version` shifts
/// remaining seats and prices so two versions hash differently.
fn realistic_day(date: NaiveDate, version: u32) -> DaySnapshot {
    let slots = (0..9u32)
        .map(|n| {
            let start = NaiveTime::from_hms_opt(9 + n, 0, 0).expect("valid time");
            let adult = Decimal::from_str("212.14").expect("decimal") + Decimal::from(version);
            Slot {
                provider_slot_id: format!("225532707686_{date}T{:02}:00", 9 + n),
                start_date: date,
                start_time: start,
                end_time: start,
                remaining: 40 - version,
                currency_code: "SGD".into(),
                variant_id: 1_234,
                pax: vec![
                    pax("ADULT_12~99", adult, true),
                    pax("CHILD_3~11", adult - Decimal::from(50), false),
                ],
            }
        })
        .collect();
    DaySnapshot::new(date, slots)
}

/// `count` slots a minute apart from 00:00 with an adult, child and infant pax each; `version`
/// shifts remaining seats and prices so two versions hash differently.
fn big_day(date: NaiveDate, count: u32, version: u32) -> DaySnapshot {
    let slots = (0..count)
        .map(|n| {
            let minute = n % 1440;
            let start = NaiveTime::from_hms_opt(minute / 60, minute % 60, 0).expect("valid time");
            let adult = Decimal::new(10_000 + i64::from(n), 2) + Decimal::from(version);
            Slot {
                provider_slot_id: format!("big_{date}_{n}"),
                start_date: date,
                start_time: start,
                end_time: start,
                remaining: 40 - version,
                currency_code: "SGD".into(),
                variant_id: 1_234,
                pax: vec![
                    pax("ADULT_12~99", adult, true),
                    pax("CHILD_3~11", adult - Decimal::from(50), false),
                    pax("INFANT_0~2", Decimal::ZERO, false),
                ],
            }
        })
        .collect();
    DaySnapshot::new(date, slots)
}

/// The days of a batch, fetched now.
fn batch_of(product: ProductId, days: &[DaySnapshot]) -> Vec<DayApply<'_>> {
    days.iter()
        .map(|snapshot| DayApply {
            product,
            snapshot,
            synced_at: Utc::now(),
        })
        .collect()
}

fn bench_store(c: &mut Criterion, runtime: &Runtime, name: &str, store: Arc<dyn InventoryStore>) {
    let product = ProductId::new(PRODUCT).expect("id");
    let date = NaiveDate::from_ymd_opt(2025, 3, 25).expect("date");
    let versions = Arc::new([realistic_day(date, 0), realistic_day(date, 1)]);
    runtime.block_on(async {
        store
            .upsert_product(&Product {
                id: product,
                name: "Bench".into(),
                enabled: true,
            })
            .await
            .expect("product");
        store
            .apply_day(product, &versions[0], Utc::now())
            .await
            .expect("prime");
    });

    let mut group = c.benchmark_group(format!("apply_day/{name}"));
    group.throughput(Throughput::Elements(1));
    group.sample_size(30);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("changed", |b| {
        b.to_async(runtime).iter_custom(|iters| {
            let (store, versions) = (store.clone(), versions.clone());
            async move {
                let start = Instant::now();
                for i in 0..iters {
                    // Alternating contents: every apply differs from what is stored.
                    let day = &versions[usize::from(i % 2 == 1)];
                    store
                        .apply_day(product, day, Utc::now())
                        .await
                        .expect("apply");
                }
                start.elapsed()
            }
        });
    });
    group.bench_function("unchanged", |b| {
        b.to_async(runtime).iter_custom(|iters| {
            let (store, versions) = (store.clone(), versions.clone());
            async move {
                store
                    .apply_day(product, &versions[0], Utc::now())
                    .await
                    .expect("store version 0");
                let start = Instant::now();
                for _ in 0..iters {
                    store
                        .apply_day(product, &versions[0], Utc::now())
                        .await
                        .expect("apply");
                }
                start.elapsed()
            }
        });
    });
    group.finish();

    // Batches: BATCH consecutive dates of the same product per transaction.
    let dates: Vec<NaiveDate> = (0..BATCH as u64)
        .map(|n| date + chrono::Days::new(100 + n))
        .collect();
    let batches: Arc<[Vec<DaySnapshot>; 2]> = Arc::new([0, 1].map(|version| {
        dates
            .iter()
            .map(|&day| realistic_day(day, version))
            .collect()
    }));
    runtime.block_on(async {
        store
            .apply_days(&batch_of(product, &batches[0]))
            .await
            .expect("prime batch");
    });
    let mut group = c.benchmark_group(format!("apply_days/{name}"));
    group.throughput(Throughput::Elements(BATCH as u64));
    group.sample_size(20);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));
    group.bench_function(format!("batch_changed_{BATCH}"), |b| {
        b.to_async(runtime).iter_custom(|iters| {
            let (store, batches) = (store.clone(), batches.clone());
            async move {
                // Start from version 0 stored, then alternate from version 1: every day of
                // every batch differs from what is stored.
                store
                    .apply_days(&batch_of(product, &batches[0]))
                    .await
                    .expect("store version 0");
                let start = Instant::now();
                for i in 0..iters {
                    let days = &batches[usize::from(i % 2 == 0)];
                    store
                        .apply_days(&batch_of(product, days))
                        .await
                        .expect("apply");
                }
                start.elapsed()
            }
        });
    });
    group.bench_function(format!("batch_unchanged_{BATCH}"), |b| {
        b.to_async(runtime).iter_custom(|iters| {
            let (store, batches) = (store.clone(), batches.clone());
            async move {
                store
                    .apply_days(&batch_of(product, &batches[0]))
                    .await
                    .expect("store version 0");
                let start = Instant::now();
                for _ in 0..iters {
                    store
                        .apply_days(&batch_of(product, &batches[0]))
                        .await
                        .expect("apply");
                }
                start.elapsed()
            }
        });
    });
    group.finish();

    // One big day, rewritten each time.
    let big_date = date + chrono::Days::new(200);
    let big = Arc::new([big_day(big_date, 2_000, 0), big_day(big_date, 2_000, 1)]);
    let mut group = c.benchmark_group(format!("apply_day/{name}"));
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("big_day_2000_changed", |b| {
        b.to_async(runtime).iter_custom(|iters| {
            let (store, big) = (store.clone(), big.clone());
            async move {
                store
                    .apply_day(product, &big[0], Utc::now())
                    .await
                    .expect("store version 0");
                let start = Instant::now();
                for i in 0..iters {
                    let day = &big[usize::from(i % 2 == 0)];
                    store
                        .apply_day(product, day, Utc::now())
                        .await
                        .expect("apply");
                }
                start.elapsed()
            }
        });
    });
    group.finish();
}

fn apply_day(c: &mut Criterion) {
    let runtime = Runtime::new().expect("tokio runtime");

    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let sqlite = runtime
        .block_on(SqliteStore::open(&url))
        .expect("open SQLite");
    bench_store(c, &runtime, "sqlite", Arc::new(sqlite.clone()));
    runtime.block_on(sqlite.close());

    let Ok(url) = std::env::var("TICKETE_TEST_POSTGRES_URL") else {
        eprintln!("TICKETE_TEST_POSTGRES_URL is not set: Postgres apply_day bench skipped");
        return;
    };
    let admin: PgConnectOptions = url.parse().expect("TICKETE_TEST_POSTGRES_URL is a URL");
    let name = format!("tickete_bench_{:016x}", rand::random::<u64>());
    runtime.block_on(async {
        let mut connection = admin.connect().await.expect("connect");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut connection)
            .await
            .expect("create bench database");
    });
    let mut options = url::Url::parse(&url).expect("URL");
    options.set_path(&name);
    let postgres = runtime
        .block_on(PostgresStore::connect(options.as_str()))
        .expect("connect Postgres");
    bench_store(c, &runtime, "postgres", Arc::new(postgres.clone()));
    runtime.block_on(async {
        postgres.close().await;
        let mut connection = admin.connect().await.expect("connect");
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut connection)
            .await
            .expect("drop bench database");
        connection.close().await.ok();
    });
}

criterion_group!(benches, apply_day);
criterion_main!(benches);
