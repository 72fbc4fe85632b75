//! Embedding `tickete-core` in another service.
//!
//! [`Availability`] is the kind of wrapper a service writes around the engine: it owns the
//! worker, runs a sync and waits for it, and answers "cheapest date" from the store. Its
//! unit tests (below) use the in-memory store and the scripted fake partner of
//! `tickete-core`'s `testing` feature; `examples/second_partner.rs` wires the same wrapper to
//! SQLite and a partner of its own.
//!
//! ```text
//! cargo run -p tickete-examples --example second_partner
//! cargo test -p tickete-examples
//! ```

use std::sync::Arc;

use chrono::Days;
use tickete_core::engine::RunRequest;
use tickete_core::pricing::{lowest_prices, DatePrice};
use tickete_core::{
    Engine, EngineConfig, EngineError, InventorySource, InventoryStore, ProductId, StoreError,
    SyncRun,
};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The engine with its worker running, and the reads this service needs.
pub struct Availability {
    engine: Engine,
    stop: CancellationToken,
    worker: JoinHandle<()>,
}

impl Availability {
    /// Builds the engine over `store` and `source` and starts its worker.
    pub async fn start(
        store: Arc<dyn InventoryStore>,
        source: Arc<dyn InventorySource>,
        config: EngineConfig,
    ) -> Result<Self, StoreError> {
        let engine = Engine::builder(store, source)
            .config(config)
            .build()
            .await?;
        let stop = CancellationToken::new();
        let worker = tokio::spawn({
            let (engine, stop) = (engine.clone(), stop.clone());
            async move { engine.run(stop).await }
        });
        Ok(Self {
            engine,
            stop,
            worker,
        })
    }

    /// The engine, for anything this wrapper does not cover.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Syncs the next `days` days of `products` (all enabled products when empty) and waits
    /// for the run to finish.
    pub async fn refresh(&self, products: &[ProductId], days: u32) -> Result<SyncRun, EngineError> {
        let request = RunRequest {
            products: (!products.is_empty()).then(|| products.to_vec()),
            ..RunRequest::next_days(days)
        };
        let run = self.engine.start_run(request).await?;
        Ok(self.engine.wait_for_run(run.id).await?)
    }

    /// The cheapest bookable date of `product` among the next `days` days, from the store.
    pub async fn cheapest(
        &self,
        product: ProductId,
        days: u32,
    ) -> Result<Option<DatePrice>, StoreError> {
        let today = self.engine.today();
        let until = today + Days::new(u64::from(days));
        let slots = self
            .engine
            .store()
            .slots_between(product, today, until)
            .await?;
        Ok(lowest_prices(&slots)
            .into_iter()
            .min_by(|a, b| a.price.final_price.cmp(&b.price.final_price)))
    }

    /// Stops the worker; the in-flight call and its write finish first.
    pub async fn shutdown(self) {
        self.stop.cancel();
        let _ = self.worker.await;
    }
}

#[cfg(test)]
mod tests {
    //! Unit tests with fakes: no database, no network, no sleeps.

    use std::num::NonZeroU32;

    use rust_decimal::Decimal;
    use tickete_core::store::prelude::*;
    use tickete_core::testing::{sample_slot, FakeSource, MemoryStore};
    use tickete_core::{Product, RunStatus, SourceError};

    use super::*;

    fn product() -> ProductId {
        ProductId::new(14).unwrap()
    }

    async fn service(source: Arc<FakeSource>) -> (Arc<MemoryStore>, Availability) {
        let store = Arc::new(MemoryStore::new());
        store
            .upsert_product(&Product {
                id: product(),
                name: "Gardens by the Bay".into(),
                enabled: true,
            })
            .await
            .unwrap();
        let config = EngineConfig {
            rate_per_minute: NonZeroU32::new(6_000).unwrap(),
            ..EngineConfig::default()
        };
        let service = Availability::start(store.clone(), source, config)
            .await
            .unwrap();
        (store, service)
    }

    #[tokio::test]
    async fn refresh_stores_what_the_partner_said_and_finds_the_cheapest_date() {
        let source = Arc::new(FakeSource::new());
        let (store, service) = service(source.clone()).await;
        let today = service.engine().today();
        let tomorrow = today + Days::new(1);
        source.set_day(
            product(),
            today,
            vec![sample_slot(today, "09:00", Decimal::new(4_500, 2))],
        );
        source.set_day(
            product(),
            tomorrow,
            vec![
                sample_slot(tomorrow, "09:00", Decimal::new(3_990, 2)),
                sample_slot(tomorrow, "18:00", Decimal::new(5_000, 2)),
            ],
        );

        let run = service.refresh(&[], 2).await.unwrap();
        assert_eq!(run.status, RunStatus::Succeeded);
        assert_eq!(run.counts.fetched, 2);
        assert_eq!(source.calls().len(), 2);
        assert_eq!(store.slots(product(), tomorrow).await.unwrap().len(), 2);

        let cheapest = service.cheapest(product(), 2).await.unwrap().unwrap();
        assert_eq!(cheapest.date, tomorrow);
        assert_eq!(cheapest.price.final_price, Decimal::new(3_990, 2));
        service.shutdown().await;
    }

    #[tokio::test]
    async fn a_partner_failure_fails_the_run_and_keeps_the_stored_day() {
        let source = Arc::new(FakeSource::new());
        let (store, service) = service(source.clone()).await;
        let today = service.engine().today();
        source.push_day(
            product(),
            today,
            vec![sample_slot(today, "10:00", Decimal::new(2_000, 2))],
        );
        assert_eq!(
            service.refresh(&[product()], 1).await.unwrap().status,
            RunStatus::Succeeded
        );

        source.push_error(
            product(),
            today,
            SourceError::Permanent("401 from the partner".into()),
        );
        let run = service.refresh(&[product()], 1).await.unwrap();
        assert_eq!(run.status, RunStatus::Failed);
        assert_eq!(run.counts.failed, 1);
        assert!(run.errors[0].contains("401"), "{:?}", run.errors);
        // The failed fetch left the earlier data in place.
        assert_eq!(store.slots(product(), today).await.unwrap().len(), 1);
        service.shutdown().await;
    }
}
