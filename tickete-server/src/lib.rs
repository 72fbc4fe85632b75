//! # tickete-server
//!
//! The REST API of SPEC §2 over the application of `tickete-app`: routes and HTTP concerns
//! (auth, limits, caching, metrics, OpenAPI). Binaries call [`launch()`] with a bound
//! listener, so tests can bind port 0.

pub mod allocator;
pub mod cache;
pub mod dashboard;
pub mod error;
pub mod extract;
pub mod launch;
pub mod openapi;
pub mod router;
pub mod routes;
pub mod serve;
pub mod state;
pub mod telemetry;

pub use launch::{launch, LaunchError};
pub use router::router;
/// The bodies the API serves (they live in `tickete-app`, shared with the CLI).
pub use tickete_app::views as dto;
