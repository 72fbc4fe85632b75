//! Contract cases for the catalogue: products and their derived facts.

use std::sync::Arc;

use chrono::Weekday;

use super::support::{assert_not_found, at, date, id, page, product, sorted_states};
use crate::domain::{DaySnapshot, PartnerStatus, Product, ProductPatch, TimeSlotType};
use crate::store::InventoryStore;
use crate::testing::sample_day;

/// `ping` succeeds on a reachable store.
pub async fn ping_answers(store: Arc<dyn InventoryStore>) {
    store.ping().await.expect("ping a reachable store");
}

/// `upsert_product` inserts, then updates name and enabled flag without touching inventory.
pub async fn upsert_product_inserts_then_updates_keeping_inventory(store: Arc<dyn InventoryStore>) {
    let original = Product {
        id: id(14),
        name: "Gardens".into(),
        enabled: true,
    };
    store.upsert_product(&original).await.expect("insert");
    assert_eq!(
        store.get_product(id(14)).await.expect("get").product,
        original
    );

    let day = date("2025-03-24");
    store
        .apply_day(
            id(14),
            &sample_day(day, &["09:00"]),
            at("2025-03-24T01:00:00Z"),
        )
        .await
        .expect("apply");

    let renamed = Product {
        name: "Gardens by the Bay".into(),
        enabled: false,
        ..original
    };
    store
        .upsert_product(&renamed)
        .await
        .expect("update by upsert");
    let view = store.get_product(id(14)).await.expect("get after upsert");
    assert_eq!(view.product, renamed);
    assert_eq!(view.available_days, vec![Weekday::Mon]);
    assert_eq!(
        store.slots(id(14), day).await.expect("slots").len(),
        1,
        "upserting a known product keeps its inventory"
    );
    assert_eq!(
        sorted_states(&*store, day, date("2025-03-25")).await.len(),
        1,
        "upserting a known product keeps its day states"
    );
}

/// `update_product` changes only the given fields and returns the result.
pub async fn update_product_patches_only_given_fields(store: Arc<dyn InventoryStore>) {
    let p = product(&*store, 14).await;

    let renamed = store
        .update_product(
            p,
            &ProductPatch {
                name: Some("Night Safari".into()),
                enabled: None,
            },
        )
        .await
        .expect("rename");
    assert_eq!(
        renamed,
        Product {
            id: p,
            name: "Night Safari".into(),
            enabled: true
        }
    );

    let disabled = store
        .update_product(
            p,
            &ProductPatch {
                name: None,
                enabled: Some(false),
            },
        )
        .await
        .expect("disable");
    assert_eq!(disabled.name, "Night Safari");
    assert!(!disabled.enabled);

    let unchanged = store
        .update_product(p, &ProductPatch::default())
        .await
        .expect("empty patch");
    assert_eq!(unchanged, disabled);
    assert_eq!(store.get_product(p).await.expect("get").product, disabled);
}

/// Reads and changes of an unknown product are `NotFound`.
pub async fn unknown_product_is_not_found(store: Arc<dyn InventoryStore>) {
    product(&*store, 14).await;
    assert_not_found(store.get_product(id(15)).await, "get_product(15)");
    assert_not_found(
        store
            .update_product(
                id(15),
                &ProductPatch {
                    name: Some("x".into()),
                    enabled: Some(true),
                },
            )
            .await,
        "update_product(15)",
    );
    assert_not_found(store.delete_product(id(15)).await, "delete_product(15)");
    assert_eq!(
        store.list_products(page(1, 10)).await.expect("list").total,
        1,
        "a failed update must not create the product"
    );
}

