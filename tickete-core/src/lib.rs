//! # tickete-core
//!
//! Domain types, the traits that connect tickete to a partner ([`InventorySource`]) and to
//! storage ([`InventoryStore`]), and the sync engine that spends a partner's request budget on
//! the (product, date) pairs that need it most.
//!
//! The engine never names a database or HTTP crate: adapters live in their own crates
//! (`tickete-partner`, `tickete-store-sqlite`, `tickete-store-postgres`).

pub mod clock;
pub mod domain;
pub mod engine;
pub mod pricing;
pub mod source;
pub mod store;
pub mod validate;

#[cfg(feature = "testing")]
pub mod testing;

pub use clock::{Clock, SystemClock, TokioClock};
pub use domain::*;
pub use engine::{Engine, EngineConfig, EngineError, EngineEvent, EngineStatus};
pub use source::{InventorySource, SourceError};
pub use store::{ApplyOutcome, InventoryStore, Page, PageRequest, PauseState, StoreError};
