use chrono::{NaiveDate, NaiveTime};
use rust_decimal::Decimal;

use crate::domain::{DaySnapshot, PaxAvailability, Price, Slot};

/// A one-adult slot at `start` ("HH:MM") costing `final_price` SGD, with seats left.
pub fn sample_slot(date: NaiveDate, start: &str, final_price: Decimal) -> Slot {
    let time = NaiveTime::parse_from_str(start, "%H:%M").expect("sample time is HH:MM");
    Slot {
        provider_slot_id: format!("sample_{date}T{start}"),
        start_date: date,
        start_time: time,
        end_time: time,
        remaining: 20,
        currency_code: "SGD".into(),
        variant_id: 1,
        pax: vec![PaxAvailability {
            pax_type: "ADULT_12~99".into(),
            name: Some("Adult".into()),
            description: None,
            min: Some(1),
            max: Some(10),
            remaining: 10,
            is_primary: true,
            price: Price {
                final_price,
                original_price: final_price + Decimal::ONE_HUNDRED,
                discount: Decimal::ZERO,
                currency_code: "SGD".into(),
            },
        }],
    }
}

/// A day of slots at the given start times, all priced `212.14`.
pub fn sample_day(date: NaiveDate, starts: &[&str]) -> DaySnapshot {
    let price = Decimal::new(21214, 2);
    DaySnapshot::new(
        date,
        starts
            .iter()
            .map(|start| sample_slot(date, start, price))
            .collect(),
    )
}
