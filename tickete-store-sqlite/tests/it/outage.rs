//! A SQLite store that cannot be used answers `Unavailable`, never panics.

use chrono::Utc;
use tickete_core::store::prelude::*;
use tickete_core::{PageRequest, ProductId, StoreError};
use tickete_store_sqlite::SqliteStore;

fn unavailable<T: std::fmt::Debug>(result: Result<T, StoreError>) -> String {
    match result {
        Err(StoreError::Unavailable(message)) => message,
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn a_closed_store_is_unavailable() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("tickete.db").display());
    let store = SqliteStore::open(&url).await.expect("open");
    store.ping().await.expect("ping while open");
    store.close().await;

    let product = ProductId::new(14).expect("id");
    let message = unavailable(store.ping().await);
    assert!(
        !message.to_lowercase().contains("select"),
        "no SQL text: {message}"
    );
    unavailable(store.get_product(product).await);
    unavailable(
        store
            .list_products(PageRequest { page: 1, limit: 10 })
            .await,
    );
    unavailable(store.set_paused(true, Utc::now()).await);
}

#[tokio::test]
async fn an_unopenable_path_is_unavailable() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!(
        "sqlite://{}",
        dir.path().join("missing-dir").join("tickete.db").display()
    );
    unavailable(SqliteStore::open(&url).await);
    unavailable(SqliteStore::open("mysql://nope").await);
}

#[tokio::test]
async fn the_file_is_created_in_wal_mode_and_survives_reopening() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("tickete.db");
    let url = format!("sqlite://{}", path.display());
    let store = SqliteStore::open(&url).await.expect("open");
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .expect("journal mode");
    assert_eq!(mode, "wal");
    let paused = store.set_paused(true, Utc::now()).await.expect("pause");
    store.close().await;
    assert!(path.exists());

    let reopened = SqliteStore::open(&url).await.expect("reopen");
    assert_eq!(reopened.pause_state().await.expect("state"), paused);
}

#[tokio::test]
async fn an_in_memory_store_works() {
    let store = SqliteStore::open("sqlite::memory:").await.expect("open");
    store.ping().await.expect("ping");
    assert_eq!(
        store
            .set_paused(true, Utc::now())
            .await
            .expect("pause")
            .paused,
        store.pause_state().await.expect("state").paused
    );
}
