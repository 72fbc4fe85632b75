//! The product catalogue and the facts derived from synced inventory.

use sqlx::postgres::PgRow;
use sqlx::{PgPool, Postgres, Transaction};
use tickete_core::{Page, PageRequest, Product, ProductId, ProductPatch, ProductView, StoreError};

use crate::error::db;
use crate::error::{column, limit_offset, product_id};

fn product(row: &PgRow) -> Result<Product, StoreError> {
    Ok(Product {
        id: product_id(column(row, 0)?)?,
        name: column(row, 1)?,
        enabled: column(row, 2)?,
    })
}

/// Slot counts per synced date of the products in `ids`, grouped by product.
async fn views(
    tx: &mut Transaction<'static, Postgres>,
    products: Vec<Product>,
) -> Result<Vec<ProductView>, StoreError> {
    let (Some(first), Some(last)) = (products.first(), products.last()) else {
        return Ok(Vec::new());
    };
    let rows = sqlx::query(
        "SELECT product_id, day, COUNT(*) FROM slots
         WHERE product_id BETWEEN $1 AND $2 GROUP BY product_id, day",
    )
    .bind(i64::from(first.id.get()))
    .bind(i64::from(last.id.get()))
    .fetch_all(&mut **tx)
    .await
    .map_err(db("read products"))?;
    let mut counts = Vec::with_capacity(rows.len());
    for row in &rows {
        counts.push((
            product_id(column(row, 0)?)?,
            column(row, 1)?,
            u64::try_from(column::<i64>(row, 2)?).unwrap_or(0),
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

pub(crate) async fn upsert_product(pool: &PgPool, product: &Product) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO products (id, name, enabled) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, enabled = excluded.enabled",
    )
    .bind(i64::from(product.id.get()))
    .bind(&product.name)
    .bind(product.enabled)
    .execute(pool)
    .await
    .map_err(db("upsert product"))?;
    Ok(())
}

pub(crate) async fn update_product(
    pool: &PgPool,
    id: ProductId,
    patch: &ProductPatch,
) -> Result<Product, StoreError> {
    let row = sqlx::query(
        "UPDATE products SET name = COALESCE($2, name), enabled = COALESCE($3, enabled)
         WHERE id = $1 RETURNING id, name, enabled",
    )
    .bind(i64::from(id.get()))
    .bind(patch.name.as_deref())
    .bind(patch.enabled)
    .fetch_optional(pool)
    .await
    .map_err(db("update product"))?
    .ok_or_else(|| StoreError::NotFound(format!("product {id}")))?;
    product(&row)
}

/// Deletes the product; slots, pax and day states go with it (`ON DELETE CASCADE`).
pub(crate) async fn delete_product(pool: &PgPool, id: ProductId) -> Result<(), StoreError> {
    let deleted = sqlx::query("DELETE FROM products WHERE id = $1")
        .bind(i64::from(id.get()))
        .execute(pool)
        .await
        .map_err(db("delete product"))?;
    if deleted.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("product {id}")));
    }
    Ok(())
}

pub(crate) async fn get_product(pool: &PgPool, id: ProductId) -> Result<ProductView, StoreError> {
    let mut tx = pool
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await
        .map_err(db("read product"))?;
    let row = sqlx::query("SELECT id, name, enabled FROM products WHERE id = $1")
        .bind(i64::from(id.get()))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db("read product"))?
        .ok_or_else(|| StoreError::NotFound(format!("product {id}")))?;
    let view = views(&mut tx, vec![product(&row)?]).await?;
    tx.commit().await.map_err(db("read product"))?;
    view.into_iter()
        .next()
        .ok_or_else(|| StoreError::NotFound(format!("product {id}")))
}

pub(crate) async fn list_products(
    pool: &PgPool,
    page: PageRequest,
) -> Result<Page<ProductView>, StoreError> {
    let (limit, offset) = limit_offset(page);
    let mut tx = pool
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await
        .map_err(db("list products"))?;
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM products")
        .fetch_one(&mut *tx)
        .await
        .map_err(db("list products"))?;
    let rows = sqlx::query("SELECT id, name, enabled FROM products ORDER BY id LIMIT $1 OFFSET $2")
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *tx)
        .await
        .map_err(db("list products"))?;
    let products = rows.iter().map(product).collect::<Result<Vec<_>, _>>()?;
    let items = views(&mut tx, products).await?;
    tx.commit().await.map_err(db("list products"))?;
    Ok(Page {
        items,
        total: u64::try_from(total).unwrap_or(0),
    })
}

pub(crate) async fn enabled_products(pool: &PgPool) -> Result<Vec<ProductId>, StoreError> {
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM products WHERE enabled ORDER BY id")
        .fetch_all(pool)
        .await
        .map_err(db("list enabled products"))?;
    ids.into_iter().map(product_id).collect()
}
