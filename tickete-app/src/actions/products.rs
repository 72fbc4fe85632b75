//! The catalogue: list, add or change, remove.

use tickete_core::engine::upkeep;
use tickete_core::{PageRequest, Product, ProductId, ProductPatch, StoreError};

use super::Actions;
use crate::error::ActionError;
use crate::views::{PageEnvelope, ProductBody};

/// Longest product name, in characters (not bytes: names are often not ASCII).
const MAX_NAME_CHARS: usize = 200;

/// `PUT /admin/products/{id}`, `tickete products add`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductUpdate {
    /// Display name; a new product without one is `Product <id>`.
    pub name: Option<String>,
    /// Whether to sync it; a new product without one is enabled.
    pub enabled: Option<bool>,
}

/// What `put_product` did.
#[derive(Debug)]
pub struct ProductWritten {
    /// True when the product was added, false when it was changed.
    pub created: bool,
    /// The product as stored.
    pub product: ProductBody,
}

/// Refuses an empty or over-long name.
pub fn check_product_name(name: &str) -> Result<(), ActionError> {
    if name.trim().is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(ActionError::Invalid(format!(
            "name must be 1 to {MAX_NAME_CHARS} characters"
        )));
    }
    Ok(())
}

impl Actions {
    /// Products ordered by id, one page.
    pub async fn list_products(
        &self,
        page: PageRequest,
    ) -> Result<PageEnvelope<ProductBody>, ActionError> {
        let found = self.engine.catalogue().list_products(page).await?;
        let data = found.items.iter().map(ProductBody::from).collect();
        Ok(PageEnvelope::new(data, found.total, page))
    }

    /// One product with its derived facts.
    pub async fn get_product(&self, id: ProductId) -> Result<ProductBody, ActionError> {
        Ok(ProductBody::from(
            &self.engine.catalogue().get_product(id).await?,
        ))
    }

    /// Adds a product, or changes an existing one's name or enabled flag.
    pub async fn put_product(
        &self,
        id: ProductId,
        update: ProductUpdate,
    ) -> Result<ProductWritten, ActionError> {
        if let Some(name) = &update.name {
            check_product_name(name)?;
        }
        let store = self.engine.catalogue();
        let patch = ProductPatch {
            name: update.name.clone(),
            enabled: update.enabled,
        };
        let created = match store.update_product(id, &patch).await {
            Ok(_) => false,
            Err(StoreError::NotFound(_)) => {
                let product = Product {
                    id,
                    name: update.name.unwrap_or_else(|| format!("Product {id}")),
                    enabled: update.enabled.unwrap_or(true),
                };
                store.upsert_product(&product).await?;
                true
            }
            Err(error) => return Err(error.into()),
        };
        if update.enabled == Some(false) {
            upkeep::drop_product_work(&self.engine, id).await;
        }
        Ok(ProductWritten {
            created,
            product: self.get_product(id).await?,
        })
    }

    /// Removes a product with its synced inventory; its queued work leaves the queue.
    pub async fn delete_product(&self, id: ProductId) -> Result<(), ActionError> {
        self.engine.catalogue().delete_product(id).await?;
        upkeep::drop_product_work(&self.engine, id).await;
        Ok(())
    }

    /// How old each date of the next `days` days of a known product is (`NotFound` for an
    /// unknown product): when it was fetched and the last fetch error, nearest date first.
    pub async fn product_days(
        &self,
        id: ProductId,
        days: u32,
    ) -> Result<Vec<crate::views::DayAgeBody>, ActionError> {
        self.engine.catalogue().get_product(id).await?;
        let today = self.engine.today();
        let dates = tickete_core::engine::window_dates(today, days);
        let until = dates
            .last()
            .map_or(today, |last| *last + chrono::Days::new(1));
        let states = self.engine.inventory().day_states(today, until).await?;
        let now = self.engine.clock().now();
        Ok(dates
            .into_iter()
            .map(|date| {
                let state = states.iter().find(|s| s.product == id && s.date == date);
                let synced_at = state.and_then(|s| s.synced_at);
                crate::views::DayAgeBody {
                    date,
                    synced_at,
                    age_seconds: synced_at.map(|at| (now - at).num_seconds().max(0)),
                    last_error: state.and_then(|s| s.last_error.clone()),
                }
            })
            .collect())
    }
}
