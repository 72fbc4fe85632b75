//! What the public read routes serve: the bodies kept with each day at apply, so a read is
//! one indexed lookup. The API sends them as they are; the CLI prints them.

use chrono::NaiveDate;
use tickete_core::pricing::dates_window;
use tickete_core::served::{ServedDates, ServedSlots};
use tickete_core::ProductId;

use super::Actions;
use crate::error::ActionError;

impl Actions {
    /// The slots body of a known product on `date` (`NotFound` for an unknown product), with
    /// when it was fetched and its content hash.
    pub async fn slots(&self, id: ProductId, date: NaiveDate) -> Result<ServedSlots, ActionError> {
        Ok(self.engine.inventory().served_slots(id, date).await?)
    }

    /// Bookable dates of a known product from today for two months, with the lowest price.
    pub async fn dates(&self, id: ProductId) -> Result<ServedDates, ActionError> {
        let (today, until) = dates_window(self.engine.today());
        Ok(self
            .engine
            .inventory()
            .served_dates(id, today, until)
            .await?)
    }
}
