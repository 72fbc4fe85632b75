//! The bodies of the webhook admin actions (SPEC §6), shared by the API, the CLI and the
//! dashboard. Secrets appear only in [`WebhookCreated`] (create and rotate).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tickete_core::feed::{Delivery, Webhook};

/// A webhook without its secret.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WebhookBody {
    /// `wh_…`.
    pub id: String,
    /// Where events are posted.
    pub url: String,
    /// Event types delivered; empty means every type.
    pub events: Vec<String>,
    /// Free text.
    pub description: Option<String>,
    /// Whether deliveries are attempted.
    pub enabled: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Since when every attempt has failed (5 days of it disable the webhook).
    pub failing_since: Option<DateTime<Utc>>,
}

impl From<&Webhook> for WebhookBody {
    fn from(webhook: &Webhook) -> Self {
        Self {
            id: webhook.id.clone(),
            url: webhook.url.clone(),
            events: webhook
                .events
                .iter()
                .map(|t| t.as_str().to_owned())
                .collect(),
            description: webhook.description.clone(),
            enabled: webhook.enabled,
            created_at: webhook.created_at,
            failing_since: webhook.failing_since,
        }
    }
}

/// A webhook with its secret: only the answer of create and rotate-secret.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WebhookCreated {
    /// The webhook.
    #[serde(flatten)]
    pub webhook: WebhookBody,
    /// `whsec_…`: shown this once; sign-check deliveries with it.
    pub secret: String,
}

impl std::fmt::Debug for WebhookCreated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookCreated")
            .field("webhook", &self.webhook)
            .field("secret", &"***")
            .finish()
    }
}

/// One event to one webhook.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DeliveryBody {
    /// `dlv_…`.
    pub id: String,
    /// The event (`webhook-id`).
    pub event_id: String,
    /// The event type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Attempts made.
    pub attempts: u32,
    /// `pending`, `succeeded` or `failed`.
    pub status: String,
    /// HTTP status of the last attempt, when the endpoint answered.
    pub last_response_status: Option<u16>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When the next attempt is due.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When a 2xx was received.
    pub delivered_at: Option<DateTime<Utc>>,
}

impl From<&Delivery> for DeliveryBody {
    fn from(delivery: &Delivery) -> Self {
        Self {
            id: delivery.id.clone(),
            event_id: delivery.event_id.clone(),
            kind: delivery.kind.as_str().to_owned(),
            attempts: delivery.attempts,
            status: delivery.status.as_str().to_owned(),
            last_response_status: delivery.last_response_status,
            last_error: delivery.last_error.clone(),
            next_attempt_at: delivery.next_attempt_at,
            delivered_at: delivery.delivered_at,
        }
    }
}

/// `POST /admin/webhooks`.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WebhookCreateRequest {
    /// `http(s)` URL; private and loopback addresses are refused by default.
    pub url: String,
    /// Event types (`availability.changed`, `sync.run.finished`); absent or empty: all.
    pub events: Option<Vec<String>>,
    /// Free text, up to 500 characters.
    pub description: Option<String>,
}

/// `PUT /admin/webhooks/{id}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WebhookUpdateRequest {
    /// New URL.
    pub url: Option<String>,
    /// New event types (empty: all).
    pub events: Option<Vec<String>>,
    /// New description (`""` clears it).
    pub description: Option<String>,
    /// Enable or disable; enabling ends a failing streak.
    pub enabled: Option<bool>,
}