/// Deleting a product removes its slots and day states, and nothing of other products.
pub async fn delete_product_removes_its_inventory_and_day_states(store: Arc<dyn InventoryStore>) {
    let doomed = product(&*store, 14).await;
    let kept = product(&*store, 15).await;
    let (d1, d2, end) = (date("2025-03-24"), date("2025-03-25"), date("2025-04-01"));
    let t = at("2025-03-24T01:00:00Z");
    for p in [doomed, kept] {
        store
            .apply_day(p, &sample_day(d1, &["09:00", "10:00"]), t)
            .await
            .expect("apply");
    }
    store
        .record_day_error(doomed, d2, "partner answered 503")
        .await
        .expect("record error");

    store.delete_product(doomed).await.expect("delete");

    assert_not_found(store.get_product(doomed).await, "get deleted product");
    assert_not_found(store.delete_product(doomed).await, "delete twice");
    assert!(store.slots(doomed, d1).await.expect("slots").is_empty());
    assert!(store
        .slots_between(doomed, d1, end)
        .await
        .expect("slots_between")
        .is_empty());
    let states = sorted_states(&*store, d1, end).await;
    assert_eq!(states.len(), 1, "only the kept product's day state remains");
    assert_eq!(states[0].product, kept);
    assert_eq!(store.slots(kept, d1).await.expect("kept slots").len(), 2);
    assert_eq!(store.enabled_products().await.expect("enabled"), vec![kept]);

    // Re-adding the id starts from nothing.
    product(&*store, 14).await;
    let view = store.get_product(doomed).await.expect("re-added");
    assert!(view.available_days.is_empty());
    assert_eq!(view.time_slot_type, TimeSlotType::Single);
    assert!(store
        .apply_day(doomed, &sample_day(d1, &[]), t)
        .await
        .is_ok());
}

/// `availableDays` and `timeSlotType` follow the synced inventory.
pub async fn product_view_derives_days_and_slot_type(store: Arc<dyn InventoryStore>) {
    let p = product(&*store, 14).await;
    let view = store.get_product(p).await.expect("fresh product");
    assert!(view.available_days.is_empty());
    assert_eq!(view.time_slot_type, TimeSlotType::Single);

    // 2025-03-24 is a Monday.
    let (monday, wednesday, friday) = (date("2025-03-24"), date("2025-03-26"), date("2025-03-28"));
    let t = at("2025-03-24T01:00:00Z");
    store
        .apply_day(p, &sample_day(monday, &["09:00"]), t)
        .await
        .expect("monday");
    store
        .apply_day(p, &sample_day(wednesday, &["10:00"]), t)
        .await
        .expect("wednesday");
    store
        .apply_day(p, &sample_day(friday, &[]), t)
        .await
        .expect("empty friday");
    let view = store.get_product(p).await.expect("view");
    assert_eq!(view.available_days, vec![Weekday::Mon, Weekday::Wed]);
    assert_eq!(view.time_slot_type, TimeSlotType::Single);

    store
        .apply_day(p, &sample_day(wednesday, &["10:00", "14:00"]), t)
        .await
        .expect("two wednesday slots");
    let view = store.get_product(p).await.expect("view");
    assert_eq!(view.time_slot_type, TimeSlotType::Multi);
    let listed = store.list_products(page(1, 10)).await.expect("list");
    assert_eq!(
        listed.items,
        vec![view],
        "list and get derive the same view"
    );

    store
        .apply_day(p, &DaySnapshot::new(wednesday, Vec::new()), t)
        .await
        .expect("wednesday emptied");
    let view = store.get_product(p).await.expect("view");
    assert_eq!(view.available_days, vec![Weekday::Mon]);
    assert_eq!(view.time_slot_type, TimeSlotType::Single);
}

