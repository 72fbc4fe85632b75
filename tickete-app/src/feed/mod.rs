//! The change feed's application side (SPEC §6): webhook secrets and signatures, the address
//! guard every outbound webhook request passes, and the delivery worker.

pub mod guard;
pub mod sign;
pub mod worker;

pub use guard::{check_webhook_url, AddressGuard};
pub use sign::{new_secret, signature};
pub use worker::{DeliveryWorker, WorkerConfig};

#[cfg(test)]
mod tests;
