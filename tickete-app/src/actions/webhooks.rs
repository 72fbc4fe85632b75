//! Webhook subscriptions and their delivery log (SPEC §6): list, add, show, update, remove,
//! rotate the secret, list deliveries, retry one.

use tickete_core::feed::{parse_types, EventType, Webhook, WebhookPatch};
use tickete_core::PageRequest;

use super::Actions;
use crate::error::ActionError;
use crate::feed::{check_webhook_url, new_secret};
use crate::views::PageEnvelope;
use crate::webhook_views::{
    DeliveryBody, WebhookBody, WebhookCreateRequest, WebhookCreated, WebhookUpdateRequest,
};

/// Longest description, in characters.
const MAX_DESCRIPTION_CHARS: usize = 500;

fn check_events(events: Option<&[String]>) -> Result<Option<Vec<EventType>>, ActionError> {
    events
        .map(|names| {
            if names.len() > EventType::ALL.len() * 4 {
                return Err(ActionError::Invalid("events: too many entries".into()));
            }
            parse_types(&names.join(",")).map_err(|e| ActionError::Invalid(format!("events: {e}")))
        })
        .transpose()
}

fn check_description(text: &str) -> Result<(), ActionError> {
    if text.chars().count() > MAX_DESCRIPTION_CHARS || text.chars().any(char::is_control) {
        return Err(ActionError::Invalid(format!(
            "description must be at most {MAX_DESCRIPTION_CHARS} characters without control \
             characters"
        )));
    }
    Ok(())
}

/// Webhook ids are `wh_` and hex; anything else cannot exist (answered 404 without a lookup
/// of arbitrary text).
fn check_id(id: &str, prefix: &str) -> Result<(), ActionError> {
    let ok = id.len() <= 64
        && id
            .strip_prefix(prefix)
            .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_hexdigit()));
    if ok {
        Ok(())
    } else {
        let noun = if prefix == "wh_" {
            "webhook"
        } else {
            "delivery"
        };
        Err(tickete_core::StoreError::NotFound(format!("{noun} {id}")).into())
    }
}

fn created(webhook: &Webhook) -> WebhookCreated {
    WebhookCreated {
        webhook: WebhookBody::from(webhook),
        secret: webhook.secret.expose().to_owned(),
    }
}

impl Actions {
    /// Webhooks in creation order, one page, without secrets.
    pub async fn list_webhooks(
        &self,
        page: PageRequest,
    ) -> Result<PageEnvelope<WebhookBody>, ActionError> {
        let found = self.engine.webhooks().list_webhooks(page).await?;
        let data = found.items.iter().map(WebhookBody::from).collect();
        Ok(PageEnvelope::new(data, found.total, page))
    }

    /// One webhook, without its secret.
    pub async fn get_webhook(&self, id: &str) -> Result<WebhookBody, ActionError> {
        check_id(id, "wh_")?;
        Ok(WebhookBody::from(
            &self.engine.webhooks().get_webhook(id).await?,
        ))
    }

    /// Adds a webhook with a new secret (shown in the answer only); it receives events
    /// recorded from now on.
    pub async fn create_webhook(
        &self,
        request: WebhookCreateRequest,
    ) -> Result<WebhookCreated, ActionError> {
        let url = check_webhook_url(&request.url, self.allow_private_webhooks).await?;
        let events = check_events(request.events.as_deref())?.unwrap_or_default();
        if let Some(description) = &request.description {
            check_description(description)?;
        }
        let webhook = Webhook {
            id: format!("wh_{:024x}", rand::random::<u128>() >> 32),
            url: url.to_string(),
            events,
            description: request.description.filter(|d| !d.is_empty()),
            enabled: true,
            secret: new_secret(),
            created_at: self.engine.clock().now(),
            failing_since: None,
        };
        let stored = self.engine.webhooks().create_webhook(&webhook).await?;
        tracing::info!(webhook = %stored.id, url = %crate::feed::guard::redacted(&stored.url), "webhook created");
        Ok(created(&stored))
    }

    /// Changes a webhook's URL, types, description or enabled flag.
    pub async fn update_webhook(
        &self,
        id: &str,
        request: WebhookUpdateRequest,
    ) -> Result<WebhookBody, ActionError> {
        check_id(id, "wh_")?;
        let url = match &request.url {
            Some(url) => Some(
                check_webhook_url(url, self.allow_private_webhooks)
                    .await?
                    .to_string(),
            ),
            None => None,
        };
        if let Some(description) = &request.description {
            check_description(description)?;
        }
        let patch = WebhookPatch {
            url,
            events: check_events(request.events.as_deref())?,
            description: request
                .description
                .map(|d| Some(d).filter(|d| !d.is_empty())),
            enabled: request.enabled,
            secret: None,
        };
        let webhook = self.engine.webhooks().update_webhook(id, &patch).await?;
        Ok(WebhookBody::from(&webhook))
    }

    /// Removes a webhook and its delivery log.
    pub async fn delete_webhook(&self, id: &str) -> Result<(), ActionError> {
        check_id(id, "wh_")?;
        self.engine.webhooks().delete_webhook(id).await?;
        Ok(())
    }

    /// Replaces a webhook's secret with a new one, shown in the answer only.
    pub async fn rotate_webhook_secret(&self, id: &str) -> Result<WebhookCreated, ActionError> {
        check_id(id, "wh_")?;
        let patch = WebhookPatch {
            secret: Some(new_secret()),
            ..WebhookPatch::default()
        };
        let webhook = self.engine.webhooks().update_webhook(id, &patch).await?;
        tracing::info!(webhook = %webhook.id, "webhook secret rotated");
        Ok(created(&webhook))
    }

    /// A webhook's deliveries, newest event first.
    pub async fn list_deliveries(
        &self,
        id: &str,
        page: PageRequest,
    ) -> Result<PageEnvelope<DeliveryBody>, ActionError> {
        check_id(id, "wh_")?;
        let found = self.engine.webhooks().list_deliveries(id, page).await?;
        let data = found.items.iter().map(DeliveryBody::from).collect();
        Ok(PageEnvelope::new(data, found.total, page))
    }

    /// Makes a delivery pending again, due now.
    pub async fn retry_delivery(
        &self,
        id: &str,
        delivery: &str,
    ) -> Result<DeliveryBody, ActionError> {
        check_id(id, "wh_")?;
        check_id(delivery, "dlv_")?;
        let now = self.engine.clock().now();
        let retried = self
            .engine
            .webhooks()
            .retry_delivery(id, delivery, now)
            .await?;
        Ok(DeliveryBody::from(&retried))
    }
}
