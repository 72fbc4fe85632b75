//! The dates price rule (SPEC §2), written once for every store.

use std::collections::BTreeMap;

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::domain::{Price, Slot};

/// The lowest bookable price of one date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatePrice {
    /// The date.
    pub date: NaiveDate,
    /// Lowest primary-pax price among the date's slots with seats left.
    pub price: Price,
}

/// The `/dates` window: `[today, same day two months ahead)`.
///
/// When that day does not exist (31 December → 28/29 February), chrono clamps to the month's
/// last day, so the window still ends inside the second month.
pub fn dates_window(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let until = today
        .checked_add_months(Months::new(2))
        .unwrap_or(NaiveDate::MAX);
    (today, until)
}

/// For each date with at least one slot with `remaining > 0`, the lowest primary-pax final
/// price among those slots (ties: the first slot in start-time order), ascending by date.
pub fn lowest_prices<'a>(slots: impl IntoIterator<Item = &'a Slot>) -> Vec<DatePrice> {
    let mut best: BTreeMap<NaiveDate, &Price> = BTreeMap::new();
    for slot in slots.into_iter().filter(|slot| slot.remaining > 0) {
        let price = &slot.primary_pax().price;
        best.entry(slot.start_date)
            .and_modify(|current| {
                if price.final_price < current.final_price {
                    *current = price;
                }
            })
            .or_insert(price);
    }
    best.into_iter()
        .map(|(date, price)| DatePrice {
            date,
            price: price.clone(),
        })
        .collect()
}
