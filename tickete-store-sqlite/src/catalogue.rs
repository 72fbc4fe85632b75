//! The product catalogue and the facts derived from synced inventory.

use async_trait::async_trait;
use sqlx::{Sqlite, Transaction};
use tickete_core::{
    Catalogue, Page, PageRequest, PartnerStatus, Product, ProductId, ProductPatch, ProductView,
    StoreError,
};

use crate::codec::{limit_offset, parse_day, product_id};
use crate::error::{corrupt, db};
use crate::SqliteStore;

/// A row of `products`.
#[derive(sqlx::FromRow)]
struct ProductRow {
    id: i64,
    name: String,
    enabled: bool,
    partner_status: String,
}

impl ProductRow {
    fn into_product(self) -> Result<(Product, PartnerStatus), StoreError> {
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
struct EntryRow {
    id: i64,
    name: String,
    enabled: bool,
}

/// Slots of one product on one synced date.
#[derive(sqlx::FromRow)]
struct SlotCountRow {
    product_id: i64,
    day: String,
    slots: i64,
}

/// `RETURNING` of an update: the catalogue entry.
const PRODUCT_COLUMNS: &str = "id, name, enabled";
/// A read: the entry and what the engine recorded of it.
const VIEW_COLUMNS: &str = "id, name, enabled, partner_status";

/// The products with their facts derived from the slot counts of their synced dates.
async fn views(
    tx: &mut Transaction<'static, Sqlite>,
    products: Vec<(Product, PartnerStatus)>,
) -> Result<Vec<ProductView>, StoreError> {
    let (Some((first, _)), Some((last, _))) = (products.first(), products.last()) else {
        return Ok(Vec::new());
    };
    let rows: Vec<SlotCountRow> = sqlx::query_as(
        "SELECT product_id, day, COUNT(*) AS slots FROM slots
         WHERE product_id BETWEEN ?1 AND ?2 GROUP BY product_id, day",
    )
    .bind(i64::from(first.id.get()))
    .bind(i64::from(last.id.get()))
    .fetch_all(&mut **tx)
    .await
    .map_err(db("read products"))?;
    let mut counts = Vec::with_capacity(rows.len());
    for row in rows {
        counts.push((
            product_id(row.product_id)?,
            parse_day(&row.day)?,
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
                counts
                    .iter()
                    .filter(|(owner, _, _)| *owner == id)
                    .map(|(_, date, n)| (*date, *n)),
            )
        })
        .collect())
}

#[async_trait]
impl Catalogue for SqliteStore {
    async fn upsert_product(&self, product: &Product) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO products (id, name, enabled) VALUES (?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, enabled = excluded.enabled",
        )
        .bind(i64::from(product.id.get()))
        .bind(&product.name)
        .bind(product.enabled)
        .execute(&self.pool)
        .await
        .map_err(db("upsert product"))?;
        self.note_served_write();
        Ok(())
    }

    async fn update_product(
        &self,
        id: ProductId,
        patch: &ProductPatch,
    ) -> Result<Product, StoreError> {
        let row: EntryRow = sqlx::query_as(&format!(
            "UPDATE products SET name = COALESCE(?2, name), enabled = COALESCE(?3, enabled)
             WHERE id = ?1 RETURNING {PRODUCT_COLUMNS}"
        ))
        .bind(i64::from(id.get()))
        .bind(patch.name.as_deref())
        .bind(patch.enabled)
        .fetch_optional(&self.pool)
        .await
        .map_err(db("update product"))?
        .ok_or_else(|| StoreError::NotFound(format!("product {id}")))?;
        self.note_served_write();
        Ok(Product {
            id: product_id(row.id)?,
            name: row.name,
            enabled: row.enabled,
        })
    }

    /// Deletes the product; slots, pax and day states go with it (`ON DELETE CASCADE`).
    async fn delete_product(&self, id: ProductId) -> Result<(), StoreError> {
        let deleted = sqlx::query("DELETE FROM products WHERE id = ?1")
            .bind(i64::from(id.get()))
            .execute(&self.pool)
            .await
            .map_err(db("delete product"))?;
        self.note_served_write();
        if deleted.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("product {id}")));
        }
        Ok(())
    }

    async fn get_product(&self, id: ProductId) -> Result<ProductView, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db("read product"))?;
        let row: ProductRow = sqlx::query_as(&format!(
            "SELECT {VIEW_COLUMNS} FROM products WHERE id = ?1"
        ))
        .bind(i64::from(id.get()))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db("read product"))?
        .ok_or_else(|| StoreError::NotFound(format!("product {id}")))?;
        let view = views(&mut tx, vec![row.into_product()?]).await?;
        tx.commit().await.map_err(db("read product"))?;
        view.into_iter()
            .next()
            .ok_or_else(|| StoreError::NotFound(format!("product {id}")))
    }

    async fn list_products(&self, page: PageRequest) -> Result<Page<ProductView>, StoreError> {
        let (limit, offset) = limit_offset(page);
        let mut tx = self.pool.begin().await.map_err(db("list products"))?;
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM products")
            .fetch_one(&mut *tx)
            .await
            .map_err(db("list products"))?;
        let rows: Vec<ProductRow> = sqlx::query_as(&format!(
            "SELECT {VIEW_COLUMNS} FROM products ORDER BY id LIMIT ?1 OFFSET ?2"
        ))
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *tx)
        .await
        .map_err(db("list products"))?;
        let products = rows
            .into_iter()
            .map(ProductRow::into_product)
            .collect::<Result<Vec<_>, _>>()?;
        let items = views(&mut tx, products).await?;
        tx.commit().await.map_err(db("list products"))?;
        Ok(Page {
            items,
            total: u64::try_from(total).unwrap_or(0),
        })
    }

    async fn enabled_products(&self) -> Result<Vec<ProductId>, StoreError> {
        let ids: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM products WHERE enabled = 1 ORDER BY id")
                .fetch_all(&self.pool)
                .await
                .map_err(db("list enabled products"))?;
        ids.into_iter().map(product_id).collect()
    }

    async fn set_partner_status(
        &self,
        id: ProductId,
        status: PartnerStatus,
    ) -> Result<bool, StoreError> {
        // Written only when it changes; a missing row is told apart from an unchanged one.
        let row: Option<(bool,)> =
            sqlx::query_as("SELECT partner_status <> ?2 FROM products WHERE id = ?1")
                .bind(i64::from(id.get()))
                .bind(status.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(db("read partner status"))?;
        match row {
            None => Err(StoreError::NotFound(format!("product {id}"))),
            Some((false,)) => Ok(false),
            Some((true,)) => {
                let updated = sqlx::query(
                    "UPDATE products SET partner_status = ?2
                     WHERE id = ?1 AND partner_status <> ?2",
                )
                .bind(i64::from(id.get()))
                .bind(status.as_str())
                .execute(&self.pool)
                .await
                .map_err(db("record partner status"))?;
                self.note_served_write();
                Ok(updated.rows_affected() > 0)
            }
        }
    }
}
