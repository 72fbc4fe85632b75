//! End-to-end tests: the real server on a loopback port, SQLite in a temp dir, and the partner
//! simulator (or wiremock at the partner boundary), driven over HTTP.

mod allocator;
mod connections;
mod dashboard;
mod edges;
mod errors;
mod feed;
mod feed_kill;
mod feed_replicas;
mod feed_support;
mod hardening;
mod live_reads;
mod live_replicas;
mod operations;
mod owners;
mod policy_reads;
mod reads;
mod replicas;
mod shutdown;
mod support;
mod sync;
