//! # tickete-partner
//!
//! Everything tickete knows about the partner's HTTP API (SPEC §1): [`PartnerClient`], one
//! `GET /api/v1/inventory/{productId}?date=` per
//! [`InventorySource::fetch`](tickete_core::InventorySource::fetch), every outcome classified
//! into a [`SourceError`](tickete_core::SourceError) variant the engine branches on.
//!
//! The partner simulator that tickete runs, tests and benchmarks against without a partner key
//! is a crate of its own, `tickete-partner-sim`, so this client pulls in no web server.

mod client;
mod response;

pub use client::{PartnerClient, PartnerConfig, PartnerConfigError, DEFAULT_PARTNER_URL};
