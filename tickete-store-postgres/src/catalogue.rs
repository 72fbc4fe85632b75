//! The product catalogue and the facts derived from synced inventory.

use async_trait::async_trait;
use chrono::NaiveDate;
use sqlx::{Postgres, Transaction};
use tickete_core::{
    Catalogue, Page, PageRequest, Product, ProductId, ProductPatch, ProductView, StoreError,
};

use crate::error::{db, limit_offset, product_id};
use crate::PostgresStore;

/// A row of `products`.
#[derive(sqlx::FromRow)]
struct ProductRow {
    id: i64,
    name: String,
    enabled: bool,
}

impl ProductRow {
    fn into_product(self) -> Result<Product, StoreError> {
        Ok(Product {
            id: product_id(self.id)?,
            name: self.name,
            enabled: self.enabled,
        })
    }
}

/// Slots of one product on one synced date.
#[derive(sqlx::FromRow)]
struct SlotCountRow {
    product_id: i64,
    day: NaiveDate,
    slots: i64,
}

const PRODUCT_COLUMNS: &str = "id, name, enabled";

/// The products with their facts derived from the slot counts of their synced dates.
async fn views(
    tx: &mut Transaction<'static, Postgres>,
    products: Vec<Product>,
) -> Result<Vec<ProductView>, StoreError> {
    let (Some(first), Some(last)) = (products.first(), products.last()) else {
        return Ok(Vec::new());
    };
    let rows: Vec<SlotCountRow> = sqlx::query_as(
        "SELECT product_id, day, COUNT(*) AS slots FROM slots
         WHERE product_id BETWEEN $1 AND $2 GROUP BY product_id, day",
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
            row.day,
            u64::try_from(row.slots).unwrap_or(0),
        ));
    }
    Ok(products
        .into_iter()
        .map(|product| {
            let id = product.id;
            ProductView::derive(
                product,
                counts
                    .iter()
                    .filter(|(owner, _, _)| *owner == id)
                    .map(|(_, date, n)| (*date, *n)),
            )
        })
        .collect())
}

#[async_trait]
impl Catalogue for PostgresStore {
    async fn upsert_product(&self, product: &Product) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO products (id, name, enabled) VALUES ($1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, enabled = excluded.enabled",
        )
        .bind(i64::from(product.id.get()))
        .bind(&product.name)
        .bind(product.enabled)
        .execute(&self.pool)
        .await
        .map_err(db("upsert product"))?;
        Ok(())
    }

    async fn update_product(
        &self,
        id: ProductId,
        patch: &ProductPatch,
    ) -> Result<Product, StoreError> {
        let row: ProductRow = sqlx::query_as(&format!(
            "UPDATE products SET name = COALESCE($2, name), enabled = COALESCE($3, enabled)
             WHERE id = $1 RETURNING {PRODUCT_COLUMNS}"
        ))
        .bind(i64::from(id.get()))
        .bind(patch.name.as_deref())
        .bind(patch.enabled)
        .fetch_optional(&self.pool)
        .await
        .map_err(db("update product"))?
        .ok_or_else(|| StoreError::NotFound(format!("product {id}")))?;
        row.into_product()
    }

    /// Deletes the product; slots, pax and day states go with it (`ON DELETE CASCADE`).
    async fn delete_product(&self, id: ProductId) -> Result<(), StoreError> {
        let deleted = sqlx::query("DELETE FROM products WHERE id = $1")
            .bind(i64::from(id.get()))
            .execute(&self.pool)
            .await
            .map_err(db("delete product"))?;
        if deleted.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("product {id}")));
        }
        Ok(())
    }

    async fn get_product(&self, id: ProductId) -> Result<ProductView, StoreError> {
        let mut tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(db("read product"))?;
        let row: ProductRow = sqlx::query_as(&format!(
            "SELECT {PRODUCT_COLUMNS} FROM products WHERE id = $1"
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
        let mut tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(db("list products"))?;
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM products")
            .fetch_one(&mut *tx)
            .await
            .map_err(db("list products"))?;
        let rows: Vec<ProductRow> = sqlx::query_as(&format!(
            "SELECT {PRODUCT_COLUMNS} FROM products ORDER BY id LIMIT $1 OFFSET $2"
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
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM products WHERE enabled ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .map_err(db("list enabled products"))?;
        ids.into_iter().map(product_id).collect()
    }
}
