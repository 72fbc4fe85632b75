//! The `tickete` binary against a temp SQLite store and the partner simulator on loopback.

mod admin;
mod budget;
mod owners;
mod postgres;
mod support;
mod sync;
mod usage;
