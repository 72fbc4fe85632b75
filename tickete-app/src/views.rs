//! Response and request bodies of SPEC §2: what the API serves and the CLI prints with
//! `--json`. With feature `openapi` they carry their OpenAPI schemas.

mod freshness;
mod processes;
pub use freshness::{DemandBody, JobFreshnessBody, LiveBody};
pub use processes::{DayAgeBody, ProcessBody};
pub use tickete_core::{OwnerBody, RunBody, ScopeBody, ScopeProducts};

use chrono::{DateTime, NaiveDate, Utc, Weekday};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tickete_core::pricing::DatePrice;
use tickete_core::served::ServedDates;
use tickete_core::{
    PageRequest, PaxAvailability, Price, ProductView, Slot, SyncJob, SyncRun, TimeSlotType,
};

/// A price exactly as the partner gave it (no `discount`).
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PriceBody {
    /// What the customer pays; a JSON number with at most 2 decimals.
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    #[cfg_attr(feature = "openapi", schema(value_type = f64, example = 212.14))]
    pub final_price: Decimal,
    /// ISO currency code.
    pub currency_code: String,
    /// Price before discount.
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    #[cfg_attr(feature = "openapi", schema(value_type = f64, example = 312.14))]
    pub original_price: Decimal,
}

impl From<&Price> for PriceBody {
    fn from(price: &Price) -> Self {
        Self {
            final_price: price.final_price,
            currency_code: price.currency_code.clone(),
            original_price: price.original_price,
        }
    }
}

/// One pax type of a slot.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaxBody {
    /// Pax type, e.g. `ADULT_12~99`.
    #[serde(rename = "type")]
    pub pax_type: String,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Price.
    pub price: PriceBody,
    /// Minimum count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<u32>,
    /// Maximum count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<u32>,
    /// Seats left for this type.
    pub remaining: u32,
}

impl From<&PaxAvailability> for PaxBody {
    fn from(pax: &PaxAvailability) -> Self {
        Self {
            pax_type: pax.pax_type.clone(),
            name: pax.name.clone(),
            description: pax.description.clone(),
            price: (&pax.price).into(),
            min: pax.min,
            max: pax.max,
            remaining: pax.remaining,
        }
    }
}

/// One slot.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SlotBody {
    /// `HH:MM`.
    #[cfg_attr(feature = "openapi", schema(example = "09:00"))]
    pub start_time: String,
    /// `YYYY-MM-DD`.
    pub start_date: NaiveDate,
    /// The primary pax's price (first pax when none is primary).
    pub price: PriceBody,
    /// Slot capacity left.
    pub remaining: u32,
    /// Pax types in partner order.
    pub pax_availability: Vec<PaxBody>,
}

impl From<&Slot> for SlotBody {
    fn from(slot: &Slot) -> Self {
        Self {
            start_time: slot.start_time.format("%H:%M").to_string(),
            start_date: slot.start_date,
            price: (&slot.primary_pax().price).into(),
            remaining: slot.remaining,
            pax_availability: slot.pax.iter().map(PaxBody::from).collect(),
        }
    }
}

/// `{"slots": [...]}`.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlotsBody {
    /// Slots ordered by start time.
    pub slots: Vec<SlotBody>,
}

/// One bookable date and its lowest price.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DateBody {
    /// The date.
    pub date: NaiveDate,
    /// Lowest primary-pax price among slots with seats left.
    pub price: PriceBody,
}

impl From<&DatePrice> for DateBody {
    fn from(date: &DatePrice) -> Self {
        Self {
            date: date.date,
            price: (&date.price).into(),
        }
    }
}

/// `{"dates": [...]}`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DatesBody {
    /// Dates ascending.
    pub dates: Vec<DateBody>,
}

impl From<&ServedDates> for DatesBody {
    fn from(served: &ServedDates) -> Self {
        Self {
            dates: served.dates.iter().map(DateBody::from).collect(),
        }
    }
}

/// A product with facts derived from synced inventory.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ProductBody {
    /// Partner product id.
    pub id: u32,
    /// Display name.
    pub name: String,
    /// Weekdays with slots: `MONDAY` … `SUNDAY`.
    pub available_days: Vec<String>,
    /// `SINGLE` or `MULTI`.
    #[cfg_attr(feature = "openapi", schema(example = "MULTI"))]
    pub time_slot_type: String,
    /// `ok`, or `unknown` while the partner answers 404 for every date of the product.
    #[cfg_attr(feature = "openapi", schema(example = "ok"))]
    pub partner_status: String,
    /// Whether the product is synced.
    pub enabled: bool,
}

impl From<&ProductView> for ProductBody {
    fn from(view: &ProductView) -> Self {
        Self {
            id: view.product.id.get(),
            name: view.product.name.clone(),
            available_days: view
                .available_days
                .iter()
                .map(|d| weekday_name(*d).to_owned())
                .collect(),
            time_slot_type: match view.time_slot_type {
                TimeSlotType::Single => "SINGLE",
                TimeSlotType::Multi => "MULTI",
            }
            .to_owned(),
            partner_status: view.partner_status.as_str().to_owned(),
            enabled: view.product.enabled,
        }
    }
}

fn weekday_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "MONDAY",
        Weekday::Tue => "TUESDAY",
        Weekday::Wed => "WEDNESDAY",
        Weekday::Thu => "THURSDAY",
        Weekday::Fri => "FRIDAY",
        Weekday::Sat => "SATURDAY",
        Weekday::Sun => "SUNDAY",
    }
}

/// `{"data": …, "statusCode": 200}`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DataEnvelope<T> {
    /// The payload.
    pub data: T,
    /// HTTP status, repeated.
    pub status_code: u16,
}

