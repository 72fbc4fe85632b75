//! A minimal service that embeds the tickete engine with a partner of its own.
//!
//! "Harbour Cruises" is a second partner with a different API: departures in a timetable,
//! prices in integer cents, one fare per passenger type. `HarbourCruises` adapts it to
//! [`InventorySource`]: one call per (product, date), converted into tickete's domain types
//! and failures classified so the engine knows what to retry. The engine runs over an
//! in-memory SQLite store, syncs three days of two cruises, and prints what it stored.
//!
//! ```text
//! cargo run -p tickete-examples --example second_partner
//! ```

use std::num::NonZeroU32;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{Datelike, NaiveDate, NaiveTime};
use rust_decimal::Decimal;
use tickete_core::{
    DaySnapshot, EngineConfig, InventorySource, InventoryStore, PaxAvailability, Price, Product,
    ProductId, Slot, SourceError,
};
use tickete_examples::Availability;
use tickete_store_sqlite::SqliteStore;

/// One departure as the second partner describes it.
struct Departure {
    at: &'static str,
    seats: u32,
    adult_cents: i64,
    child_cents: i64,
}

/// The second partner: here an in-process timetable; in a real service, an HTTP client.
struct HarbourCruises;

impl HarbourCruises {
    fn timetable(cruise: u32, date: NaiveDate) -> Option<Vec<Departure>> {
        let weekend = date.weekday().num_days_from_monday() >= 5;
        let surcharge = if weekend { 500 } else { 0 };
        match cruise {
            101 => Some(vec![
                Departure {
                    at: "10:00",
                    seats: 40,
                    adult_cents: 3_500 + surcharge,
                    child_cents: 1_750,
                },
                Departure {
                    at: "15:30",
                    seats: 12,
                    adult_cents: 3_900 + surcharge,
                    child_cents: 1_950,
                },
            ]),
            102 if !weekend => Some(vec![Departure {
                at: "19:45",
                seats: 0,
                adult_cents: 8_900,
                child_cents: 4_450,
            }]),
            102 => Some(Vec::new()),
            _ => None,
        }
    }
}

fn fare(pax_type: &str, cents: i64, seats: u32, primary: bool) -> PaxAvailability {
    // Cents become an exact two-decimal amount: never a float.
    let amount = Decimal::new(cents, 2);
    PaxAvailability {
        pax_type: pax_type.into(),
        name: None,
        description: None,
        min: Some(if primary { 1 } else { 0 }),
        max: Some(10),
        remaining: seats,
        is_primary: primary,
        price: Price {
            final_price: amount,
            original_price: amount,
            discount: Decimal::ZERO,
            currency_code: "SGD".into(),
        },
    }
}

#[async_trait]
impl InventorySource for HarbourCruises {
    async fn fetch(&self, product: ProductId, date: NaiveDate) -> Result<DaySnapshot, SourceError> {
        let departures = Self::timetable(product.get(), date).ok_or_else(|| {
            // Retrying will not make an unknown cruise exist.
            SourceError::Permanent(format!("Harbour Cruises has no cruise {product}"))
        })?;
        let slots = departures
            .into_iter()
            .map(|departure| {
                let time = NaiveTime::parse_from_str(departure.at, "%H:%M")
                    .map_err(|e| SourceError::InvalidResponse(format!("departure time: {e}")))?;
                Ok(Slot {
                    provider_slot_id: format!("hc-{product}-{date}T{}", departure.at),
                    start_date: date,
                    start_time: time,
                    end_time: time,
                    remaining: departure.seats,
                    currency_code: "SGD".into(),
                    variant_id: i64::from(product.get()),
                    pax: vec![
                        fare("ADULT", departure.adult_cents, departure.seats, true),
                        fare("CHILD", departure.child_cents, departure.seats, false),
                    ],
                })
            })
            .collect::<Result<Vec<_>, SourceError>>()?;
        Ok(DaySnapshot::new(date, slots))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Any InventoryStore works: SQLite in memory here, a file or Postgres in production.
    let store: Arc<dyn InventoryStore> = Arc::new(SqliteStore::open("sqlite::memory:").await?);
    for (id, name) in [(101, "Harbour day cruise"), (102, "Dinner cruise")] {
        store
            .upsert_product(&Product {
                id: ProductId::new(id)?,
                name: name.into(),
                enabled: true,
            })
            .await?;
    }
    let config = EngineConfig {
        // This partner allows 10 calls a second; the engine never goes faster.
        rate_per_minute: NonZeroU32::new(600).expect("600 > 0"),
        ..EngineConfig::default()
    };
    let service = Availability::start(store.clone(), Arc::new(HarbourCruises), config).await?;

    let run = service.refresh(&[], 3).await?;
    println!(
        "run {} {}: {} planned, {} fetched, {} failed",
        run.id, run.status, run.counts.planned, run.counts.fetched, run.counts.failed
    );
    let today = service.engine().today();
    for id in [101, 102] {
        let product = ProductId::new(id)?;
        for date in tickete_core::engine::window_dates(today, 3) {
            let slots = store.slots(product, date).await?;
            let shown: Vec<String> = slots
                .iter()
                .map(|slot| {
                    let adult = &slot.primary_pax().price;
                    format!(
                        "{} {} {} ({} seats)",
                        slot.start_time.format("%H:%M"),
                        adult.final_price,
                        adult.currency_code,
                        slot.remaining
                    )
                })
                .collect();
            println!(
                "cruise {product} {date}: {}",
                if shown.is_empty() {
                    "no departures".into()
                } else {
                    shown.join(", ")
                }
            );
        }
        match service.cheapest(product, 3).await? {
            Some(best) => println!(
                "cruise {product}: cheapest {} at {} {}",
                best.date, best.price.final_price, best.price.currency_code
            ),
            None => println!("cruise {product}: sold out for the next 3 days"),
        }
    }
    service.shutdown().await;
    Ok(())
}
