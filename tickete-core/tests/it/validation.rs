//! Partner days against the contract: the captured fixtures pass, every violation is named.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use tickete_core::validate::parse_day;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../shared/fixtures/partner/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

fn date(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

#[test]
fn captured_days_parse_exactly() {
    let day = parse_day(&fixture("product-14_2025-03-25.json"), date("2025-03-25")).unwrap();
    assert!(day.slots.len() > 1);
    let first = &day.slots[0];
    assert_eq!(first.provider_slot_id, "225532707686_2025-03-25T04:00");
    assert_eq!(first.start_time.to_string(), "04:00:00");
    assert_eq!(first.pax[0].price.final_price, Decimal::new(21214, 2));
    assert_eq!(first.pax[0].price.final_price.to_string(), "212.14");
    assert!(first.pax[0].is_primary);
    let child = day.slots[1]
        .pax
        .iter()
        .find(|pax| pax.pax_type == "CHILD_3~11")
        .unwrap();
    assert!(!child.is_primary, "missing isPrimary means false");
    assert_eq!(child.price.final_price, Decimal::from(73));

    let sunday = parse_day(&fixture("product-15_2025-03-30.json"), date("2025-03-30")).unwrap();
    assert_eq!(sunday.slots.len(), 1);
    let empty = parse_day(&fixture("empty-day.json"), date("2025-03-30")).unwrap();
    assert!(empty.slots.is_empty());
}

#[test]
fn a_day_for_another_date_is_refused() {
    let error = parse_day(&fixture("product-14_2025-03-25.json"), date("2025-03-26")).unwrap_err();
    assert!(
        error.to_string().contains("not the requested date"),
        "{error}"
    );
}

fn one_slot(mutate: impl FnOnce(&mut serde_json::Value)) -> Result<(), String> {
    let mut slot: serde_json::Value = serde_json::from_str(
        r#"{"startDate":"2025-03-25","startTime":"09:00","endTime":"09:00",
            "providerSlotId":"x_1","remaining":5,"currencyCode":"SGD","variantId":3,
            "somethingNew":{"a":1},
            "paxAvailability":[{"type":"ADULT","remaining":2,"extra":true,
              "price":{"finalPrice":10.5,"originalPrice":12,"discount":0,"currencyCode":"SGD"}}]}"#,
    )
    .unwrap();
    mutate(&mut slot);
    let body = serde_json::to_vec(&serde_json::Value::Array(vec![slot])).unwrap();
    parse_day(&body, date("2025-03-25"))
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[test]
fn unknown_fields_are_ignored() {
    assert_eq!(one_slot(|_| {}), Ok(()));
}

/// Changes one field of a valid slot.
type Mutation = Box<dyn FnOnce(&mut serde_json::Value)>;

#[test]
fn every_violation_names_the_field() {
    use serde_json::json;
    let cases: Vec<(&str, Mutation)> = vec![
        ("startTime", Box::new(|s| s["startTime"] = json!("9:00"))),
        ("endTime", Box::new(|s| s["endTime"] = json!("25:00"))),
        (
            "startDate",
            Box::new(|s| s["startDate"] = json!("25-03-2025")),
        ),
        ("remaining", Box::new(|s| s["remaining"] = json!(-1))),
        (
            "currencyCode is missing",
            Box::new(|s| {
                s.as_object_mut().unwrap().remove("currencyCode");
            }),
        ),
        (
            "paxAvailability is empty",
            Box::new(|s| s["paxAvailability"] = json!([])),
        ),
        (
            "appears twice",
            Box::new(|s| {
                let pax = s["paxAvailability"][0].clone();
                s["paxAvailability"].as_array_mut().unwrap().push(pax);
            }),
        ),
        (
            "more than 2 decimals",
            Box::new(|s| s["paxAvailability"][0]["price"]["finalPrice"] = json!(10.555)),
        ),
        (
            "negative",
            Box::new(|s| s["paxAvailability"][0]["price"]["originalPrice"] = json!(-1)),
        ),
        (
            "pax 0: remaining",
            Box::new(|s| s["paxAvailability"][0]["remaining"] = json!(-3)),
        ),
        (
            "price.currencyCode",
            Box::new(|s| {
                s["paxAvailability"][0]["price"]
                    .as_object_mut()
                    .unwrap()
                    .remove("currencyCode");
            }),
        ),
        (
            "providerSlotId is empty",
            Box::new(|s| s["providerSlotId"] = json!("")),
        ),
    ];
    for (expected, mutate) in cases {
        let error = one_slot(mutate).unwrap_err();
        assert!(
            error.contains(expected),
            "expected `{expected}` in `{error}`"
        );
        assert!(error.contains("slot 0"), "location named: {error}");
    }
}

#[test]
fn non_json_and_wrong_shapes_are_refused() {
    for body in [&b"<html>oops</html>"[..], b"{\"slots\":[]}", b"[1,2]", b""] {
        let error = parse_day(body, date("2025-03-25")).unwrap_err();
        assert!(error.to_string().starts_with("body:"), "{error}");
    }
}

#[test]
fn duplicate_slot_ids_are_refused() {
    let slot = r#"{"startDate":"2025-03-25","startTime":"09:00","endTime":"09:00",
        "providerSlotId":"dup","remaining":5,"currencyCode":"SGD","variantId":3,
        "paxAvailability":[{"type":"ADULT","remaining":2,
        "price":{"finalPrice":1,"originalPrice":1,"currencyCode":"SGD"}}]}"#;
    let body = format!("[{slot},{slot}]");
    let error = parse_day(body.as_bytes(), date("2025-03-25")).unwrap_err();
    assert!(error.to_string().contains("appears twice"), "{error}");
}
