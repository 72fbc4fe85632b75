//! Contract cases: the change feed's outbox, webhooks and deliveries.

use std::sync::Arc;

use chrono::Duration;
use serde_json::Value;

use super::support::{at, changes, date, id, page, product};
use crate::domain::{NewRun, Trigger};
use crate::feed::{
    AttemptResult, DeliveryStatus, EventType, NewEvent, Webhook, WebhookPatch, WebhookSecret,
};
use crate::store::{DayApply, InventoryStore, StoreError};
use crate::testing::sample_day;

/// An applied change has exactly one event with the day's summary; an unchanged apply, a
/// refused apply and a failed batch have none; a day becoming empty is a change.
pub async fn an_applied_change_has_exactly_one_event(store: Arc<dyn InventoryStore>) {
    let p = product(&*store, 14).await;
    let (d, t) = (date("2025-03-25"), at("2025-03-25T01:00:00Z"));
    let day = sample_day(d, &["09:00", "14:00"]);
    store.apply_day(p, &day, t).await.unwrap();
    store
        .apply_day(p, &day, t + Duration::minutes(5))
        .await
        .unwrap();
    assert!(store.apply_day(id(99), &day, t).await.is_err());
    let unknown = DayApply {
        product: id(99),
        snapshot: &day,
        synced_at: t,
    };
    let other = sample_day(date("2025-03-26"), &["10:00"]);
    let known = DayApply {
        product: p,
        snapshot: &other,
        synced_at: t,
    };
    assert!(store.apply_days(&[known, unknown]).await.is_err());
    let events = store.events_after(0, &[], 100).await.unwrap();
    assert_eq!(events.len(), 1, "one change, one event: {events:?}");
    let event = &events[0];
    assert!(event.id.starts_with("evt_"));
    assert_eq!(event.kind, EventType::AvailabilityChanged);
    assert_eq!(event.subject, Some((p, d)));
    let body: Value = serde_json::from_str(&event.body).unwrap();
    assert_eq!(body["id"], event.id.as_str());
    assert_eq!(body["type"], "availability.changed");
    assert_eq!(body["data"]["productId"], 14);
    assert_eq!(body["data"]["date"], "2025-03-25");
    assert_eq!(body["data"]["syncedAt"], "2025-03-25T01:00:00.000Z");
    assert_eq!(body["data"]["slots"], 2);
    assert_eq!(body["data"]["openSlots"], 2);
    assert_eq!(
        body["data"]["lowestPrice"]["finalPrice"].to_string(),
        "212.14"
    );
    assert_eq!(body["data"]["lowestPrice"]["currencyCode"], "SGD");
    // The day empties: a change, with no price.
    store
        .apply_day(p, &sample_day(d, &[]), t + Duration::minutes(10))
        .await
        .unwrap();
    let bodies = changes(&*store).await;
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[1]["data"]["slots"], 0);
    assert_eq!(bodies[1]["data"]["lowestPrice"], Value::Null);
    // A batch writes one event per changed day.
    let (a, b) = (
        sample_day(date("2025-03-27"), &["09:00"]),
        sample_day(d, &[]),
    );
    let batch = [
        DayApply {
            product: p,
            snapshot: &a,
            synced_at: t,
        },
        DayApply {
            product: p,
            snapshot: &b,
            synced_at: t,
        },
    ];
    store.apply_days(&batch).await.unwrap();
    assert_eq!(changes(&*store).await.len(), 3, "changed day only");
    let all = store.events_after(0, &[], 100).await.unwrap();
    assert_eq!(
        store.latest_event_seq().await.unwrap(),
        all[2].seq,
        "sequences may have gaps"
    );
}

