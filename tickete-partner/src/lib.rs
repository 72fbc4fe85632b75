//! # tickete-partner
//!
//! Everything tickete knows about the partner's HTTP API (SPEC §1):
//!
//! - [`PartnerClient`], the real client: one `GET /api/v1/inventory/{productId}?date=` per
//!   [`InventorySource::fetch`](tickete_core::InventorySource::fetch), every outcome classified
//!   into a [`SourceError`](tickete_core::SourceError) variant the engine branches on.
//! - [`sim`], a partner simulator (an axum router plus [`sim::serve`]) that answers with the
//!   partner's exact shape, enforces the partner's rate limit, changes its inventory over time
//!   and injects faults on demand, so the whole service runs, is tested and benchmarked
//!   without a partner key.

mod client;
mod response;
pub mod sim;

pub use client::{PartnerClient, PartnerConfig, PartnerConfigError, DEFAULT_PARTNER_URL};
pub use sim::{serve, simulator_router, SimArgs, SimConfig, SimStats, Simulator};
