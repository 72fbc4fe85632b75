//! SQLite's side of the change feed's outbox (written once in `tickete-store-sql`).

use sqlx::SqliteConnection;
use tickete_core::StoreError;

use crate::SqliteStore;

impl SqliteStore {
    /// Nothing to do before an event is written: the transaction's write lock already orders
    /// event writers, so sequences commit in order.
    pub(crate) async fn order_event_write(_tx: &mut SqliteConnection) -> Result<(), StoreError> {
        Ok(())
    }
}
