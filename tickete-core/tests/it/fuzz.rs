//! Property suite for the partner response parser and validator: arbitrary bytes,
//! mutated captured days, and arbitrary JSON shaped like a day. The parser never panics; what
//! it accepts keeps every invariant the stores rely on; what it refuses says so in a bounded,
//! printable message.
//!
//! CI runs the default case counts (well under a minute). A longer run sets `PROPTEST_CASES`,
//! e.g. `PROPTEST_CASES=200000 cargo test --release -p tickete-core --test it fuzz`.

use std::collections::HashSet;

use chrono::NaiveDate;
use proptest::prelude::*;
use rust_decimal::Decimal;
use tickete_core::validate::{check_text, parse_day};
use tickete_core::DaySnapshot;

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 3, 25).unwrap()
}

/// `PROPTEST_CASES` when set, else `default`.
fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn fixture() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures/partner/product-14_2025-03-25.json"
    );
    std::fs::read(path).unwrap()
}

/// What every accepted day must hold, whatever it was parsed from.
fn assert_invariants(snapshot: &DaySnapshot, slots_in_body: Option<usize>) {
    if let Some(count) = slots_in_body {
        assert_eq!(
            snapshot.slots.len(),
            count,
            "no slot is dropped or invented"
        );
    }
    assert!(check_text(snapshot).is_ok(), "no control characters");
    let max = Decimal::from(1_000_000_000u32);
    let mut ids = HashSet::new();
    for slot in &snapshot.slots {
        assert_eq!(slot.start_date, day());
        assert!(!slot.provider_slot_id.trim().is_empty());
        assert!(ids.insert(slot.provider_slot_id.clone()), "ids are unique");
        assert!(!slot.pax.is_empty());
        let mut types = HashSet::new();
        for pax in &slot.pax {
            assert!(types.insert(pax.pax_type.clone()), "pax types are unique");
            for price in [
                pax.price.final_price,
                pax.price.original_price,
                pax.price.discount,
            ] {
                assert!(price >= Decimal::ZERO && price < max, "{price}");
                assert!(price.scale() <= 2, "{price} has at most 2 decimals");
            }
        }
    }
}

/// What every refusal must hold: bounded and printable, so it is safe in a run's error list,
/// a log line and an HTTP body.
fn assert_refusal(message: &str) {
    assert!(
        message.chars().count() <= 1000,
        "{} characters",
        message.chars().count()
    );
    assert!(
        !message.chars().any(char::is_control),
        "control character in {message:?}"
    );
}

fn check(body: &[u8], slots_in_body: Option<usize>) {
    match parse_day(body, day()) {
        Ok(snapshot) => assert_invariants(&snapshot, slots_in_body),
        Err(error) => assert_refusal(&error.to_string()),
    }
}

// --- JSON shaped like a day -------------------------------------------------------------

fn json_string(text: String) -> String {
    serde_json::to_string(&text).unwrap()
}

/// Text that is sometimes hostile: control characters, NUL, long runs, any Unicode.
fn text() -> BoxedStrategy<String> {
    prop_oneof![
        4 => "[A-Za-z0-9_~ -]{1,16}",
        1 => any::<String>(),
        1 => "[\\x00-\\x1f\\x7f\\u{80}-\\u{9f}]{1,3}",
        1 => "[A-Z]{1,4}\\x00[A-Z]{0,4}",
        1 => Just(String::new()),
        1 => "x{200,2000}",
    ]
    .boxed()
}

fn number() -> BoxedStrategy<String> {
    prop_oneof![
        3 => (0i64..500).prop_map(|n| n.to_string()),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| f.to_string()),
        1 => "-?[0-9]{1,30}(\\.[0-9]{1,30})?([eE][-+]?[0-9]{1,3})?",
    ]
    .boxed()
}

fn money() -> BoxedStrategy<String> {
    prop_oneof![
        4 => (0u32..100_000, 0u32..100).prop_map(|(whole, cents)| format!("{whole}.{cents:02}")),
        1 => number(),
    ]
    .boxed()
}

/// Any JSON value of the wrong kind.
fn junk() -> BoxedStrategy<String> {
    prop_oneof![
        Just("null".to_owned()),
        Just("true".to_owned()),
        Just("[]".to_owned()),
        Just("{}".to_owned()),
        text().prop_map(json_string),
        number(),
    ]
    .boxed()
}

/// A field: usually of the right shape, sometimes missing, sometimes junk.
fn field(valid: BoxedStrategy<String>) -> BoxedStrategy<Option<String>> {
    prop_oneof![
        8 => valid.prop_map(Some),
        1 => Just(None),
        1 => junk().prop_map(Some),
    ]
    .boxed()
}

