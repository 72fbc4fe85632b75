//! Rows of `products`, and the facts derived from the slot counts of their synced dates.

use chrono::NaiveDate;
use tickete_core::{PartnerStatus, Product, ProductView, StoreError};

use crate::stored::Stored;
use crate::{corrupt, product_id};

/// The columns of [`EntryRow`]: an update returns them.
pub const PRODUCT_COLUMNS: &str = "id, name, enabled";
/// The columns of [`ProductRow`]: the entry and what the engine recorded of it.
pub const VIEW_COLUMNS: &str = "id, name, enabled, partner_status";

/// A row of `products` as a read sees it.
#[derive(sqlx::FromRow)]
pub struct ProductRow {
    id: i64,
    name: String,
    enabled: bool,
    partner_status: String,
}

impl ProductRow {
    /// The catalogue entry and its partner status.
    pub fn into_product(self) -> Result<(Product, PartnerStatus), StoreError> {
        let status = PartnerStatus::parse(&self.partner_status)
            .ok_or_else(|| corrupt(format!("partner status {:?}", self.partner_status)))?;
        let product = Product {
            id: product_id(self.id)?,
            name: self.name,
            enabled: self.enabled,
        };
        Ok((product, status))
    }
}

/// A catalogue entry as an update returns it.
#[derive(sqlx::FromRow)]
pub struct EntryRow {
    id: i64,
    name: String,
    enabled: bool,
}

impl EntryRow {
    /// The catalogue entry.
    pub fn into_product(self) -> Result<Product, StoreError> {
        Ok(Product {
            id: product_id(self.id)?,
            name: self.name,
            enabled: self.enabled,
        })
    }
}

/// Slots of one product on one synced date, with the date stored as `D`.
#[derive(sqlx::FromRow)]
pub struct SlotCountRow<D> {
    product_id: i64,
    day: D,
    slots: i64,
}

/// The products with their facts (available days, slot type) derived from the slot counts
/// of their synced dates.
pub fn product_views<D: Stored<NaiveDate>>(
    products: Vec<(Product, PartnerStatus)>,
    counts: Vec<SlotCountRow<D>>,
) -> Result<Vec<ProductView>, StoreError> {
    let mut dated = Vec::with_capacity(counts.len());
    for row in counts {
        dated.push((
            product_id(row.product_id)?,
            row.day.load()?,
            u64::try_from(row.slots).unwrap_or(0),
        ));
    }
    Ok(products
        .into_iter()
        .map(|(product, status)| {
            let id = product.id;
            ProductView::derive(
                product,
                status,
                dated
                    .iter()
                    .filter(|(owner, _, _)| *owner == id)
                    .map(|(_, date, n)| (*date, *n)),
            )
        })
        .collect())
}
