//! The partner's wire format (SPEC §1) and its validation into a [`DaySnapshot`].
//!
//! Every partner response is treated as hostile: anything that does not match the contract
//! becomes a [`ValidationError`] naming the slot, the field and what was wrong, and nothing
//! is stored.

use std::collections::HashSet;

use chrono::{NaiveDate, NaiveTime};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::domain::{DaySnapshot, PaxAvailability, Price, Slot};

/// A slot as the partner sends it. Unknown fields are ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawSlot {
    /// `YYYY-MM-DD`.
    pub start_date: String,
    /// `HH:MM`.
    pub start_time: String,
    /// `HH:MM`.
    pub end_time: String,
    /// Unique slot id.
    pub provider_slot_id: String,
    /// Slot capacity left.
    pub remaining: i64,
    /// Currency code.
    pub currency_code: Option<String>,
    /// Variant id.
    pub variant_id: i64,
    /// Pax types.
    pub pax_availability: Vec<RawPax>,
}

/// A pax entry as the partner sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawPax {
    /// Pax type, e.g. `ADULT_12~99`.
    #[serde(rename = "type")]
    pub pax_type: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Minimum count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    /// Maximum count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
    /// Seats left.
    pub remaining: i64,
    /// Often missing; missing means false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_primary: Option<bool>,
    /// Price.
    pub price: RawPrice,
}

/// A price as the partner sends it: JSON numbers, read exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawPrice {
    /// Final price.
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    pub final_price: Decimal,
    /// Original price.
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    pub original_price: Decimal,
    /// Discount; missing means 0.
    #[serde(
        default,
        with = "rust_decimal::serde::arbitrary_precision_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub discount: Option<Decimal>,
    /// Currency code.
    pub currency_code: Option<String>,
}

/// Why a partner day was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {problem}")]
pub struct ValidationError {
    /// Where: `slot 2 (225532707686_2025-03-25T05:00) pax 1`.
    pub location: String,
    /// What was wrong.
    pub problem: String,
}

/// Parses a partner body (a JSON array of slots) for `date` and validates it.
pub fn parse_day(body: &[u8], date: NaiveDate) -> Result<DaySnapshot, ValidationError> {
    let raw: Vec<RawSlot> = serde_json::from_slice(body).map_err(|e| ValidationError {
        location: "body".into(),
        // serde quotes what it refused, which may be a megabyte of partner text.
        problem: format!(
            "not a JSON array of partner slots: {}",
            excerpt_of(&e.to_string(), 200)
        ),
    })?;
    validate_day(date, raw)
}

/// Turns the raw partner answer for `date` into a snapshot, or says precisely what was wrong.
pub fn validate_day(date: NaiveDate, raw: Vec<RawSlot>) -> Result<DaySnapshot, ValidationError> {
    let mut seen_ids = HashSet::new();
    let mut slots = Vec::with_capacity(raw.len());
    for (index, raw_slot) in raw.into_iter().enumerate() {
        let location = format!("slot {index} ({})", excerpt(&raw_slot.provider_slot_id));
        let slot = validate_slot(date, raw_slot).map_err(|problem| ValidationError {
            location: location.clone(),
            problem,
        })?;
        if !seen_ids.insert(slot.provider_slot_id.clone()) {
            return Err(ValidationError {
                location,
                problem: "providerSlotId appears twice in the day".into(),
            });
        }
        slots.push(slot);
    }
    let day = DaySnapshot::new(date, slots);
    check_text(&day)?;
    Ok(day)
}

/// Refuses a day whose text holds control characters: NUL (which Postgres cannot store and
/// SQLite would keep and serve) or any other C0/C1 control or DEL. Free text (`name`,
/// `description`) may carry tab, line feed and carriage return; identifiers, pax types and
/// currency codes may not.
///
/// [`validate_day`] applies it to partner answers, and the engine applies it to every day a
/// source returns before any store sees it, so the rule is the same whatever the source and
/// the store.
pub fn check_text(day: &DaySnapshot) -> Result<(), ValidationError> {
    for (index, slot) in day.slots.iter().enumerate() {
        let location = || format!("slot {index} ({})", excerpt(&slot.provider_slot_id));
        let refuse = |problem: String| ValidationError {
            location: location(),
            problem,
        };
        token_text("providerSlotId", &slot.provider_slot_id).map_err(refuse)?;
        token_text("currencyCode", &slot.currency_code).map_err(refuse)?;
        for (pax_index, pax) in slot.pax.iter().enumerate() {
            let in_pax = |problem: String| refuse(format!("pax {pax_index}: {problem}"));
            token_text("type", &pax.pax_type).map_err(in_pax)?;
            token_text("price.currencyCode", &pax.price.currency_code).map_err(in_pax)?;
            for (field, value) in [("name", &pax.name), ("description", &pax.description)] {
                if let Some(value) = value {
                    free_text(field, value).map_err(in_pax)?;
                }
            }
        }
    }
    Ok(())
}

