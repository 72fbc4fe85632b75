//! Checks that a served slots body says exactly what the partner said, for the end-to-end
//! tests of every front-end (API, CLI) and of embedders.

use rust_decimal::Decimal;
use serde_json::Value;

use crate::validate::RawSlot;

/// A JSON number read back exactly (prices are JSON numbers with at most 2 decimals).
pub fn decimal(value: &Value) -> Decimal {
    value
        .to_string()
        .parse()
        .unwrap_or_else(|_| panic!("not a decimal: {value}"))
}

/// Asserts that `served` (the `slots` array of a slots body) is the partner's `truth` for that
/// date: same slots in start-time order, same seats, same pax with their prices and names, the
/// slot's price that of its primary pax (the first when none is marked), and no `discount`.
pub fn assert_served_slots(served: &[Value], truth: &[RawSlot], what: &str) {
    let mut expected: Vec<&RawSlot> = truth.iter().collect();
    expected.sort_by(|a, b| a.start_time.cmp(&b.start_time));
    assert_eq!(served.len(), expected.len(), "{what}: slot count");
    for (slot, partner) in served.iter().zip(expected) {
        assert_eq!(slot["startTime"], partner.start_time.as_str(), "{what}");
        assert_eq!(slot["startDate"], partner.start_date.as_str(), "{what}");
        assert_eq!(slot["remaining"], partner.remaining, "{what}");
        let pax = slot["paxAvailability"].as_array().expect("paxAvailability");
        assert_eq!(pax.len(), partner.pax_availability.len(), "{what}: pax");
        for (served_pax, partner_pax) in pax.iter().zip(&partner.pax_availability) {
            assert_eq!(served_pax["type"], partner_pax.pax_type.as_str(), "{what}");
            assert_eq!(served_pax["remaining"], partner_pax.remaining, "{what}");
            let price = &served_pax["price"];
            assert_eq!(decimal(&price["finalPrice"]), partner_pax.price.final_price);
            assert_eq!(
                decimal(&price["originalPrice"]),
                partner_pax.price.original_price
            );
            assert!(price.get("discount").is_none(), "{what}: discount served");
            assert_eq!(
                served_pax.get("name").and_then(Value::as_str),
                partner_pax.name.as_deref(),
                "{what}"
            );
        }
        let primary = partner
            .pax_availability
            .iter()
            .find(|pax| pax.is_primary == Some(true))
            .or(partner.pax_availability.first());
        if let Some(primary) = primary {
            assert_eq!(
                decimal(&slot["price"]["finalPrice"]),
                primary.price.final_price,
                "{what}: slot price"
            );
        }
    }
}

/// The price a dates body should show for a day the partner answered with `truth`: the lowest
/// primary-pax final price among open slots; `None` when no slot has seats.
pub fn lowest_open_price(truth: &[RawSlot]) -> Option<Decimal> {
    truth
        .iter()
        .filter(|slot| slot.remaining > 0)
        .filter_map(|slot| {
            let pax = &slot.pax_availability;
            pax.iter()
                .find(|pax| pax.is_primary == Some(true))
                .or(pax.first())
                .map(|pax| pax.price.final_price)
        })
        .min()
}
