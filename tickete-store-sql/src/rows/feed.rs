//! Rows of `events`, `webhooks` and `deliveries`.

use chrono::{DateTime, NaiveDate, Utc};
use tickete_core::feed::{
    parse_types, ClaimedDelivery, Delivery, DeliveryStatus, Event, Webhook, WebhookSecret,
};
use tickete_core::StoreError;

use crate::stored::{load_optional, Stored};
use crate::{corrupt, product_id};

/// The columns of [`EventRow`].
pub const EVENT_COLUMNS: &str = "seq, id, type, product_id, day, created_at, body";

/// The columns of [`WebhookRow`].
pub const WEBHOOK_COLUMNS: &str =
    "id, url, events, description, enabled, secret, created_at, failing_since";

/// The columns of [`DeliveryRow`], of `deliveries AS d`.
pub const DELIVERY_COLUMNS: &str = "d.id, d.webhook_id, d.event_seq, d.event_id, d.type, \
     d.attempts, d.status, d.last_response_status, d.last_error, d.next_attempt_at, d.delivered_at";

/// A row of `events`, with its day stored as `D` and its instant as `I`.
#[derive(sqlx::FromRow)]
pub struct EventRow<D, I> {
    seq: i64,
    id: String,
    #[sqlx(rename = "type")]
    kind: String,
    product_id: Option<i64>,
    day: Option<D>,
    created_at: I,
    body: String,
}

impl<D: Stored<NaiveDate>, I: Stored<DateTime<Utc>>> EventRow<D, I> {
    /// The event.
    pub fn into_event(self) -> Result<Event, StoreError> {
        let subject = match (self.product_id, self.day) {
            (Some(product), Some(day)) => Some((product_id(product)?, day.load()?)),
            _ => None,
        };
        Ok(Event {
            seq: sequence(self.seq)?,
            id: self.id,
            kind: self.kind.parse().map_err(corrupt)?,
            timestamp: self.created_at.load()?,
            subject,
            body: self.body,
        })
    }
}

fn sequence(seq: i64) -> Result<u64, StoreError> {
    u64::try_from(seq).map_err(|_| corrupt(format!("event seq {seq}")))
}

/// A row of `webhooks`, with its instants stored as `I`.
#[derive(sqlx::FromRow)]
pub struct WebhookRow<I> {
    id: String,
    url: String,
    events: String,
    description: Option<String>,
    enabled: bool,
    secret: String,
    created_at: I,
    failing_since: Option<I>,
}

impl<I: Stored<DateTime<Utc>>> WebhookRow<I> {
    /// The webhook.
    pub fn into_webhook(self) -> Result<Webhook, StoreError> {
        Ok(Webhook {
            id: self.id,
            url: self.url,
            events: parse_types(&self.events).map_err(corrupt)?,
            description: self.description,
            enabled: self.enabled,
            secret: WebhookSecret::new(self.secret),
            created_at: self.created_at.load()?,
            failing_since: load_optional(self.failing_since)?,
        })
    }
}

/// A row of `deliveries`, with its instants stored as `I` and small integers as `N`.
#[derive(sqlx::FromRow)]
pub struct DeliveryRow<I, N> {
    /// The delivery's id (a claim marks it by this).
    pub id: String,
    webhook_id: String,
    event_seq: i64,
    event_id: String,
    #[sqlx(rename = "type")]
    kind: String,
    attempts: N,
    status: String,
    last_response_status: Option<N>,
    last_error: Option<String>,
    next_attempt_at: Option<I>,
    delivered_at: Option<I>,
}

impl<I: Stored<DateTime<Utc>>, N: Stored<i64>> DeliveryRow<I, N> {
    /// The delivery.
    pub fn into_delivery(self) -> Result<Delivery, StoreError> {
        let attempts = self.attempts.load()?;
        let last_status = load_optional(self.last_response_status)?;
        Ok(Delivery {
            id: self.id,
            webhook_id: self.webhook_id,
            event_seq: sequence(self.event_seq)?,
            event_id: self.event_id,
            kind: self.kind.parse().map_err(corrupt)?,
            attempts: u32::try_from(attempts)
                .map_err(|_| corrupt(format!("attempts {attempts}")))?,
            status: DeliveryStatus::parse(&self.status)?,
            last_response_status: last_status
                .map(|s| u16::try_from(s).map_err(|_| corrupt(format!("HTTP status {s}"))))
                .transpose()?,
            last_error: self.last_error,
            next_attempt_at: load_optional(self.next_attempt_at)?,
            delivered_at: load_optional(self.delivered_at)?,
        })
    }
}

/// A due delivery with what its attempt needs.
#[derive(sqlx::FromRow)]
pub struct ClaimRow<I, N> {
    /// The delivery.
    #[sqlx(flatten)]
    pub delivery: DeliveryRow<I, N>,
    url: String,
    secret: String,
    body: Option<String>,
}

impl<I: Stored<DateTime<Utc>>, N: Stored<i64>> ClaimRow<I, N> {
    /// The claimed delivery.
    pub fn into_claimed(self) -> Result<ClaimedDelivery, StoreError> {
        Ok(ClaimedDelivery {
            delivery: self.delivery.into_delivery()?,
            url: self.url,
            secret: WebhookSecret::new(self.secret),
            body: self.body,
        })
    }
}