fn object(fields: Vec<(&'static str, Option<String>)>) -> String {
    let members: Vec<String> = fields
        .into_iter()
        .filter_map(|(key, value)| value.map(|value| format!("\"{key}\":{value}")))
        .collect();
    format!("{{{}}}", members.join(","))
}

fn time() -> BoxedStrategy<String> {
    prop_oneof![
        4 => (0u32..24, 0u32..60).prop_map(|(h, m)| format!("{h:02}:{m:02}")),
        1 => "[0-9:]{0,6}",
        1 => text(),
    ]
    .prop_map(json_string)
    .boxed()
}

fn start_date() -> BoxedStrategy<String> {
    prop_oneof![
        6 => Just("2025-03-25".to_owned()),
        1 => Just("2025-03-26".to_owned()),
        1 => "[0-9-]{0,12}",
        1 => text(),
    ]
    .prop_map(json_string)
    .boxed()
}

fn price() -> BoxedStrategy<String> {
    (
        field(money()),
        field(money()),
        field(money()),
        field(text().prop_map(json_string).boxed()),
    )
        .prop_map(|(final_price, original, discount, currency)| {
            object(vec![
                ("finalPrice", final_price),
                ("originalPrice", original),
                ("discount", discount),
                ("currencyCode", currency),
            ])
        })
        .boxed()
}

fn pax() -> BoxedStrategy<String> {
    (
        field(text().prop_map(json_string).boxed()),
        field(text().prop_map(json_string).boxed()),
        field(text().prop_map(json_string).boxed()),
        field(number()),
        field(number()),
        field(number()),
        field(any::<bool>().prop_map(|b| b.to_string()).boxed()),
        field(price()),
    )
        .prop_map(
            |(kind, name, description, min, max, remaining, primary, price)| {
                object(vec![
                    ("type", kind),
                    ("name", name),
                    ("description", description),
                    ("min", min),
                    ("max", max),
                    ("remaining", remaining),
                    ("isPrimary", primary),
                    ("price", price),
                ])
            },
        )
        .boxed()
}

fn slot() -> BoxedStrategy<String> {
    let pax_list = prop::collection::vec(pax(), 0..4)
        .prop_map(|pax| format!("[{}]", pax.join(",")))
        .boxed();
    (
        field(start_date()),
        field(time()),
        field(time()),
        field(text().prop_map(json_string).boxed()),
        field(number()),
        field(text().prop_map(json_string).boxed()),
        field(number()),
        field(pax_list),
        field(junk()),
    )
        .prop_map(
            |(date, start, end, id, remaining, currency, variant, pax, extra)| {
                object(vec![
                    ("startDate", date),
                    ("startTime", start),
                    ("endTime", end),
                    ("providerSlotId", id),
                    ("remaining", remaining),
                    ("currencyCode", currency),
                    ("variantId", variant),
                    ("paxAvailability", pax),
                    ("someFieldWeNeverSaw", extra),
                ])
            },
        )
        .boxed()
}

/// A valid slot: every field of the right shape and in range.
fn valid_slot(index: usize) -> BoxedStrategy<String> {
    let pax = (0u32..100, 0u32..100_000, 0u32..100, any::<bool>(), "[A-Za-z ]{0,12}")
        .prop_map(|(remaining, whole, cents, primary, name)| {
            format!(
                r#"{{"type":"ADULT","name":{},"remaining":{remaining},"isPrimary":{primary},"price":{{"finalPrice":{whole}.{cents:02},"originalPrice":{whole},"currencyCode":"SGD"}}}}"#,
                json_string(name)
            )
        });
    ((0u32..24, 0u32..60), 0u32..1000, pax)
        .prop_map(move |((h, m), remaining, pax)| {
            format!(
                r#"{{"startDate":"2025-03-25","startTime":"{h:02}:{m:02}","endTime":"{h:02}:{m:02}","providerSlotId":"slot-{index}","remaining":{remaining},"currencyCode":"SGD","variantId":1,"paxAvailability":[{pax}]}}"#
            )
        })
        .boxed()
}

proptest! {
    #![proptest_config(cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..600)) {
        check(&body, None);
    }

    #[test]
    fn mutated_captured_days_never_panic(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8)
    ) {
        let mut body = fixture();
        for (at, byte, kind) in edits {
            let at = at.index(body.len().max(1)).min(body.len());
            match kind {
                0 if at < body.len() => body[at] = byte,
                1 => body.insert(at, byte),
                _ if at < body.len() => { body.remove(at); }
                _ => body.push(byte),
            }
        }
        check(&body, None);
    }
}

proptest! {
    #![proptest_config(cases(300))]

    #[test]
    fn json_shaped_like_a_day_never_panics(slots in prop::collection::vec(slot(), 0..5)) {
        let count = slots.len();
        let body = format!("[{}]", slots.join(","));
        check(body.as_bytes(), Some(count));
    }

    #[test]
    fn valid_days_are_accepted_whole(count in 0usize..6, seed in prop::collection::vec(valid_slot(0), 6)) {
        // Give each slot its own id so the day is valid.
        let slots: Vec<String> = seed
            .into_iter()
            .take(count)
            .enumerate()
            .map(|(index, slot)| slot.replace("\"slot-0\"", &format!("\"slot-{index}\"")))
            .collect();
        let body = format!("[{}]", slots.join(","));
        let snapshot = parse_day(body.as_bytes(), day());
        prop_assert!(snapshot.is_ok(), "{:?} for {}", snapshot.err(), body);
        assert_invariants(&snapshot.unwrap(), Some(count));
    }
}
