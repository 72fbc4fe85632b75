//! Several replicas on one database (SPEC §5): Postgres is the coordination engine.
//!
//! - [`PostgresScheduler`]: each (job, due time) is claimed by one replica (unique row).
//! - [`PostgresQueue`]: the durable task queue, claimed with `FOR UPDATE SKIP LOCKED` under a
//!   lease, with run counts updated atomically by whichever replica settles a task.
//! - [`PostgresBudget`]: one GCRA state row shared by all replicas, so the cluster as a whole
//!   stays under the partner's rate, and a 429 seen by one replica holds them all.

mod budget;
mod missed;
mod queue;
mod replicas;
mod scheduler;

use std::num::NonZeroU32;
use std::time::Duration;

pub use budget::PostgresBudget;
pub use queue::PostgresQueue;
pub use scheduler::PostgresScheduler;

use crate::PostgresStore;

/// The three coordination pieces of one replica, sharing the store's pool.
#[derive(Debug, Clone)]
pub struct Coordination {
    /// Cron tick claims.
    pub scheduler: PostgresScheduler,
    /// Durable task queue.
    pub queue: PostgresQueue,
    /// Shared partner budget.
    pub budget: PostgresBudget,
}

impl Coordination {
    /// Coordination for one replica named `replica` (unique per process), pacing the cluster
    /// at `rate_per_minute` and leasing claimed tasks for `lease`.
    pub fn new(
        store: &PostgresStore,
        replica: &str,
        rate_per_minute: NonZeroU32,
        lease: Duration,
    ) -> Self {
        let pool = store.pool().clone();
        Self {
            scheduler: PostgresScheduler::new(pool.clone(), replica),
            queue: PostgresQueue::new(pool.clone(), replica, lease),
            budget: PostgresBudget::new(pool, rate_per_minute),
        }
    }
}
