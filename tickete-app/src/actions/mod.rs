//! Every admin action and read the API and the CLI share, each written once and answering
//! the view both print. The server adds only HTTP (status codes, caching); the CLI only
//! output.

mod control;
mod heatmap;
mod jobs;
mod products;
mod reads;
mod runs;
mod sessions;
mod webhooks;

use std::sync::Arc;

use tickete_core::engine::WorkQueue;
use tickete_core::Engine;

pub use jobs::JobUpdate;
pub use products::{check_product_name, ProductUpdate, ProductWritten};

/// The actions over one engine (and through it the store).
#[derive(Clone)]
pub struct Actions {
    engine: Engine,
    /// On Postgres, the queue the replicas share: its depth is the status's queue.
    shared_queue: Option<Arc<dyn WorkQueue>>,
    /// `TICKETE_WEBHOOK_ALLOW_PRIVATE`: webhook URLs may name private addresses.
    allow_private_webhooks: bool,
}

impl Actions {
    /// Actions over `engine`; `shared_queue`, when given, is the queue status reports.
    pub fn new(engine: Engine, shared_queue: Option<Arc<dyn WorkQueue>>) -> Self {
        Self {
            engine,
            shared_queue,
            allow_private_webhooks: false,
        }
    }

    /// Lets webhook URLs name loopback and private addresses (`TICKETE_WEBHOOK_ALLOW_PRIVATE`).
    pub fn allow_private_webhooks(mut self, allow: bool) -> Self {
        self.allow_private_webhooks = allow;
        self
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

#[cfg(test)]
mod heatmap_tests;
#[cfg(test)]
mod tests;
