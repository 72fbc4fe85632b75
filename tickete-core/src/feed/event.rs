//! The events of the change feed (SPEC §6) and their bodies, encoded once for every store.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde_json::Value;

use crate::domain::{ProductId, RunBody, Slot, SyncRun};
use crate::served::EncodedDay;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    /// The stored content of one (product, date) changed (including a day becoming empty).
    AvailabilityChanged,
    /// A sync run ended (any final status).
    SyncRunFinished,
}

impl EventType {
    /// Every type, in wire order.
    pub const ALL: [EventType; 2] = [Self::AvailabilityChanged, Self::SyncRunFinished];

    /// The wire spelling, e.g. `availability.changed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AvailabilityChanged => "availability.changed",
            Self::SyncRunFinished => "sync.run.finished",
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "`{s}` is not an event type (expected availability.changed or sync.run.finished)"
                )
            })
    }
}

/// A stored event: its place in the feed and its body, exactly as delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Position in the feed, increasing in commit order (the stream's `id:`).
    pub seq: u64,
    /// `evt_…`, unique; receivers dedupe on it (`webhook-id`).
    pub id: String,
    /// What happened.
    pub kind: EventType,
    /// When it was recorded.
    pub timestamp: DateTime<Utc>,
    /// The (product, date) it concerns, for `availability.changed` (the unit of ordering).
    pub subject: Option<(ProductId, NaiveDate)>,
    /// The JSON body `{id, type, timestamp, data}`.
    pub body: String,
}

/// An event about to be written; the store assigns the sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// `evt_…`.
    pub id: String,
    /// What happened.
    pub kind: EventType,
    /// When it was recorded.
    pub timestamp: DateTime<Utc>,
    /// The (product, date) it concerns, if any.
    pub subject: Option<(ProductId, NaiveDate)>,
    /// The JSON body.
    pub body: String,
}

impl NewEvent {
    /// The event of an applied change of (product, date): `data` is `{productId, date,
    /// syncedAt, slots, openSlots, lowestPrice}`, `lowestPrice` as in the dates route
    /// (`null` when no slot has seats). `encoded` is the day as the store keeps it.
    pub fn availability_changed(
        product: ProductId,
        date: NaiveDate,
        slots: &[Slot],
        encoded: &EncodedDay,
        synced_at: DateTime<Utc>,
    ) -> Self {
        let open = slots.iter().filter(|slot| slot.remaining > 0).count();
        let lowest = encoded.summary.open_price.as_ref().map(|price| {
            serde_json::json!({
                "finalPrice": decimal(price.final_price),
                "currencyCode": price.currency_code,
                "originalPrice": decimal(price.original_price),
            })
        });
        let data = serde_json::json!({
            "productId": product.get(),
            "date": date.to_string(),
            "syncedAt": rfc3339(synced_at),
            "slots": encoded.summary.slot_count,
            "openSlots": open,
            "lowestPrice": lowest,
        });
        Self::with_data(
            EventType::AvailabilityChanged,
            Some((product, date)),
            synced_at,
            data,
        )
    }

    /// The event of a run that ended: `data` is the run as the runs route shows it.
    pub fn run_finished(run: &SyncRun, at: DateTime<Utc>) -> Self {
        let data = serde_json::to_value(RunBody::from(run)).unwrap_or(Value::Null);
        Self::with_data(EventType::SyncRunFinished, None, at, data)
    }

    fn with_data(
        kind: EventType,
        subject: Option<(ProductId, NaiveDate)>,
        timestamp: DateTime<Utc>,
        data: Value,
    ) -> Self {
        let id = new_event_id();
        let body = serde_json::json!({
            "id": id,
            "type": kind.as_str(),
            "timestamp": rfc3339(timestamp),
            "data": data,
        })
        .to_string();
        Self {
            id,
            kind,
            timestamp,
            subject,
            body,
        }
    }
}

/// `evt_` and 32 hex digits of randomness.
pub fn new_event_id() -> String {
    format!("evt_{:032x}", rand::random::<u128>())
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A decimal as a JSON number with its exact digits (as the read routes serve prices).
fn decimal(value: rust_decimal::Decimal) -> Value {
    Value::from_str(&value.to_string()).unwrap_or(Value::Null)
}

/// A list of types as stores keep it: comma-separated wire names, `""` for every type.
pub fn join_types(types: &[EventType]) -> String {
    types
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Reads back [`join_types`]' spelling (also the `types=` query of the stream).
pub fn parse_types(text: &str) -> Result<Vec<EventType>, String> {
    let mut types = Vec::new();
    for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let kind = name.parse()?;
        if !types.contains(&kind) {
            types.push(kind);
        }
    }
    Ok(types)
}

/// The line an event's deliveries keep their order in: `"{product}/{date}"`.
pub fn subject_key(product: ProductId, date: NaiveDate) -> String {
    format!("{}/{date}", product.get())
}
