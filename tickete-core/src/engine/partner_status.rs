//! `partnerStatus` (SPEC §2): the engine records in the catalogue whether the partner knows a
//! product, `unknown` on a 404 and `ok` again on the first day it answers. What this process
//! last recorded is remembered, so a fetch costs no store call unless the status changes (or
//! the memory is older than [`RECHECK`]: another process on the same store may have written).

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use super::{Engine, EngineEvent};
use crate::domain::{PartnerStatus, ProductId};
use crate::store::StoreError;

/// How long a recorded status is trusted before the store is asked again.
const RECHECK: Duration = Duration::hours(1);

/// The status of each product as this process last recorded it, and when.
#[derive(Debug, Default)]
pub(super) struct RecordedStatus(Mutex<HashMap<ProductId, (PartnerStatus, DateTime<Utc>)>>);

impl RecordedStatus {
    fn is_recorded(&self, product: ProductId, status: PartnerStatus, now: DateTime<Utc>) -> bool {
        self.0
            .lock()
            .expect("partner status lock")
            .get(&product)
            .is_some_and(|(recorded, at)| *recorded == status && now - *at < RECHECK)
    }

    fn remember(&self, product: ProductId, status: PartnerStatus, now: DateTime<Utc>) {
        self.0
            .lock()
            .expect("partner status lock")
            .insert(product, (status, now));
    }

    /// Forgets a product (left the catalogue: a new entry of the same id starts `ok`).
    pub(super) fn forget(&self, product: ProductId) {
        self.0.lock().expect("partner status lock").remove(&product);
    }
}

impl Engine {
    /// Records what the partner's last answer says of `product` (a day: `ok`; 404: `unknown`).
    pub(super) async fn record_partner_status(&self, product: ProductId, status: PartnerStatus) {
        let now = self.inner.clock.now();
        let recorded = &self.inner.partner_status;
        if recorded.is_recorded(product, status, now) {
            return;
        }
        match self.inner.store.set_partner_status(product, status).await {
            Ok(changed) => {
                recorded.remember(product, status, now);
                if changed {
                    tracing::info!(%product, status = %status, "partner status of the product changed");
                    let changed = EngineEvent::PartnerStatusChanged { product, status };
                    let _ = self.inner.events.send(changed);
                }
            }
            // Deleted meanwhile: nothing to record.
            Err(StoreError::NotFound(_)) => recorded.forget(product),
            Err(error) => tracing::warn!(%error, %product, "could not record the partner status"),
        }
    }
}
