//! The freshness heatmap: every product × the next dates, each cell's age against the target
//! of its date (from [`Targets`], never re-derived here).

use std::collections::HashMap;

use chrono::{Days, NaiveDate};
use tickete_core::engine::{Targets, MAX_WINDOW_DAYS};
use tickete_core::{PageRequest, ProductId};

use super::Actions;
use crate::error::ActionError;
use crate::heatmap::{CellGrade, HeatmapBody, HeatmapCellBody, HeatmapRow};

impl Actions {
    /// The targets of the enabled jobs as of now.
    async fn targets(&self) -> Result<Targets, ActionError> {
        let jobs = self.engine.run_log().list_jobs().await?;
        Ok(Targets::of_jobs(
            &jobs,
            self.engine.config().time_zone,
            self.engine.clock().now(),
        ))
    }

    /// The heatmap of every product over `days` dates from today (1..=62), in one read of the
    /// catalogue and one of the day states.
    pub async fn heatmap(&self, days: u32) -> Result<HeatmapBody, ActionError> {
        if !(1..=MAX_WINDOW_DAYS).contains(&days) {
            return Err(ActionError::Invalid(format!(
                "days {days} is out of range: expected an integer from 1 to {MAX_WINDOW_DAYS}"
            )));
        }
        let store = self.engine.store();
        let now = self.engine.clock().now();
        let today = self.engine.today();
        let until = today + Days::new(u64::from(days));
        let targets = self.targets().await?;
        let dates: Vec<NaiveDate> = today.iter_days().take(days as usize).collect();
        let target_secs: Vec<Option<i64>> = dates
            .iter()
            .map(|date| targets.for_date(today, *date).map(|t| t.num_seconds()))
            .collect();
        let mut products = Vec::new();
        let mut page = PageRequest {
            page: 1,
            limit: PageRequest::MAX_LIMIT,
        };
        loop {
            let found = store.list_products(page).await?;
            let last = found.items.len() < page.limit as usize;
            products.extend(found.items.into_iter().map(|view| view.product));
            if last || products.len() as u64 >= found.total {
                break;
            }
            page.page += 1;
        }
        let index: HashMap<ProductId, usize> = products
            .iter()
            .enumerate()
            .map(|(row, product)| (product.id, row))
            .collect();
        let mut rows: Vec<HeatmapRow> = products
            .iter()
            .map(|product| HeatmapRow {
                id: product.id.get(),
                name: product.name.clone(),
                enabled: product.enabled,
                ages: vec![None; dates.len()],
                grades: Vec::new(),
                failing: 0,
            })
            .collect();
        for state in store.day_states(today, until).await? {
            let (Some(&row), Ok(column)) = (
                index.get(&state.product),
                usize::try_from((state.date - today).num_days()),
            ) else {
                continue;
            };
            let Some(cell) = rows[row].ages.get_mut(column) else {
                continue;
            };
            *cell = state.synced_at.map(|at| (now - at).num_seconds().max(0));
            if state.last_error.is_some() {
                rows[row].failing += 1;
            }
        }
        let mut totals = [0u32; 5];
        for row in &mut rows {
            row.grades = row
                .ages
                .iter()
                .zip(&target_secs)
                .map(|(age, target)| CellGrade::of(*age, *target))
                .collect();
            for grade in &row.grades {
                totals[*grade as usize] += 1;
            }
        }
        Ok(HeatmapBody {
            generated_at: now,
            today,
            dates,
            targets: target_secs,
            products: rows,
            totals,
        })
    }

    /// Detail of one heatmap cell: its fetch time, age, target, last error and slots.
    pub async fn heatmap_cell(
        &self,
        id: ProductId,
        date: NaiveDate,
    ) -> Result<HeatmapCellBody, ActionError> {
        let store = self.engine.store();
        let product = store.get_product(id).await?.product;
        let now = self.engine.clock().now();
        let today = self.engine.today();
        let next = date
            .succ_opt()
            .ok_or_else(|| ActionError::Invalid(format!("date {date} is out of range")))?;
        let state = store
            .day_states(date, next)
            .await?
            .into_iter()
            .find(|state| state.product == id);
        let synced_at = state.as_ref().and_then(|state| state.synced_at);
        let age_seconds = synced_at.map(|at| (now - at).num_seconds().max(0));
        let target_seconds = self
            .targets()
            .await?
            .for_date(today, date)
            .map(|t| t.num_seconds());
        let slots = store.slots(id, date).await?;
        Ok(HeatmapCellBody {
            product: id.get(),
            name: product.name,
            date,
            synced_at,
            age_seconds,
            target_seconds,
            grade: CellGrade::of(age_seconds, target_seconds),
            last_error: state.and_then(|state| state.last_error),
            open_slots: slots.iter().filter(|slot| slot.remaining > 0).count(),
            slots: slots.len(),
        })
    }
}