fn token_text(field: &str, value: &str) -> Result<(), String> {
    match value.chars().find(|c| c.is_control()) {
        Some(c) => Err(control_problem(field, c)),
        None => Ok(()),
    }
}

fn free_text(field: &str, value: &str) -> Result<(), String> {
    match value
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        Some(c) => Err(control_problem(field, c)),
        None => Ok(()),
    }
}

fn control_problem(field: &str, c: char) -> String {
    format!(
        "{field} contains the control character U+{:04X}; partner text must be printable",
        u32::from(c)
    )
}

fn validate_slot(date: NaiveDate, raw: RawSlot) -> Result<Slot, String> {
    if raw.provider_slot_id.trim().is_empty() {
        return Err("providerSlotId is empty".into());
    }
    let start_date = NaiveDate::parse_from_str(&raw.start_date, "%Y-%m-%d")
        .map_err(|_| format!("startDate `{}` is not YYYY-MM-DD", excerpt(&raw.start_date)))?;
    if start_date != date {
        return Err(format!(
            "startDate {start_date} is not the requested date {date}"
        ));
    }
    let start_time = parse_time("startTime", &raw.start_time)?;
    let end_time = parse_time("endTime", &raw.end_time)?;
    let remaining = count("remaining", raw.remaining)?;
    let currency_code = currency("currencyCode", raw.currency_code)?;
    if raw.pax_availability.is_empty() {
        return Err("paxAvailability is empty; at least one pax type is required".into());
    }
    let mut seen_types = HashSet::new();
    let mut pax = Vec::with_capacity(raw.pax_availability.len());
    for (index, raw_pax) in raw.pax_availability.into_iter().enumerate() {
        let entry = validate_pax(raw_pax).map_err(|problem| format!("pax {index}: {problem}"))?;
        if !seen_types.insert(entry.pax_type.clone()) {
            return Err(format!(
                "pax {index}: type `{}` appears twice in the slot",
                excerpt(&entry.pax_type)
            ));
        }
        pax.push(entry);
    }
    Ok(Slot {
        provider_slot_id: raw.provider_slot_id,
        start_date,
        start_time,
        end_time,
        remaining,
        currency_code,
        variant_id: raw.variant_id,
        pax,
    })
}

fn validate_pax(raw: RawPax) -> Result<PaxAvailability, String> {
    if raw.pax_type.trim().is_empty() {
        return Err("type is empty".into());
    }
    Ok(PaxAvailability {
        min: raw.min.map(|v| count("min", v)).transpose()?,
        max: raw.max.map(|v| count("max", v)).transpose()?,
        remaining: count("remaining", raw.remaining)?,
        is_primary: raw.is_primary.unwrap_or(false),
        price: Price {
            final_price: money("price.finalPrice", raw.price.final_price)?,
            original_price: money("price.originalPrice", raw.price.original_price)?,
            discount: money("price.discount", raw.price.discount.unwrap_or_default())?,
            currency_code: currency("price.currencyCode", raw.price.currency_code)?,
        },
        pax_type: raw.pax_type,
        name: raw.name,
        description: raw.description,
    })
}

fn parse_time(field: &str, value: &str) -> Result<NaiveTime, String> {
    let well_formed = value.len() == 5 && value.as_bytes()[2] == b':';
    well_formed
        .then(|| NaiveTime::parse_from_str(value, "%H:%M").ok())
        .flatten()
        .ok_or_else(|| format!("{field} `{}` is not HH:MM (24 h)", excerpt(value)))
}

fn count(field: &str, value: i64) -> Result<u32, String> {
    u32::try_from(value).map_err(|_| format!("{field} {value} is not a count ≥ 0"))
}

fn currency(field: &str, value: Option<String>) -> Result<String, String> {
    match value {
        Some(code) if !code.trim().is_empty() && code.len() <= 8 => Ok(code),
        Some(code) => Err(format!(
            "{field} `{}` is not a currency code",
            excerpt(&code)
        )),
        None => Err(format!("{field} is missing")),
    }
}

/// Largest price we accept; far above any real ticket, small enough for every store column.
const MAX_PRICE: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 0);

fn money(field: &str, value: Decimal) -> Result<Decimal, String> {
    if value.is_sign_negative() && !value.is_zero() {
        return Err(format!("{field} {value} is negative"));
    }
    if value.normalize().scale() > 2 {
        return Err(format!("{field} {value} has more than 2 decimals"));
    }
    if value >= MAX_PRICE {
        return Err(format!("{field} {value} is implausibly large"));
    }
    Ok(value)
}

/// At most 60 characters of partner text for a message, control characters escaped
/// (`\u{0}`), so an error line or a log line never carries them.
fn excerpt(text: &str) -> String {
    excerpt_of(text, 60)
}

fn excerpt_of(text: &str, max: usize) -> String {
    let mut out = String::new();
    for c in text.chars().take(max) {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if text.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}
