//! The feed's store capabilities: the event outbox ([`Events`]) and webhook subscriptions with
//! their deliveries ([`Webhooks`]).

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::event::{Event, EventType, NewEvent};
use crate::store::{Page, PageRequest, StoreError};

/// How long events are kept (SPEC §6).
pub const EVENT_RETENTION_DAYS: i64 = 7;

/// The event outbox. `availability.changed` events are written by `apply_day`/`apply_days`
/// themselves, in the transaction of the change; other events are appended here.
#[async_trait]
pub trait Events: Send + Sync + 'static {
    /// Appends an event (e.g. `sync.run.finished`); returns it with its sequence.
    async fn append_event(&self, event: &NewEvent) -> Result<Event, StoreError>;

    /// Up to `limit` events with a sequence above `after`, ascending, of the given types
    /// (every type when `types` is empty).
    async fn events_after(
        &self,
        after: u64,
        types: &[EventType],
        limit: u32,
    ) -> Result<Vec<Event>, StoreError>;

    /// The highest sequence written so far (0 when none).
    async fn latest_event_seq(&self) -> Result<u64, StoreError>;

    /// Removes events recorded before `before`, and the settled deliveries of removed
    /// events; returns how many events.
    async fn prune_events(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// A webhook signing secret (`whsec_` + base64 of random bytes). `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    /// Wraps a stored secret.
    pub fn new(secret: String) -> Self {
        Self(secret)
    }

    /// The secret itself, for signing and for the one response that shows it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(***)")
    }
}

/// A webhook subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// `wh_…`.
    pub id: String,
    /// Where events are posted.
    pub url: String,
    /// Types delivered; empty means every type.
    pub events: Vec<EventType>,
    /// Free text.
    pub description: Option<String>,
    /// Disabled endpoints get no attempts (their deliveries wait).
    pub enabled: bool,
    /// Signing secret.
    pub secret: WebhookSecret,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Since when every attempt has failed (cleared by a success).
    pub failing_since: Option<DateTime<Utc>>,
}

impl Webhook {
    /// Whether events of `kind` go to this endpoint.
    pub fn wants(&self, kind: EventType) -> bool {
        self.events.is_empty() || self.events.contains(&kind)
    }
}

/// A change to a webhook; `None` leaves the field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookPatch {
    /// New URL (checked by the caller).
    pub url: Option<String>,
    /// New event types.
    pub events: Option<Vec<EventType>>,
    /// New description (`Some(None)` clears it).
    pub description: Option<Option<String>>,
    /// Enable or disable; enabling clears `failing_since`.
    pub enabled: Option<bool>,
    /// New secret (rotation).
    pub secret: Option<WebhookSecret>,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// A 2xx was received.
    Succeeded,
    /// Every attempt of the schedule failed.
    Failed,
}

impl DeliveryStatus {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "pending" => Ok(Self::Pending),
            "succeeded" => Ok(Self::Succeeded),
            "failed" => Ok(Self::Failed),
            other => Err(StoreError::Corrupt(format!("delivery status `{other}`"))),
        }
    }
}

/// One event to one webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// `dlv_…`.
    pub id: String,
    /// The webhook.
    pub webhook_id: String,
    /// The event's sequence.
    pub event_seq: u64,
    /// The event's id (`webhook-id`).
    pub event_id: String,
    /// The event's type.
    pub kind: EventType,
    /// Attempts made.
    pub attempts: u32,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// HTTP status of the last attempt, when one answered.
    pub last_response_status: Option<u16>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When the next attempt is due (pending only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When a 2xx was received.
    pub delivered_at: Option<DateTime<Utc>>,
}

/// A delivery claimed for one attempt, with what the attempt needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDelivery {
    /// The delivery (attempts before this one).
    pub delivery: Delivery,
    /// The endpoint.
    pub url: String,
    /// The signing secret.
    pub secret: WebhookSecret,
    /// The event body to post; `None` when the event was pruned.
    pub body: Option<String>,
}

/// The result of one attempt, as the delivery worker decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptResult {
    /// A 2xx arrived.
    Delivered {
        /// The status.
        status: u16,
    },
    /// The attempt failed; `retry_at` is the next attempt, `None` when the schedule is spent.
    Failed {
        /// The status, when the endpoint answered.
        status: Option<u16>,
        /// What went wrong.
        error: String,
        /// The next attempt.
        retry_at: Option<DateTime<Utc>>,
    },
}

/// Webhook subscriptions and their deliveries. Ordering: a delivery of an event about
/// (product, date) is never claimed while an earlier event of the same (product, date) is still
/// pending for the same webhook.
#[async_trait]
pub trait Webhooks: Send + Sync + 'static {
    /// Stores a new webhook; it receives events recorded from now on.
    async fn create_webhook(&self, webhook: &Webhook) -> Result<Webhook, StoreError>;

    /// Webhooks ordered by creation.
    async fn list_webhooks(&self, page: PageRequest) -> Result<Page<Webhook>, StoreError>;

    /// One webhook; `NotFound` when unknown.
    async fn get_webhook(&self, id: &str) -> Result<Webhook, StoreError>;

    /// Changes a webhook; `NotFound` when unknown.
    async fn update_webhook(&self, id: &str, patch: &WebhookPatch) -> Result<Webhook, StoreError>;

    /// Removes a webhook and its deliveries; `NotFound` when unknown.
    async fn delete_webhook(&self, id: &str) -> Result<(), StoreError>;

    /// A webhook's deliveries, newest event first; `NotFound` for an unknown webhook.
    async fn list_deliveries(
        &self,
        webhook: &str,
        page: PageRequest,
    ) -> Result<Page<Delivery>, StoreError>;

    /// Makes a delivery pending again (whatever its status), due at `now`; `NotFound` when
    /// unknown.
    async fn retry_delivery(
        &self,
        webhook: &str,
        delivery: &str,
        now: DateTime<Utc>,
    ) -> Result<Delivery, StoreError>;

    /// Creates the deliveries of events recorded since each enabled webhook last looked, due at
    /// `now`; returns how many.
    async fn fan_out(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Claims up to `limit` due deliveries of enabled webhooks (each at the head of its
    /// (product, date) line, none claimed by someone else before `now`) until `lease_until`.
    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ClaimedDelivery>, StoreError>;

    /// Releases every claim: a single node at start, whose previous process (which held them)
    /// is gone, so its interrupted attempts are made again at once; returns how many.
    async fn release_claims(&self) -> Result<u64, StoreError>;

    /// Records an attempt of a claimed delivery and releases it. A failure starts (or keeps)
    /// the webhook's failing streak; a webhook failing since `disable_before` or earlier is
    /// disabled. A success ends the streak.
    async fn finish_attempt(
        &self,
        delivery: &str,
        result: &AttemptResult,
        now: DateTime<Utc>,
        disable_before: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}
