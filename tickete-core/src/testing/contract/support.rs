//! Fixtures shared by the contract cases.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveTime, Timelike, Utc};
use rust_decimal::Decimal;

use crate::domain::{DayState, PaxAvailability, Price, Product, ProductId, Slot};
use crate::store::{InventoryStore, PageRequest, StoreError};

pub(super) fn id(raw: u32) -> ProductId {
    ProductId::new(raw).expect("fixture ids are positive")
}

pub(super) fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("fixture date is YYYY-MM-DD")
}

/// An RFC 3339 instant; fixtures use microsecond precision, which every store keeps.
pub(super) fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("fixture time is RFC 3339")
        .with_timezone(&Utc)
}

pub(super) fn money(text: &str) -> Decimal {
    Decimal::from_str(text).expect("fixture money is a decimal")
}

pub(super) fn page(page: u32, limit: u32) -> PageRequest {
    PageRequest { page, limit }
}

/// Inserts an enabled product named `Product {raw}`.
pub(super) async fn product(store: &dyn InventoryStore, raw: u32) -> ProductId {
    store
        .upsert_product(&Product {
            id: id(raw),
            name: format!("Product {raw}"),
            enabled: true,
        })
        .await
        .expect("upsert product");
    id(raw)
}

pub(super) fn price(final_price: &str, original_price: &str) -> Price {
    Price {
        final_price: money(final_price),
        original_price: money(original_price),
        discount: money(original_price) - money(final_price),
        currency_code: "SGD".into(),
    }
}

pub(super) fn pax(pax_type: &str, final_price: &str, is_primary: bool) -> PaxAvailability {
    PaxAvailability {
        pax_type: pax_type.into(),
        name: Some(
            pax_type
                .split('_')
                .next()
                .unwrap_or(pax_type)
                .to_lowercase(),
        ),
        description: Some(format!("{pax_type} ticket")),
        min: Some(1),
        max: Some(9),
        remaining: 7,
        is_primary,
        price: price(final_price, "300.00"),
    }
}

/// A slot `{key}` at `start` ("HH:MM") with the given pax, 20 seats left.
pub(super) fn slot(day: NaiveDate, start: &str, key: &str, pax: Vec<PaxAvailability>) -> Slot {
    let start_time = NaiveTime::parse_from_str(start, "%H:%M").expect("fixture time is HH:MM");
    Slot {
        provider_slot_id: format!("{key}_{day}T{start}"),
        start_date: day,
        start_time,
        end_time: start_time,
        remaining: 20,
        currency_code: "SGD".into(),
        variant_id: 7_000 + i64::from(start_time.hour()),
        pax,
    }
}

/// A realistic slot: a child pax first, then the primary adult pax.
pub(super) fn family_slot(day: NaiveDate, start: &str, adult_price: &str) -> Slot {
    slot(
        day,
        start,
        "family",
        vec![
            pax("CHILD_3~11", "100.00", false),
            pax("ADULT_12~99", adult_price, true),
        ],
    )
}

pub(super) fn assert_not_found<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) {
    match result {
        Err(StoreError::NotFound(_)) => {}
        other => panic!("{what}: expected NotFound, got {other:?}"),
    }
}

/// Day states in `[from, until)`, sorted by (product, date) so stores may return any order.
pub(super) async fn sorted_states(
    store: &dyn InventoryStore,
    from: NaiveDate,
    until: NaiveDate,
) -> Vec<DayState> {
    let mut states = store.day_states(from, until).await.expect("day_states");
    states.sort_by_key(|state| (state.product, state.date));
    states
}

/// The one day state of (product, date); panics when absent.
pub(super) async fn state_of(
    store: &dyn InventoryStore,
    product: ProductId,
    day: NaiveDate,
) -> DayState {
    let until = day.succ_opt().expect("fixture date has a successor");
    sorted_states(store, day, until)
        .await
        .into_iter()
        .find(|state| state.product == product)
        .unwrap_or_else(|| panic!("no day state for product {product} on {day}"))
}

/// The bodies of every `availability.changed` event, oldest first.
pub(super) async fn changes(store: &dyn InventoryStore) -> Vec<serde_json::Value> {
    store
        .events_after(0, &[crate::feed::EventType::AvailabilityChanged], 1000)
        .await
        .unwrap()
        .iter()
        .map(|e| serde_json::from_str(&e.body).unwrap())
        .collect()
}
