//! The catalogue capability of [`MemoryStore`]: products, with the facts derived from their
//! synced days and the partner status the engine records.

use async_trait::async_trait;

use super::memory_store::page_of;
use super::MemoryStore;
use crate::domain::{PartnerStatus, Product, ProductId, ProductPatch, ProductView};
use crate::store::{Catalogue, Page, PageRequest, StoreError};

#[async_trait]
impl Catalogue for MemoryStore {
    async fn upsert_product(&self, product: &Product) -> Result<(), StoreError> {
        self.with(|s| {
            s.products.insert(product.id, product.clone());
            Ok(())
        })
    }

    async fn update_product(
        &self,
        id: ProductId,
        patch: &ProductPatch,
    ) -> Result<Product, StoreError> {
        self.with(|s| {
            let product = s
                .products
                .get_mut(&id)
                .ok_or_else(|| StoreError::NotFound(format!("product {id}")))?;
            if let Some(name) = &patch.name {
                product.name = name.clone();
            }
            if let Some(enabled) = patch.enabled {
                product.enabled = enabled;
            }
            Ok(product.clone())
        })
    }

    async fn delete_product(&self, id: ProductId) -> Result<(), StoreError> {
        self.with(|s| {
            s.products
                .remove(&id)
                .ok_or_else(|| StoreError::NotFound(format!("product {id}")))?;
            s.partner_unknown.remove(&id);
            s.days.retain(|(product, _), _| *product != id);
            s.day_states.retain(|(product, _), _| *product != id);
            s.learning.forget_product(id);
            Ok(())
        })
    }

    async fn get_product(&self, id: ProductId) -> Result<ProductView, StoreError> {
        self.with(|s| Ok(s.view(s.product(id)?)))
    }

    async fn list_products(&self, page: PageRequest) -> Result<Page<ProductView>, StoreError> {
        self.with(|s| {
            let views = s.products.values().map(|p| s.view(p)).collect();
            Ok(page_of(views, page))
        })
    }

    async fn enabled_products(&self) -> Result<Vec<ProductId>, StoreError> {
        self.with(|s| {
            Ok(s.products
                .values()
                .filter(|p| p.enabled)
                .map(|p| p.id)
                .collect())
        })
    }

    async fn set_partner_status(
        &self,
        id: ProductId,
        status: PartnerStatus,
    ) -> Result<bool, StoreError> {
        self.with(|s| {
            s.product(id)?;
            Ok(match status {
                PartnerStatus::Ok => s.partner_unknown.remove(&id),
                PartnerStatus::Unknown => s.partner_unknown.insert(id),
            })
        })
    }
}
