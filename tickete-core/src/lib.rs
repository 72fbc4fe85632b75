//! # tickete-core
//!
//! Domain types, the traits that connect tickete to a partner ([`InventorySource`]) and to
//! storage ([`InventoryStore`]), and the sync engine that spends a partner's request budget on
//! the (product, date) pairs that need it most.
//!
//! The engine never names a database or HTTP crate: adapters live in their own crates
//! (`tickete-partner`, `tickete-store-sqlite`, `tickete-store-postgres`).
//!
//! # Example
//!
//! An engine over the in-memory store and the scripted fake partner (feature `testing`):
//! start the worker, run a one-day sync, wait for it, read what was stored.
//!
//! ```
//! # #[cfg(feature = "testing")]
//! # {
//! use std::sync::Arc;
//!
//! use tickete_core::engine::RunRequest;
//! use tickete_core::store::prelude::*; // the store's capability traits
//! use tickete_core::testing::{sample_day, FakeSource, MemoryStore};
//! use tickete_core::{Engine, Product, ProductId, RunStatus};
//! use tokio_util::sync::CancellationToken;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let store = Arc::new(MemoryStore::new());
//! let product = ProductId::new(14)?;
//! store
//!     .upsert_product(&Product { id: product, name: "Gardens by the Bay".into(), enabled: true })
//!     .await?;
//!
//! let partner = Arc::new(FakeSource::new());
//! let engine = Engine::builder(store.clone(), partner.clone()).build().await?;
//! let today = engine.today();
//! partner.set_day(product, today, sample_day(today, &["09:00", "14:00"]).slots);
//!
//! // The worker spends the partner budget until cancelled.
//! let stop = CancellationToken::new();
//! let worker = tokio::spawn({
//!     let (engine, stop) = (engine.clone(), stop.clone());
//!     async move { engine.run(stop).await }
//! });
//!
//! let run = engine.start_run(RunRequest::next_days(1)).await?;
//! let run = engine.wait_for_run(run.id).await?;
//! assert_eq!(run.status, RunStatus::Succeeded);
//! assert_eq!(run.counts.fetched, 1);
//! assert_eq!(store.slots(product, today).await?.len(), 2);
//!
//! stop.cancel();
//! worker.await?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! # }
//! ```

pub mod clock;
pub mod domain;
pub mod engine;
pub mod feed;
pub mod learning;
pub mod pricing;
pub mod served;
pub mod sessions;
pub mod source;
pub mod store;
pub mod validate;

#[cfg(feature = "testing")]
pub mod testing;

pub use clock::{Clock, SystemClock, TokioClock};
pub use domain::*;
pub use engine::{Engine, EngineConfig, EngineError, EngineEvent, EngineStatus};
pub use source::{InventorySource, SourceError};
pub use store::{
    ApplyOutcome, Catalogue, Control, DayApply, Inventory, InventoryStore, Page, PageRequest,
    PauseState, Processes, RunLog, StoreError,
};
