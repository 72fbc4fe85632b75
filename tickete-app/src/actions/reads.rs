//! What the public read routes serve, computed from the store.

use chrono::NaiveDate;
use tickete_core::pricing::{dates_window, lowest_prices};
use tickete_core::ProductId;

use super::Actions;
use crate::error::ActionError;
use crate::views::{DateBody, DatesBody, SlotBody, SlotsBody};

impl Actions {
    /// Slots of a known product on `date` (`NotFound` for an unknown product).
    pub async fn slots(&self, id: ProductId, date: NaiveDate) -> Result<SlotsBody, ActionError> {
        let store = self.engine.store();
        store.get_product(id).await?;
        let slots = store.slots(id, date).await?;
        Ok(SlotsBody {
            slots: slots.iter().map(SlotBody::from).collect(),
        })
    }

    /// Bookable dates of a known product from today for two months, with the lowest price.
    pub async fn dates(&self, id: ProductId) -> Result<DatesBody, ActionError> {
        let store = self.engine.store();
        store.get_product(id).await?;
        let (today, until) = dates_window(self.engine.today());
        let slots = store.slots_between(id, today, until).await?;
        Ok(DatesBody {
            dates: lowest_prices(&slots).iter().map(DateBody::from).collect(),
        })
    }
}
