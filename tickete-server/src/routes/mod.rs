//! Route handlers, grouped by audience.

pub mod admin;
pub mod ops;
pub mod public;
