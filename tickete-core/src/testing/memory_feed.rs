//! The feed capabilities of [`MemoryStore`]: the outbox, webhooks and deliveries, kept under
//! the store's one lock (so an applied change and its event are one atomic step).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::memory_store::page_of;
use super::MemoryStore;
use crate::domain::{DaySnapshot, ProductId};
use crate::feed::{
    AttemptResult, ClaimedDelivery, Delivery, DeliveryStatus, Event, EventType, Events, NewEvent,
    Webhook, WebhookPatch, Webhooks,
};
use crate::served::EncodedDay;
use crate::store::{Page, PageRequest, StoreError};

#[derive(Debug, Default)]
pub(super) struct FeedState {
    events: Vec<Event>,
    last_seq: u64,
    /// Webhooks in creation order, each with the last sequence fanned out to it.
    webhooks: Vec<(Webhook, u64)>,
    deliveries: Vec<(Delivery, Option<DateTime<Utc>>)>,
    last_delivery: u64,
}

impl FeedState {
    pub(super) fn record_change(
        &mut self,
        product: ProductId,
        snapshot: &DaySnapshot,
        synced_at: DateTime<Utc>,
    ) {
        let encoded = EncodedDay::of(&snapshot.slots);
        let event = NewEvent::availability_changed(
            product,
            snapshot.date,
            &snapshot.slots,
            &encoded,
            synced_at,
        );
        self.append(&event);
    }

    fn append(&mut self, event: &NewEvent) -> Event {
        self.last_seq += 1;
        let stored = Event {
            seq: self.last_seq,
            id: event.id.clone(),
            kind: event.kind,
            timestamp: event.timestamp,
            subject: event.subject,
            body: event.body.clone(),
        };
        self.events.push(stored.clone());
        stored
    }

    fn webhook(&mut self, id: &str) -> Result<&mut (Webhook, u64), StoreError> {
        self.webhooks
            .iter_mut()
            .find(|(webhook, _)| webhook.id == id)
            .ok_or_else(|| StoreError::NotFound(format!("webhook {id}")))
    }

    fn subject_of(&self, seq: u64) -> Option<(ProductId, chrono::NaiveDate)> {
        self.events
            .iter()
            .find(|event| event.seq == seq)
            .and_then(|event| event.subject)
    }
}

#[async_trait]
impl Events for MemoryStore {
    async fn append_event(&self, event: &NewEvent) -> Result<Event, StoreError> {
        self.with(|s| Ok(s.feed.append(event)))
    }

    async fn events_after(
        &self,
        after: u64,
        types: &[EventType],
        limit: u32,
    ) -> Result<Vec<Event>, StoreError> {
        self.with(|s| {
            Ok(s.feed
                .events
                .iter()
                .filter(|e| e.seq > after && (types.is_empty() || types.contains(&e.kind)))
                .take(limit as usize)
                .cloned()
                .collect())
        })
    }

    async fn latest_event_seq(&self) -> Result<u64, StoreError> {
        self.with(|s| Ok(s.feed.last_seq))
    }

    async fn prune_events(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.with(|s| {
            let kept = s.feed.events.len();
            s.feed.events.retain(|e| e.timestamp >= before);
            let feed = &mut s.feed;
            let events = &feed.events;
            feed.deliveries.retain(|(d, _)| {
                d.status == DeliveryStatus::Pending || events.iter().any(|e| e.seq == d.event_seq)
            });
            Ok((kept - feed.events.len()) as u64)
        })
    }
}

#[async_trait]
impl Webhooks for MemoryStore {
    async fn create_webhook(&self, webhook: &Webhook) -> Result<Webhook, StoreError> {
        self.with(|s| {
            if s.feed.webhooks.iter().any(|(w, _)| w.id == webhook.id) {
                return Err(StoreError::Conflict(format!(
                    "webhook {} exists",
                    webhook.id
                )));
            }
            let cursor = s.feed.last_seq;
            s.feed.webhooks.push((webhook.clone(), cursor));
            Ok(webhook.clone())
        })
    }

    async fn list_webhooks(&self, page: PageRequest) -> Result<Page<Webhook>, StoreError> {
        self.with(|s| {
            let all = s.feed.webhooks.iter().map(|(w, _)| w.clone()).collect();
            Ok(page_of(all, page))
        })
    }

    async fn get_webhook(&self, id: &str) -> Result<Webhook, StoreError> {
        self.with(|s| Ok(s.feed.webhook(id)?.0.clone()))
    }

    async fn update_webhook(&self, id: &str, patch: &WebhookPatch) -> Result<Webhook, StoreError> {
        self.with(|s| {
            let (webhook, _) = s.feed.webhook(id)?;
            if let Some(url) = &patch.url {
                webhook.url = url.clone();
            }
            if let Some(events) = &patch.events {
                webhook.events = events.clone();
            }
            if let Some(description) = &patch.description {
                webhook.description = description.clone();
            }
            if let Some(enabled) = patch.enabled {
                if enabled && !webhook.enabled {
                    webhook.failing_since = None;
                }
                webhook.enabled = enabled;
            }
            if let Some(secret) = &patch.secret {
                webhook.secret = secret.clone();
            }
            Ok(webhook.clone())
        })
    }

    async fn delete_webhook(&self, id: &str) -> Result<(), StoreError> {
        self.with(|s| {
            s.feed.webhook(id)?;
            s.feed.webhooks.retain(|(w, _)| w.id != id);
            s.feed.deliveries.retain(|(d, _)| d.webhook_id != id);
            Ok(())
        })
    }

