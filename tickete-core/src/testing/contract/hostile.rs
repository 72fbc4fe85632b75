//! Contract cases for hostile partner data: what a store must never be asked to keep.

use std::num::NonZeroU32;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::support::product;
use crate::domain::{RunStatus, Slot};
use crate::engine::{EngineConfig, RunRequest};
use crate::store::InventoryStore;
use crate::testing::{sample_day, FakeSource};
use crate::Engine;

/// Partner text with NUL or another control character is an invalid response: the engine
/// refuses the day before the store sees it (Postgres cannot keep NUL, SQLite would keep and
/// serve it), the task fails with a message that says so, and the stored day is unchanged.
pub async fn control_characters_in_partner_text_are_refused_before_the_store(
    store: Arc<dyn InventoryStore>,
) {
    let pid = product(store.as_ref(), 14).await;
    let source = Arc::new(FakeSource::new());
    let engine = Engine::builder(store.clone(), source.clone())
        .config(EngineConfig {
            rate_per_minute: NonZeroU32::new(60_000).unwrap(),
            ..EngineConfig::default()
        })
        .build()
        .await
        .unwrap();
    let stop = CancellationToken::new();
    let worker = tokio::spawn({
        let (engine, stop) = (engine.clone(), stop.clone());
        async move { engine.run(stop).await }
    });
    let today = engine.today();
    let good = sample_day(today, &["09:00", "14:00"]).slots;
    source.set_day(pid, today, good.clone());
    let run = engine.start_run(RunRequest::next_days(1)).await.unwrap();
    let run = engine.wait_for_run(run.id).await.unwrap();
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    let stored = store.slots(pid, today).await.unwrap();

    type Mutation = fn(&mut Slot);
    let hostile: [(&str, Mutation); 6] = [
        ("NUL in a description", |slot| {
            slot.pax[0].description = Some("fine\u{0}print".into())
        }),
        ("NUL in a pax name", |slot| {
            slot.pax[0].name = Some("Adult\u{0}".into())
        }),
        ("escape in a pax name", |slot| {
            slot.pax[0].name = Some("\u{1b}[31mAdult".into())
        }),
        ("NUL in providerSlotId", |slot| {
            slot.provider_slot_id.push('\u{0}')
        }),
        ("DEL in a pax type", |slot| {
            slot.pax[0].pax_type.push('\u{7f}')
        }),
        ("C1 control in a currency", |slot| {
            slot.currency_code = "SG\u{85}".into()
        }),
    ];
    for (what, mutate) in hostile {
        let mut slots = good.clone();
        slots[0].remaining += 1; // would be a change, were it accepted
        mutate(&mut slots[0]);
        source.set_day(pid, today, slots);
        let run = engine.start_run(RunRequest::next_days(1)).await.unwrap();
        let run = engine.wait_for_run(run.id).await.unwrap();
        assert_eq!(run.status, RunStatus::Failed, "{what}: {run:?}");
        assert!(
            run.errors.iter().any(|e| e.contains("control character")),
            "{what}: {:?}",
            run.errors
        );
        assert_eq!(
            store.slots(pid, today).await.unwrap(),
            stored,
            "{what}: the stored day is untouched"
        );
    }
    // Tab and line breaks are fine in free text.
    let mut slots = good.clone();
    slots[0].pax[0].description = Some("Line one\nLine two\tend\r\n".into());
    source.set_day(pid, today, slots);
    let run = engine.start_run(RunRequest::next_days(1)).await.unwrap();
    let run = engine.wait_for_run(run.id).await.unwrap();
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    stop.cancel();
    worker.await.unwrap();
}
