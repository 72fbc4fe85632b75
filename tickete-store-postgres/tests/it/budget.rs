//! The shared partner budget: a 429 hold is visible to every replica and an operator can
//! lift it.

use std::num::NonZeroU32;
use std::time::Duration;

use chrono::Utc;
use tickete_core::engine::PartnerBudget;
use tickete_store_postgres::coordination::PostgresBudget;

use crate::harness::TestDatabase;

#[tokio::test]
async fn a_hold_is_shared_and_lifting_it_wakes_every_replica() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let rate = NonZeroU32::new(600).unwrap();
    let replica_a = PostgresBudget::new(db.store().pool().clone(), rate);
    let replica_b = PostgresBudget::new(db.store().pool().clone(), rate);
    assert_eq!(replica_a.stored_hold().await.unwrap(), None);
    assert_eq!(
        replica_a.clear_hold().await.unwrap(),
        None,
        "nothing to lift"
    );

    let reset = Utc::now() + chrono::Duration::hours(1);
    replica_a.hold_until(reset).await.unwrap();
    let seen = replica_b
        .stored_hold()
        .await
        .unwrap()
        .expect("B sees A's hold");
    assert!(seen >= reset, "{seen} before {reset}");

    // B waits on the hold; A's operator lifts it; B gets its call well before the hour.
    let waiting = tokio::spawn(async move {
        replica_b.acquire().await.unwrap();
        replica_b
    });
    tokio::task::yield_now().await;
    let lifted = replica_a
        .clear_hold()
        .await
        .unwrap()
        .expect("a hold was lifted");
    assert!(lifted >= reset);
    let replica_b = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("the waiting replica resumed after the lift, not after the reset")
        .unwrap();
    assert_eq!(replica_b.held_until(), None);
    assert_eq!(replica_a.stored_hold().await.unwrap(), None);
    db.drop_database().await;
}
