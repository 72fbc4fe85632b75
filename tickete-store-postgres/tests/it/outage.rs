//! A Postgres store that cannot reach its server answers `Unavailable`, never panics.

use chrono::{NaiveDate, Utc};
use tickete_core::store::prelude::*;
use tickete_core::{PageRequest, ProductId, StoreError};
use tickete_store_postgres::PostgresStore;

use crate::harness::TestDatabase;

fn unavailable<T: std::fmt::Debug>(result: Result<T, StoreError>) -> String {
    match result {
        Err(StoreError::Unavailable(message)) => message,
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

/// Needs no server: nothing listens on port 1.
#[tokio::test]
async fn connecting_to_a_closed_port_is_unavailable() {
    let message =
        unavailable(PostgresStore::connect("postgres://postgres@127.0.0.1:1/tickete").await);
    assert!(
        !message.contains("127.0.0.1:1/"),
        "no URL in the message: {message}"
    );
    unavailable(PostgresStore::connect("not a url").await);
}

#[tokio::test]
async fn a_closed_pool_is_unavailable() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let store = database.store().clone();
    store.ping().await.expect("ping while open");
    store.close().await;
    let message = unavailable(store.ping().await);
    assert!(
        !message.to_lowercase().contains("select"),
        "no SQL text: {message}"
    );
    unavailable(store.get_product(ProductId::new(14).expect("id")).await);
    unavailable(
        store
            .list_products(PageRequest { page: 1, limit: 10 })
            .await,
    );
    unavailable(store.set_paused(true, Utc::now()).await);
    unavailable(
        store
            .served_slots(ProductId::new(14).expect("id"), day())
            .await,
    );
    database.drop_database().await;
}

#[tokio::test]
async fn a_server_that_goes_away_is_unavailable() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let store = database.store().clone();
    store.ping().await.expect("ping");
    // Terminates the pool's sessions and removes the database under it.
    database.drop_underneath().await;
    unavailable(store.ping().await);
    unavailable(store.pause_state().await);
    unavailable(
        store
            .served_slots(ProductId::new(14).expect("id"), day())
            .await,
    );
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 2).expect("date")
}

/// The public reads keep connections of their own, with no ping before use: one the server
/// ended meanwhile fails its read, which runs again on another connection.
#[tokio::test]
async fn public_reads_survive_the_server_ending_their_sessions() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let store = database.store().clone();
    let product = ProductId::new(14).expect("id");
    never_known(store.served_slots(product, day()).await);
    never_known(
        store
            .served_dates(product, day(), day() + chrono::Days::new(7))
            .await,
    );
    assert!(
        database.end_sessions().await >= 1,
        "a reading session was open"
    );
    never_known(store.served_slots(product, day()).await);
    never_known(
        store
            .served_dates(product, day(), day() + chrono::Days::new(7))
            .await,
    );
    database.drop_database().await;
}

fn never_known<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    match result {
        Err(StoreError::NotFound(_)) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
}