    async fn list_deliveries(
        &self,
        webhook: &str,
        page: PageRequest,
    ) -> Result<Page<Delivery>, StoreError> {
        self.with(|s| {
            s.feed.webhook(webhook)?;
            let mut all: Vec<Delivery> = s
                .feed
                .deliveries
                .iter()
                .filter(|(d, _)| d.webhook_id == webhook)
                .map(|(d, _)| d.clone())
                .collect();
            all.sort_by_key(|d| std::cmp::Reverse(d.event_seq));
            Ok(page_of(all, page))
        })
    }

    async fn retry_delivery(
        &self,
        webhook: &str,
        delivery: &str,
        now: DateTime<Utc>,
    ) -> Result<Delivery, StoreError> {
        self.with(|s| {
            s.feed.webhook(webhook)?;
            let (found, lease) = s
                .feed
                .deliveries
                .iter_mut()
                .find(|(d, _)| d.id == delivery && d.webhook_id == webhook)
                .ok_or_else(|| StoreError::NotFound(format!("delivery {delivery}")))?;
            found.status = DeliveryStatus::Pending;
            found.next_attempt_at = Some(now);
            *lease = None;
            Ok(found.clone())
        })
    }

    async fn fan_out(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.with(|s| {
            let feed = &mut s.feed;
            let mut created = 0;
            for (webhook, cursor) in feed.webhooks.iter_mut().filter(|(w, _)| w.enabled) {
                for event in feed.events.iter().filter(|e| e.seq > *cursor) {
                    if webhook.wants(event.kind) {
                        feed.last_delivery += 1;
                        created += 1;
                        let delivery = Delivery {
                            id: format!("dlv_{:016x}", feed.last_delivery),
                            webhook_id: webhook.id.clone(),
                            event_seq: event.seq,
                            event_id: event.id.clone(),
                            kind: event.kind,
                            attempts: 0,
                            status: DeliveryStatus::Pending,
                            last_response_status: None,
                            last_error: None,
                            next_attempt_at: Some(now),
                            delivered_at: None,
                        };
                        feed.deliveries.push((delivery, None));
                    }
                }
                *cursor = feed.last_seq;
            }
            Ok(created)
        })
    }

    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        self.with(|s| {
            let feed = &mut s.feed;
            let mut claimed = Vec::new();
            for index in 0..feed.deliveries.len() {
                if claimed.len() >= limit as usize {
                    break;
                }
                let (delivery, lease) = &feed.deliveries[index];
                let due = delivery.status == DeliveryStatus::Pending
                    && delivery.next_attempt_at.is_some_and(|at| at <= now)
                    && lease.is_none_or(|until| until <= now);
                let Some((webhook, _)) = feed
                    .webhooks
                    .iter()
                    .find(|(w, _)| w.id == delivery.webhook_id && w.enabled)
                else {
                    continue;
                };
                if !due {
                    continue;
                }
                let subject = feed.subject_of(delivery.event_seq);
                let blocked = subject.is_some()
                    && feed.deliveries.iter().any(|(other, _)| {
                        other.webhook_id == delivery.webhook_id
                            && other.status == DeliveryStatus::Pending
                            && other.event_seq < delivery.event_seq
                            && feed.subject_of(other.event_seq) == subject
                    });
                if blocked {
                    continue;
                }
                let body = feed
                    .events
                    .iter()
                    .find(|e| e.seq == delivery.event_seq)
                    .map(|e| e.body.clone());
                claimed.push(ClaimedDelivery {
                    delivery: delivery.clone(),
                    url: webhook.url.clone(),
                    secret: webhook.secret.clone(),
                    body,
                });
                feed.deliveries[index].1 = Some(lease_until);
            }
            Ok(claimed)
        })
    }

    async fn release_claims(&self) -> Result<u64, StoreError> {
        self.with(|s| {
            let mut released = 0;
            for (_, lease) in &mut s.feed.deliveries {
                released += u64::from(lease.take().is_some());
            }
            Ok(released)
        })
    }

    async fn finish_attempt(
        &self,
        delivery: &str,
        result: &AttemptResult,
        now: DateTime<Utc>,
        disable_before: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.with(|s| {
            let feed = &mut s.feed;
            let (found, lease) = feed
                .deliveries
                .iter_mut()
                .find(|(d, _)| d.id == delivery)
                .ok_or_else(|| StoreError::NotFound(format!("delivery {delivery}")))?;
            *lease = None;
            found.attempts += 1;
            let webhook_id = found.webhook_id.clone();
            let succeeded = match result {
                AttemptResult::Delivered { status } => {
                    found.status = DeliveryStatus::Succeeded;
                    found.last_response_status = Some(*status);
                    found.last_error = None;
                    found.next_attempt_at = None;
                    found.delivered_at = Some(now);
                    true
                }
                AttemptResult::Failed {
                    status,
                    error,
                    retry_at,
                } => {
                    found.last_response_status = *status;
                    found.last_error = Some(error.clone());
                    found.next_attempt_at = *retry_at;
                    if retry_at.is_none() {
                        found.status = DeliveryStatus::Failed;
                    }
                    false
                }
            };
            if let Ok((webhook, _)) = feed.webhook(&webhook_id) {
                if succeeded {
                    webhook.failing_since = None;
                } else {
                    let since = *webhook.failing_since.get_or_insert(now);
                    if since <= disable_before {
                        webhook.enabled = false;
                    }
                }
            }
            Ok(())
        })
    }
}