/// Products are listed by ascending id; pages past the end are empty with the right total.
pub async fn list_products_orders_by_id_and_pages(store: Arc<dyn InventoryStore>) {
    let empty = store.list_products(page(1, 10)).await.expect("empty list");
    assert!(empty.items.is_empty());
    assert_eq!(empty.total, 0);

    for raw in [15, 3, 14, 100, 7] {
        product(&*store, raw).await;
    }
    let ids = |items: &[crate::domain::ProductView]| {
        items
            .iter()
            .map(|view| view.product.id.get())
            .collect::<Vec<_>>()
    };
    let cases: [(u32, u32, &[u32]); 6] = [
        (1, 2, &[3, 7]),
        (2, 2, &[14, 15]),
        (3, 2, &[100]),
        (4, 2, &[]),
        (1, 100, &[3, 7, 14, 15, 100]),
        (1000, 10, &[]),
    ];
    for (number, limit, expected) in cases {
        let listed = store
            .list_products(page(number, limit))
            .await
            .expect("list page");
        assert_eq!(ids(&listed.items), expected, "page {number} limit {limit}");
        assert_eq!(listed.total, 5, "total on page {number} limit {limit}");
    }
    let single = store.list_products(page(2, 1)).await.expect("limit 1");
    assert_eq!(ids(&single.items), vec![7]);
    assert_eq!(single.items[0].product.name, "Product 7");
}

/// `enabled_products` returns enabled ids in ascending order.
pub async fn enabled_products_lists_enabled_ids_ascending(store: Arc<dyn InventoryStore>) {
    assert!(store.enabled_products().await.expect("empty").is_empty());
    for (raw, enabled) in [(15, true), (3, false), (14, true), (2, true)] {
        store
            .upsert_product(&Product {
                id: id(raw),
                name: format!("Product {raw}"),
                enabled,
            })
            .await
            .expect("upsert");
    }
    assert_eq!(
        store.enabled_products().await.expect("enabled"),
        vec![id(2), id(14), id(15)]
    );
    store
        .update_product(
            id(15),
            &ProductPatch {
                name: None,
                enabled: Some(false),
            },
        )
        .await
        .expect("disable");
    store
        .update_product(
            id(3),
            &ProductPatch {
                name: None,
                enabled: Some(true),
            },
        )
        .await
        .expect("enable");
    assert_eq!(
        store.enabled_products().await.expect("enabled"),
        vec![id(2), id(3), id(14)]
    );
}

/// `partnerStatus` starts `ok`, is recorded by `set_partner_status` (which says whether it
/// changed), survives upserts and patches, is served in both reads, and needs the product.
pub async fn partner_status_is_recorded_and_kept_by_catalogue_edits(
    store: Arc<dyn InventoryStore>,
) {
    let known = product(&*store, 14).await;
    let unknown = product(&*store, 15).await;
    let status = |view: &crate::domain::ProductView| view.partner_status;
    assert_eq!(
        status(&store.get_product(unknown).await.expect("read")),
        PartnerStatus::Ok
    );
    assert!(store
        .set_partner_status(unknown, PartnerStatus::Unknown)
        .await
        .expect("record unknown"));
    assert!(!store
        .set_partner_status(unknown, PartnerStatus::Unknown)
        .await
        .expect("record unknown again"));
    store
        .upsert_product(&Product {
            id: unknown,
            name: "Renamed".into(),
            enabled: true,
        })
        .await
        .expect("upsert");
    let patch = ProductPatch {
        name: None,
        enabled: Some(false),
    };
    store.update_product(unknown, &patch).await.expect("patch");
    assert_eq!(
        status(&store.get_product(unknown).await.expect("read")),
        PartnerStatus::Unknown
    );
    let listed = store.list_products(page(1, 10)).await.expect("list");
    let statuses: Vec<_> = listed.items.iter().map(status).collect();
    assert_eq!(statuses, vec![PartnerStatus::Ok, PartnerStatus::Unknown]);
    assert_eq!(
        status(&store.get_product(known).await.expect("read")),
        PartnerStatus::Ok
    );

    assert!(store
        .set_partner_status(unknown, PartnerStatus::Ok)
        .await
        .expect("record ok"));
    assert_eq!(
        status(&store.get_product(unknown).await.expect("read")),
        PartnerStatus::Ok
    );
    assert_not_found(
        store
            .set_partner_status(id(99), PartnerStatus::Unknown)
            .await,
        "the status of a product not in the catalogue",
    );
}
