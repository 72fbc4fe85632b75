//! Subscribing to the change feed in process: every applied change of a (product, date) is
//! one `availability.changed` event, and each run's end is a `sync.run.finished` event, read
//! in commit order from the store's outbox (the same events webhooks and `GET /api/v1/events`
//! deliver).
//!
//! A toy partner sells seats on one boat a day; each refresh finds fewer seats, so each
//! refresh changes every day. The subscriber prints what changed.
//!
//! ```text
//! cargo run -p tickete-examples --example change_feed
//! ```

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{NaiveDate, NaiveTime};
use rust_decimal::Decimal;
use tickete_core::feed::{EventType, Subscription};
use tickete_core::{
    DaySnapshot, EngineConfig, InventorySource, InventoryStore, PaxAvailability, Price, Product,
    ProductId, Slot, SourceError,
};
use tickete_examples::Availability;
use tickete_store_sqlite::SqliteStore;

/// One 10:00 boat a day whose seats go down by one with every call.
struct Boat {
    calls: AtomicU32,
}

#[async_trait]
impl InventorySource for Boat {
    async fn fetch(&self, product: ProductId, date: NaiveDate) -> Result<DaySnapshot, SourceError> {
        let sold = self.calls.fetch_add(1, Ordering::Relaxed);
        let time = NaiveTime::from_hms_opt(10, 0, 0).expect("10:00 is a time");
        let price = Price {
            final_price: Decimal::new(4_900, 2),
            original_price: Decimal::new(4_900, 2),
            discount: Decimal::ZERO,
            currency_code: "SGD".into(),
        };
        let seats = 40u32.saturating_sub(sold);
        Ok(DaySnapshot::new(
            date,
            vec![Slot {
                provider_slot_id: format!("boat-{product}-{date}"),
                start_date: date,
                start_time: time,
                end_time: time,
                remaining: seats,
                currency_code: "SGD".into(),
                variant_id: 1,
                pax: vec![PaxAvailability {
                    pax_type: "ADULT".into(),
                    name: Some("Adult".into()),
                    description: None,
                    min: Some(1),
                    max: Some(10),
                    remaining: seats,
                    is_primary: true,
                    price,
                }],
            }],
        ))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store: Arc<dyn InventoryStore> = Arc::new(SqliteStore::open("sqlite::memory:").await?);
    let boat = ProductId::new(7)?;
    store
        .upsert_product(&Product {
            id: boat,
            name: "Island ferry".into(),
            enabled: true,
        })
        .await?;
    let config = EngineConfig {
        rate_per_minute: NonZeroU32::new(600).expect("600 > 0"),
        ..EngineConfig::default()
    };
    let boat_source = Arc::new(Boat {
        calls: AtomicU32::new(0),
    });
    let service = Availability::start(store.clone(), boat_source, config).await?;

    // Subscribe before anything changes: events from now on, every type; woken by the engine.
    let mut feed = Subscription::from_now(store.clone(), vec![])
        .await?
        .woken_by(service.engine());
    let printer = tokio::spawn(async move {
        let mut runs = 0;
        while runs < 2 {
            let event = feed.next().await.expect("store reachable");
            let body: serde_json::Value = serde_json::from_str(&event.body).expect("JSON body");
            match event.kind {
                EventType::AvailabilityChanged => println!(
                    "#{} {} {}: {} open slot(s) from {}",
                    event.seq,
                    body["data"]["productId"],
                    body["data"]["date"],
                    body["data"]["openSlots"],
                    body["data"]["lowestPrice"]["finalPrice"],
                ),
                EventType::SyncRunFinished => {
                    runs += 1;
                    println!(
                        "#{} run {} {}",
                        event.seq, body["data"]["id"], body["data"]["status"]
                    );
                }
            }
        }
    });
    for _ in 0..2 {
        service.refresh(&[], 2).await?;
    }
    printer.await?;
    service.shutdown().await;
    Ok(())
}
