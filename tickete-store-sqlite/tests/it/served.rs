//! Days whose served columns are missing or out of date are served from their slots.

use tickete_core::testing::contract;
use tickete_store_sqlite::SqliteStore;

#[tokio::test]
async fn days_without_current_served_columns_are_read_from_their_slots() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("tickete.db").display());
    let store = SqliteStore::open(&url).await.expect("open");
    let execute = async |sql: &str| {
        let done = sqlx::query(sql).execute(store.pool()).await.expect(sql);
        done.rows_affected()
    };
    contract::days_without_current_served_columns_are_read_from_their_slots(&store, execute).await;
}
