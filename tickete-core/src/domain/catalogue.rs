use chrono::Weekday;
use serde::{Deserialize, Serialize};

use super::ProductId;

/// A product of the catalogue, as configured by operators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    /// Partner product id.
    pub id: ProductId,
    /// Display name.
    pub name: String,
    /// Disabled products are kept (with their data) but not synced.
    pub enabled: bool,
}

/// A change to a catalogue entry; `None` leaves the field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductPatch {
    /// New display name.
    pub name: Option<String>,
    /// Enable or disable syncing.
    pub enabled: Option<bool>,
}

/// Whether a product ever has more than one slot on a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TimeSlotType {
    /// At most one slot on every synced date.
    Single,
    /// Some synced date has several slots.
    Multi,
}

/// Whether the partner knows a product (SPEC §2 `partnerStatus`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PartnerStatus {
    /// Never fetched, or the last answer for it was a day.
    #[default]
    Ok,
    /// The partner answered 404 since its last 200.
    Unknown,
}

impl PartnerStatus {
    /// The stored and served spelling: `ok`, `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Unknown => "unknown",
        }
    }

    /// Reads the stored spelling back; `None` for anything else.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "ok" => Some(Self::Ok),
            "unknown" => Some(Self::Unknown),
            _ => None,
        }
    }
}

impl std::fmt::Display for PartnerStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A product with the facts derived from its synced inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductView {
    /// The catalogue entry.
    pub product: Product,
    /// Weekdays on which synced inventory has slots, Monday first.
    pub available_days: Vec<Weekday>,
    /// Derived from the maximum number of slots on one date.
    pub time_slot_type: TimeSlotType,
    /// Whether the partner knows the product, as the engine last found.
    pub partner_status: PartnerStatus,
}

impl ProductView {
    /// Derives the view from the slot count of each synced date of the product.
    pub fn derive(
        product: Product,
        partner_status: PartnerStatus,
        slots_per_date: impl IntoIterator<Item = (chrono::NaiveDate, u64)>,
    ) -> Self {
        use chrono::Datelike;
        let mut days = [false; 7];
        let mut multi = false;
        for (date, count) in slots_per_date {
            if count > 0 {
                days[date.weekday().num_days_from_monday() as usize] = true;
            }
            multi |= count > 1;
        }
        let available_days = (0..7u8)
            .filter(|&i| days[i as usize])
            .map(|i| Weekday::try_from(i).expect("0..7 is a weekday"))
            .collect();
        Self {
            product,
            available_days,
            time_slot_type: if multi {
                TimeSlotType::Multi
            } else {
                TimeSlotType::Single
            },
            partner_status,
        }
    }
}
