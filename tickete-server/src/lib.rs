//! # tickete-server
//!
//! The REST API of SPEC §2 over the sync engine, with the scheduler, in one process.
//! Binaries call [`launch()`] with a bound listener, so tests can bind port 0.

pub mod app;
pub mod cache;
pub mod config;
pub mod dto;
pub mod error;
pub mod extract;
pub mod launch;
pub mod openapi;
pub mod routes;
pub mod serve;
pub mod state;
pub mod stores;
pub mod telemetry;

pub use app::router;
pub use config::{Config, ConfigArgs, ConfigError};
pub use launch::{launch, LaunchError};
