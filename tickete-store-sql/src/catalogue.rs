//! The product catalogue ([`Catalogue`](tickete_core::Catalogue)), written once for both
//! dialects.

/// Implements [`Catalogue`](tickete_core::Catalogue) for a store that implements
/// [`Dialect`](crate::Dialect).
#[macro_export]
macro_rules! impl_catalogue {
    ($store:ty) => {
        const _: () = {
            use $crate::macro_support::tickete_core::{
                Catalogue, Page, PageRequest, PartnerStatus, Product, ProductId, ProductPatch,
                ProductView, StoreError,
            };
            use $crate::macro_support::{async_trait, sqlx, Dialect};
            use $crate::rows::{EntryRow, ProductRow, SlotCountRow, PRODUCT_COLUMNS, VIEW_COLUMNS};

            type Store = $store;
            type Db = <Store as Dialect>::Db;

            /// The products with their facts, read in the caller's snapshot.
            async fn views(
                tx: &mut sqlx::Transaction<'static, Db>,
                products: Vec<(Product, PartnerStatus)>,
            ) -> Result<Vec<ProductView>, StoreError> {
                let (Some((first, _)), Some((last, _))) = (products.first(), products.last())
                else {
                    return Ok(Vec::new());
                };
                let counts: Vec<SlotCountRow<<Store as Dialect>::Day>> = sqlx::query_as(
                    "SELECT product_id, day, COUNT(*) AS slots FROM slots
                     WHERE product_id BETWEEN $1 AND $2 GROUP BY product_id, day",
                )
                .bind(i64::from(first.id.get()))
                .bind(i64::from(last.id.get()))
                .fetch_all(&mut **tx)
                .await
                .map_err(Store::db("read products"))?;
                $crate::rows::product_views(products, counts)
            }

            #[async_trait]
            impl Catalogue for Store {
                async fn upsert_product(&self, product: &Product) -> Result<(), StoreError> {
                    sqlx::query(
                        "INSERT INTO products (id, name, enabled) VALUES ($1, $2, $3)
                         ON CONFLICT (id) DO UPDATE SET name = excluded.name,
                             enabled = excluded.enabled",
                    )
                    .bind(i64::from(product.id.get()))
                    .bind(&product.name)
                    .bind(product.enabled)
                    .execute(self.pool())
                    .await
                    .map_err(Self::db("upsert product"))?;
                    self.served_write();
                    Ok(())
                }

                async fn update_product(
                    &self,
                    id: ProductId,
                    patch: &ProductPatch,
                ) -> Result<Product, StoreError> {
                    let row: EntryRow = sqlx::query_as(&format!(
                        "UPDATE products SET name = COALESCE($2, name),
                             enabled = COALESCE($3, enabled)
                         WHERE id = $1 RETURNING {PRODUCT_COLUMNS}"
                    ))
                    .bind(i64::from(id.get()))
                    .bind(patch.name.as_deref())
                    .bind(patch.enabled)
                    .fetch_optional(self.pool())
                    .await
                    .map_err(Self::db("update product"))?
                    .ok_or_else(|| StoreError::NotFound(format!("product {id}")))?;
                    self.served_write();
                    row.into_product()
                }

                /// Deletes the product; slots, pax and day states go with it (`ON DELETE
                /// CASCADE`).
                async fn delete_product(&self, id: ProductId) -> Result<(), StoreError> {
                    let deleted = sqlx::query("DELETE FROM products WHERE id = $1")
                        .bind(i64::from(id.get()))
                        .execute(self.pool())
                        .await
                        .map_err(Self::db("delete product"))?;
                    self.served_write();
                    if deleted.rows_affected() == 0 {
                        return Err(StoreError::NotFound(format!("product {id}")));
                    }
                    Ok(())
                }

                async fn get_product(&self, id: ProductId) -> Result<ProductView, StoreError> {
                    let mut tx = self
                        .pool()
                        .begin_with(Self::BEGIN_READ)
                        .await
                        .map_err(Self::db("read product"))?;
                    let row: ProductRow = sqlx::query_as(&format!(
                        "SELECT {VIEW_COLUMNS} FROM products WHERE id = $1"
                    ))
                    .bind(i64::from(id.get()))
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(Self::db("read product"))?
                    .ok_or_else(|| StoreError::NotFound(format!("product {id}")))?;
                    let view = views(&mut tx, vec![row.into_product()?]).await?;
                    tx.commit().await.map_err(Self::db("read product"))?;
                    view.into_iter()
                        .next()
                        .ok_or_else(|| StoreError::NotFound(format!("product {id}")))
                }

                async fn list_products(
                    &self,
                    page: PageRequest,
                ) -> Result<Page<ProductView>, StoreError> {
                    let (limit, offset) = $crate::limit_offset(page);
                    let mut tx = self
                        .pool()
                        .begin_with(Self::BEGIN_READ)
                        .await
                        .map_err(Self::db("list products"))?;
                    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM products")
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(Self::db("list products"))?;
                    let rows: Vec<ProductRow> = sqlx::query_as(&format!(
                        "SELECT {VIEW_COLUMNS} FROM products ORDER BY id LIMIT $1 OFFSET $2"
                    ))
                    .bind(limit)
                    .bind(offset)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(Self::db("list products"))?;
                    let products = rows
                        .into_iter()
                        .map(ProductRow::into_product)
                        .collect::<Result<Vec<_>, _>>()?;
                    let items = views(&mut tx, products).await?;
                    tx.commit().await.map_err(Self::db("list products"))?;
                    Ok(Page {
                        items,
                        total: u64::try_from(total).unwrap_or(0),
                    })
                }

                async fn enabled_products(&self) -> Result<Vec<ProductId>, StoreError> {
                    let ids: Vec<i64> =
                        sqlx::query_scalar("SELECT id FROM products WHERE enabled ORDER BY id")
                            .fetch_all(self.pool())
                            .await
                            .map_err(Self::db("list enabled products"))?;
                    ids.into_iter().map($crate::product_id).collect()
                }

                async fn set_partner_status(
                    &self,
                    id: ProductId,
                    status: PartnerStatus,
                ) -> Result<bool, StoreError> {
                    // Written only when it changes; a missing row is told apart from an
                    // unchanged one.
                    let row: Option<(bool,)> =
                        sqlx::query_as("SELECT partner_status <> $2 FROM products WHERE id = $1")
                            .bind(i64::from(id.get()))
                            .bind(status.as_str())
                            .fetch_optional(self.pool())
                            .await
                            .map_err(Self::db("read partner status"))?;
                    match row {
                        None => Err(StoreError::NotFound(format!("product {id}"))),
                        Some((false,)) => Ok(false),
                        Some((true,)) => {
                            let updated = sqlx::query(
                                "UPDATE products SET partner_status = $2
                                 WHERE id = $1 AND partner_status <> $2",
                            )
                            .bind(i64::from(id.get()))
                            .bind(status.as_str())
                            .execute(self.pool())
                            .await
                            .map_err(Self::db("record partner status"))?;
                            self.served_write();
                            Ok(updated.rows_affected() > 0)
                        }
                    }
                }
            }
        };
    };
}