/// Events come back in commit order by sequence, filtered by type, from any position; the
/// changes of one (product, date) keep their order.
pub async fn events_are_read_in_order_after_a_sequence(store: Arc<dyn InventoryStore>) {
    let p = product(&*store, 14).await;
    let t = at("2025-03-25T01:00:00Z");
    for (minute, day, starts) in [
        (0, "2025-03-25", &["09:00"][..]),
        (1, "2025-03-26", &["09:00"][..]),
        (2, "2025-03-25", &["09:00", "10:00"][..]),
    ] {
        let synced = t + Duration::minutes(minute);
        store
            .apply_day(p, &sample_day(date(day), starts), synced)
            .await
            .unwrap();
    }
    let run = store
        .create_run(&NewRun {
            job: "sync-today".into(),
            trigger: Trigger::Manual,
            started_at: t,
            due_at: t,
            window_days: 1,
            products: None,
            manual: false,
            owner: None,
            replans: None,
        })
        .await
        .unwrap();
    let appended = store
        .append_event(&NewEvent::run_finished(&run, t))
        .await
        .unwrap();
    let all = store.events_after(0, &[], 100).await.unwrap();
    assert_eq!(all.len(), 4);
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq), "ascending");
    assert_eq!(all[3], appended);
    let body: Value = serde_json::from_str(&appended.body).unwrap();
    assert_eq!(body["type"], "sync.run.finished");
    assert_eq!(body["data"]["id"], run.id.0);
    let same_day: Vec<_> = all
        .iter()
        .filter(|e| e.subject == Some((p, date("2025-03-25"))))
        .map(|e| serde_json::from_str::<Value>(&e.body).unwrap()["data"]["slots"].clone())
        .collect();
    assert_eq!(same_day, [1, 2], "changes of one day in order");
    let after = store.events_after(all[1].seq, &[], 100).await.unwrap();
    assert_eq!(after, all[2..]);
    let runs = store
        .events_after(0, &[EventType::SyncRunFinished], 100)
        .await
        .unwrap();
    assert_eq!(runs, all[3..]);
    assert_eq!(store.events_after(0, &[], 2).await.unwrap(), all[..2]);
}

