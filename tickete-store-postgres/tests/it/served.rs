//! Days whose served columns are missing or out of date are served from their slots.

use tickete_core::testing::contract;

use crate::harness::TestDatabase;

#[tokio::test]
async fn days_without_current_served_columns_are_read_from_their_slots() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let store = database.store();
    let execute = async |sql: &str| {
        let done = sqlx::query(sql).execute(store.pool()).await.expect(sql);
        done.rows_affected()
    };
    contract::days_without_current_served_columns_are_read_from_their_slots(store, execute).await;
    database.drop_database().await;
}
