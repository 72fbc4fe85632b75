//! Route handlers, grouped by audience.

pub mod admin;
pub mod events;
pub mod freshness;
pub mod ops;
pub mod public;
pub mod webhooks;