impl<T> DataEnvelope<T> {
    /// A 200 envelope.
    pub fn ok(data: T) -> Self {
        Self {
            data,
            status_code: 200,
        }
    }
}

/// `{"data": [...], "totalLength", "page", "limit", "statusCode": 200}`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PageEnvelope<T> {
    /// Items of this page.
    pub data: Vec<T>,
    /// Items over all pages.
    pub total_length: u64,
    /// 1-based page.
    pub page: u32,
    /// Page size.
    pub limit: u32,
    /// HTTP status, repeated.
    pub status_code: u16,
}

impl<T> PageEnvelope<T> {
    /// One page of `data` out of `total_length` items.
    pub fn new(data: Vec<T>, total_length: u64, page: PageRequest) -> Self {
        Self {
            data,
            total_length,
            page: page.page,
            limit: page.limit,
            status_code: 200,
        }
    }
}

/// A job with its schedule state.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct JobBody {
    /// Job name.
    pub name: String,
    /// Cron expression in the service time zone.
    pub schedule: String,
    /// Days from today.
    pub window_days: u32,
    /// Whether it is scheduled.
    pub enabled: bool,
    /// Start of the latest run.
    pub last_run_at: Option<DateTime<Utc>>,
    /// Next tick, when enabled.
    pub next_run_at: Option<DateTime<Utc>>,
    /// Status of the latest run.
    pub last_status: Option<String>,
}

impl JobBody {
    /// Combines a job with its latest run and next tick.
    pub fn new(job: &SyncJob, last: Option<&SyncRun>, next: Option<DateTime<Utc>>) -> Self {
        Self {
            name: job.name.clone(),
            schedule: job.schedule.clone(),
            window_days: job.window_days,
            enabled: job.enabled,
            last_run_at: last.map(|run| run.started_at),
            next_run_at: next.filter(|_| job.enabled),
            last_status: last.map(|run| run.status.as_str().to_owned()),
        }
    }
}

/// `202` answer to a trigger: the run id and the run as recorded.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AcceptedRun {
    /// Id of the started run.
    pub run_id: i64,
    /// The same id, for clients that read `id`.
    pub id: i64,
    /// The run as recorded.
    pub data: RunBody,
    /// 202.
    pub status_code: u16,
}

/// Partner budget as seen by this process.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BudgetBody {
    /// Ceiling.
    pub rate_per_minute: u32,
    /// Minimum spacing between calls, in milliseconds.
    pub spacing_ms: u64,
    /// When a partner 429 hold ends.
    pub held_until: Option<DateTime<Utc>>,
}

/// Partner calls spent per minute over the last hour, against the ceiling (the dashboard's
/// budget chart).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BudgetUseBody {
    /// Ceiling.
    pub rate_per_minute: u32,
    /// The last 60 minutes, oldest first, the current (unfinished) one last.
    pub minutes: Vec<MinuteCalls>,
}

/// Calls in one minute.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MinuteCalls {
    /// Start of the minute.
    pub at: DateTime<Utc>,
    /// Partner calls spent in it, by every process sharing the budget.
    pub calls: u32,
}

/// `GET /healthz` and `GET /readyz`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OpsStatusBody {
    /// `ok` (alive) or `ready` (store reachable).
    #[cfg_attr(feature = "openapi", schema(example = "ok"))]
    pub status: String,
}

/// `GET /sync/status`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SyncStatusBody {
    /// Whether partner calls are paused.
    pub paused: bool,
    /// Since when.
    pub paused_at: Option<DateTime<Utc>>,
    /// Tasks waiting.
    pub pending: usize,
    /// Tasks being fetched.
    pub in_flight: usize,
    /// Budget.
    pub partner_budget: BudgetBody,
    /// Latest run of any job.
    pub last_run: Option<RunBody>,
    /// What the freshness targets need of the budget (SPEC §4).
    pub demand: DemandBody,
    /// Per enabled job, how fresh its window is (SPEC §4).
    pub freshness: Vec<JobFreshnessBody>,
    /// Live reads' use of the budget (SPEC §2).
    pub live: LiveBody,
}

/// `PUT /admin/cron/toggle`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ToggleRequest {
    /// Job name.
    pub name: String,
    /// true = enabled.
    pub status: bool,
}

/// `PUT /admin/cron/{name}`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobUpdateRequest {
    /// New cron expression.
    pub schedule: Option<String>,
    /// New window, 1..=62.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 62))]
    pub window_days: Option<u32>,
    /// Enable or disable.
    pub enabled: Option<bool>,
}

/// `PUT /admin/products/{id}`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ProductUpdateRequest {
    /// Display name: 1 to 200 characters, not only whitespace.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = r"\S")
    )]
    pub name: Option<String>,
    /// Whether to sync it.
    pub enabled: Option<bool>,
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use tickete_core::served::slots_body;
    use tickete_core::testing::sample_day;

    use super::*;

    /// The stores keep the slots body encoded by `tickete_core::served`; the schema documented
    /// here (and the CLI's `--json`) must describe the same bytes.
    #[test]
    fn the_documented_slots_body_is_the_served_encoding() {
        let date = NaiveDate::from_ymd_opt(2025, 3, 25).unwrap();
        let mut day = sample_day(date, &["09:00", "14:30"]);
        let mut child = day.slots[0].pax[0].clone();
        child.pax_type = "CHILD_3~11".into();
        child.name = None;
        child.min = None;
        child.is_primary = false;
        child.price.final_price = rust_decimal::Decimal::new(505, 1);
        day.slots[0].pax.insert(0, child);
        let documented = serde_json::to_string(&SlotsBody {
            slots: day.slots.iter().map(SlotBody::from).collect(),
        })
        .unwrap();
        assert_eq!(documented, slots_body(&day.slots));
    }
}