/// Pruning removes events recorded before the cut-off, and only those, with the settled
/// deliveries of removed events (pending ones stay); sequences go on.
pub async fn prune_events_removes_only_older_ones(store: Arc<dyn InventoryStore>) {
    let p = product(&*store, 14).await;
    let t = at("2025-03-20T01:00:00Z");
    create(&*store, "wh_p", vec![]).await;
    for days in 0..3 {
        let synced = t + Duration::days(days * 4);
        let day = sample_day(
            date("2025-04-01"),
            &[["09:00", "10:00", "11:00"][days as usize]],
        );
        store.apply_day(p, &day, synced).await.unwrap();
    }
    let before = store.events_after(0, &[], 100).await.unwrap();
    // Deliveries: the first settled, the two later ones (same day, in line) pending.
    let later = t + Duration::days(9);
    assert_eq!(store.fan_out(later).await.unwrap(), 3);
    let claimed = store.claim_deliveries(later, later, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let delivered = AttemptResult::Delivered { status: 200 };
    store
        .finish_attempt(&claimed[0].delivery.id, &delivered, later, t)
        .await
        .unwrap();
    assert_eq!(store.prune_events(t + Duration::days(5)).await.unwrap(), 2);
    let after = store.events_after(0, &[], 100).await.unwrap();
    assert_eq!(after, before[2..]);
    let kept = store.list_deliveries("wh_p", page(1, 10)).await.unwrap();
    let kept: Vec<_> = kept.items.iter().map(|d| (d.event_seq, d.status)).collect();
    assert_eq!(
        kept,
        [
            (before[2].seq, DeliveryStatus::Pending),
            (before[1].seq, DeliveryStatus::Pending)
        ],
        "the settled delivery of a pruned event went with it"
    );
    assert_eq!(store.prune_events(t + Duration::days(5)).await.unwrap(), 0);
    store
        .apply_day(
            p,
            &sample_day(date("2025-04-01"), &[]),
            t + Duration::days(9),
        )
        .await
        .unwrap();
    let last = store.events_after(0, &[], 100).await.unwrap();
    assert!(last[1].seq > before[2].seq);
}

fn webhook(id: &str, events: Vec<EventType>) -> Webhook {
    Webhook {
        id: id.into(),
        url: format!("https://example.com/{id}"),
        events,
        description: Some("test".into()),
        enabled: true,
        secret: WebhookSecret::new(format!("whsec_{id}")),
        created_at: at("2025-03-25T00:00:00Z"),
        failing_since: None,
    }
}

/// Creates the webhook `id` (see [`webhook`]).
async fn create(store: &dyn InventoryStore, id: &str, events: Vec<EventType>) -> Webhook {
    store.create_webhook(&webhook(id, events)).await.unwrap()
}

/// Webhooks are created, listed, patched (including a rotated secret) and deleted.
pub async fn webhooks_are_created_patched_and_deleted(store: Arc<dyn InventoryStore>) {
    let first = create(&*store, "wh_a", vec![]).await;
    create(&*store, "wh_b", vec![EventType::SyncRunFinished]).await;
    assert!(matches!(
        store.create_webhook(&webhook("wh_a", vec![])).await,
        Err(StoreError::Conflict(_))
    ));
    let listed = store.list_webhooks(page(1, 10)).await.unwrap();
    assert_eq!(listed.total, 2);
    assert_eq!(listed.items[0], first);
    assert_eq!(listed.items[1].events, [EventType::SyncRunFinished]);
    let patched = store
        .update_webhook(
            "wh_a",
            &WebhookPatch {
                url: Some("https://example.org/x".into()),
                events: Some(vec![EventType::AvailabilityChanged]),
                description: Some(None),
                enabled: Some(false),
                secret: Some(WebhookSecret::new("whsec_new".into())),
            },
        )
        .await
        .unwrap();
    assert_eq!(patched.url, "https://example.org/x");
    assert_eq!(patched.events, [EventType::AvailabilityChanged]);
    assert_eq!(patched.description, None);
    assert!(!patched.enabled);
    assert_eq!(patched.secret.expose(), "whsec_new");
    assert_eq!(store.get_webhook("wh_a").await.unwrap(), patched);
    store.delete_webhook("wh_a").await.unwrap();
    for missing in [
        store.get_webhook("wh_a").await.err(),
        store.delete_webhook("wh_a").await.err(),
        store
            .update_webhook("wh_a", &WebhookPatch::default())
            .await
            .err(),
        store.list_deliveries("wh_a", page(1, 10)).await.err(),
    ] {
        assert!(
            matches!(missing, Some(StoreError::NotFound(_))),
            "{missing:?}"
        );
    }
}

/// Deliveries: only events after a webhook's creation and of its types; claimed once per
/// lease; one (product, date) in order; retries, failure, success and the disabling streak.
pub async fn deliveries_are_claimed_in_order_and_settled(store: Arc<dyn InventoryStore>) {
    let p = product(&*store, 14).await;
    let t = at("2025-03-25T01:00:00Z");
    let (d1, d2) = (date("2025-03-25"), date("2025-03-26"));
    store
        .apply_day(p, &sample_day(d1, &["08:00"]), t)
        .await
        .unwrap();
    create(&*store, "wh_a", vec![]).await;
    create(&*store, "wh_runs", vec![EventType::SyncRunFinished]).await;
    store
        .apply_day(p, &sample_day(d1, &["09:00"]), t)
        .await
        .unwrap();
    store
        .apply_day(p, &sample_day(d2, &["09:00"]), t)
        .await
        .unwrap();
    store
        .apply_day(p, &sample_day(d1, &["10:00"]), t)
        .await
        .unwrap();
    assert_eq!(
        store.fan_out(t).await.unwrap(),
        3,
        "three changes since wh_a, none for wh_runs"
    );
    assert_eq!(store.fan_out(t).await.unwrap(), 0);
    let lease = t + Duration::seconds(30);
    let claimed = store.claim_deliveries(t, lease, 10).await.unwrap();
    // The second change of d1 waits behind the first.
    let dates: Vec<_> = claimed.iter().map(|c| c.delivery.event_seq).collect();
    assert_eq!(claimed.len(), 2, "{dates:?}");
    assert!(claimed.iter().all(|c| c.url == "https://example.com/wh_a"));
    assert!(claimed.iter().all(|c| c.secret.expose() == "whsec_wh_a"));
    let events = store.events_after(0, &[], 100).await.unwrap();
    let body: Value = serde_json::from_str(claimed[0].body.as_deref().unwrap()).unwrap();
    assert_eq!(body["id"], claimed[0].delivery.event_id.as_str());
    assert_eq!(claimed[0].delivery.event_seq, events[1].seq);
    assert!(
        store
            .claim_deliveries(t, lease, 10)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );
    // A restarted single node releases its predecessor's claims: handed out again at once.
    assert_eq!(store.release_claims().await.unwrap(), 2);
    let again = store.claim_deliveries(t, lease, 10).await.unwrap();
    assert_eq!(again, claimed, "the same deliveries, the same event ids");
    let first = &claimed[0].delivery;
    let retry_at = t + Duration::seconds(5);
    store
        .finish_attempt(
            &first.id,
            &AttemptResult::Failed {
                status: Some(500),
                error: "HTTP 500".into(),
                retry_at: Some(retry_at),
            },
            t,
            t - Duration::days(5),
        )
        .await
        .unwrap();
    store
        .finish_attempt(
            &claimed[1].delivery.id,
            &AttemptResult::Delivered { status: 204 },
            t,
            t - Duration::days(5),
        )
        .await
        .unwrap();
    assert!(
        store
            .claim_deliveries(t, lease, 10)
            .await
            .unwrap()
            .is_empty(),
        "not due yet; d1's next waits"
    );
    let again = store
        .claim_deliveries(retry_at, retry_at + Duration::seconds(30), 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].delivery.id, first.id);
    assert_eq!(again[0].delivery.attempts, 1);
    assert_eq!(
        again[0].delivery.event_id, first.event_id,
        "same webhook-id"
    );
    store
        .finish_attempt(
            &first.id,
            &AttemptResult::Delivered { status: 200 },
            retry_at,
            t,
        )
        .await
        .unwrap();
    let next = store
        .claim_deliveries(retry_at, retry_at + Duration::seconds(30), 10)
        .await
        .unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(
        next[0].delivery.event_seq, events[3].seq,
        "d1's second change after its first"
    );
    // A lease that ran out (a replica died) hands the delivery out again.
    let later = retry_at + Duration::seconds(31);
    let reclaimed = store
        .claim_deliveries(later, later + Duration::seconds(30), 10)
        .await
        .unwrap();
    assert_eq!(reclaimed.len(), 1);
    assert_eq!(reclaimed[0].delivery.id, next[0].delivery.id);
    store
        .finish_attempt(
            &next[0].delivery.id,
            &AttemptResult::Failed {
                status: None,
                error: "timed out".into(),
                retry_at: None,
            },
            later,
            later - Duration::days(5),
        )
        .await
        .unwrap();
    let listed = store.list_deliveries("wh_a", page(1, 10)).await.unwrap();
    assert_eq!(listed.total, 3);
    let statuses: Vec<_> = listed
        .items
        .iter()
        .map(|d| (d.event_seq, d.status, d.attempts))
        .collect();
    assert_eq!(
        statuses,
        [
            (events[3].seq, DeliveryStatus::Failed, 1),
            (events[2].seq, DeliveryStatus::Succeeded, 1),
            (events[1].seq, DeliveryStatus::Succeeded, 2),
        ]
    );
    assert_eq!(listed.items[0].last_error.as_deref(), Some("timed out"));
    assert_eq!(listed.items[1].last_response_status, Some(204));
    assert_eq!(listed.items[2].delivered_at, Some(retry_at));
    assert_eq!(
        store.get_webhook("wh_a").await.unwrap().failing_since,
        Some(later)
    );
    // Retry by hand: pending again, due now.
    let retried = store
        .retry_delivery("wh_a", &listed.items[0].id, later)
        .await
        .unwrap();
    assert_eq!(retried.status, DeliveryStatus::Pending);
    assert_eq!(retried.next_attempt_at, Some(later));
    assert!(matches!(
        store.retry_delivery("wh_a", "dlv_missing", later).await,
        Err(StoreError::NotFound(_))
    ));
    // Failing for five days disables the endpoint; its deliveries are no longer claimed.
    let claim = store
        .claim_deliveries(later, later + Duration::seconds(30), 10)
        .await
        .unwrap();
    let five_days = later + Duration::days(5);
    store
        .finish_attempt(
            &claim[0].delivery.id,
            &AttemptResult::Failed {
                status: Some(503),
                error: "HTTP 503".into(),
                retry_at: Some(five_days),
            },
            five_days,
            five_days - Duration::days(5),
        )
        .await
        .unwrap();
    let disabled = store.get_webhook("wh_a").await.unwrap();
    assert!(
        !disabled.enabled,
        "failing since {:?}",
        disabled.failing_since
    );
    assert!(store
        .claim_deliveries(five_days, five_days, 10)
        .await
        .unwrap()
        .is_empty());
    let enabled = store
        .update_webhook(
            "wh_a",
            &WebhookPatch {
                enabled: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(enabled.failing_since, None);
    assert_eq!(
        store
            .claim_deliveries(five_days, five_days, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    store.delete_webhook("wh_a").await.unwrap();
    assert!(store
        .claim_deliveries(five_days, five_days, 10)
        .await
        .unwrap()
        .is_empty());
}
