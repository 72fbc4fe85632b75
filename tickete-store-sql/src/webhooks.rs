//! Webhook subscriptions and their deliveries ([`Webhooks`](tickete_core::feed::Webhooks)),
//! written once for both dialects; fanning events out and claiming due deliveries open their
//! transaction each database's way.

/// Deliveries due at `$1`, not leased, of enabled webhooks, each the earliest pending one of
/// its (product, date) line, at most `$2`, in event order.
pub const DUE_DELIVERIES: &str = "
    FROM deliveries AS d
    JOIN webhooks AS w ON w.id = d.webhook_id
    LEFT JOIN events AS e ON e.seq = d.event_seq
    WHERE d.status = 'pending' AND d.next_attempt_at <= $1
      AND (d.lease_until IS NULL OR d.lease_until <= $1) AND w.enabled
      AND (d.subject IS NULL OR NOT EXISTS (
          SELECT 1 FROM deliveries AS o
          WHERE o.webhook_id = d.webhook_id AND o.subject = d.subject
            AND o.event_seq < d.event_seq AND o.status = 'pending'))
    ORDER BY d.event_seq LIMIT $2";

/// Implements [`Webhooks`](tickete_core::feed::Webhooks) for a store that implements
/// [`Dialect`](crate::Dialect) and has the inherent methods `begin_fan_out(&self)` and
/// `begin_claim(&self, now)`, each `-> Result<Option<Transaction>, StoreError>`: the
/// transaction to fan out or claim in, or `None` when there is nothing to do.
#[macro_export]
macro_rules! impl_webhooks {
    ($store:ty) => {
        const _: () = {
            use $crate::macro_support::chrono::{DateTime, Utc};
            use $crate::macro_support::tickete_core::feed::{
                join_types, AttemptResult, ClaimedDelivery, Delivery, DeliveryStatus, Webhook,
                WebhookPatch, WebhookSecret, Webhooks,
            };
            use $crate::macro_support::tickete_core::{Page, PageRequest, StoreError};
            use $crate::macro_support::{async_trait, sqlx, Dialect};
            use $crate::rows::{DELIVERY_COLUMNS, WEBHOOK_COLUMNS};

            type Store = $store;
            type Integer = <Store as Dialect>::Integer;
            type WebhookRow = $crate::rows::WebhookRow<<Store as Dialect>::Instant>;
            type DeliveryRow = $crate::rows::DeliveryRow<<Store as Dialect>::Instant, Integer>;
            type ClaimRow = $crate::rows::ClaimRow<<Store as Dialect>::Instant, Integer>;

            fn not_found(what: &str, id: &str) -> StoreError {
                StoreError::NotFound(format!("{what} {id}"))
            }

            #[async_trait]
            impl Webhooks for Store {
                async fn create_webhook(&self, webhook: &Webhook) -> Result<Webhook, StoreError> {
                    // A new subscription starts at the latest event: it gets what comes next.
                    sqlx::query(&format!(
                        "INSERT INTO webhooks (id, url, events, description, enabled, secret,
                                               created_at, failing_since, cursor)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, {})",
                        Self::LATEST_EVENT_SEQ
                    ))
                    .bind(&webhook.id)
                    .bind(&webhook.url)
                    .bind(join_types(&webhook.events))
                    .bind(&webhook.description)
                    .bind(webhook.enabled)
                    .bind(webhook.secret.expose())
                    .bind(Self::instant(webhook.created_at))
                    .bind(webhook.failing_since.map(Self::instant))
                    .execute(self.pool())
                    .await
                    .map_err(Self::db("create webhook"))?;
                    self.get_webhook(&webhook.id).await
                }

                async fn list_webhooks(
                    &self,
                    page: PageRequest,
                ) -> Result<Page<Webhook>, StoreError> {
                    let (limit, offset) = $crate::limit_offset(page);
                    let rows: Vec<WebhookRow> = sqlx::query_as(&format!(
                        "SELECT {WEBHOOK_COLUMNS} FROM webhooks ORDER BY {} LIMIT $1 OFFSET $2",
                        Self::INSERTION_ORDER
                    ))
                    .bind(limit)
                    .bind(offset)
                    .fetch_all(self.pool())
                    .await
                    .map_err(Self::db("list webhooks"))?;
                    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM webhooks")
                        .fetch_one(self.pool())
                        .await
                        .map_err(Self::db("list webhooks"))?;
                    Ok(Page {
                        items: rows
                            .into_iter()
                            .map(WebhookRow::into_webhook)
                            .collect::<Result<_, _>>()?,
                        total: u64::try_from(total).unwrap_or(0),
                    })
                }

                async fn get_webhook(&self, id: &str) -> Result<Webhook, StoreError> {
                    let row: Option<WebhookRow> = sqlx::query_as(&format!(
                        "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1"
                    ))
                    .bind(id)
                    .fetch_optional(self.pool())
                    .await
                    .map_err(Self::db("read webhook"))?;
                    row.ok_or_else(|| not_found("webhook", id))?.into_webhook()
                }

                async fn update_webhook(
                    &self,
                    id: &str,
                    patch: &WebhookPatch,
                ) -> Result<Webhook, StoreError> {
                    let done = sqlx::query(
                        "UPDATE webhooks SET
                             url = COALESCE($2, url),
                             events = COALESCE($3, events),
                             description = CASE WHEN $4 THEN $5 ELSE description END,
                             failing_since = CASE WHEN $6 AND NOT enabled THEN NULL
                                                  ELSE failing_since END,
                             enabled = COALESCE($6, enabled),
                             secret = COALESCE($7, secret)
                         WHERE id = $1",
                    )
                    .bind(id)
                    .bind(&patch.url)
                    .bind(patch.events.as_deref().map(join_types))
                    .bind(patch.description.is_some())
                    .bind(patch.description.clone().flatten())
                    .bind(patch.enabled)
                    .bind(patch.secret.as_ref().map(WebhookSecret::expose))
                    .execute(self.pool())
                    .await
                    .map_err(Self::db("update webhook"))?;
                    if done.rows_affected() == 0 {
                        return Err(not_found("webhook", id));
                    }
                    self.get_webhook(id).await
                }

                async fn delete_webhook(&self, id: &str) -> Result<(), StoreError> {
                    let done = sqlx::query("DELETE FROM webhooks WHERE id = $1")
                        .bind(id)
                        .execute(self.pool())
                        .await
                        .map_err(Self::db("delete webhook"))?;
                    if done.rows_affected() == 0 {
                        return Err(not_found("webhook", id));
                    }
                    Ok(())
                }

                async fn list_deliveries(
                    &self,
                    webhook: &str,
                    page: PageRequest,
                ) -> Result<Page<Delivery>, StoreError> {
                    self.get_webhook(webhook).await?;
                    let (limit, offset) = $crate::limit_offset(page);
                    let rows: Vec<DeliveryRow> = sqlx::query_as(&format!(
                        "SELECT {DELIVERY_COLUMNS} FROM deliveries AS d WHERE d.webhook_id = $1
                         ORDER BY d.event_seq DESC LIMIT $2 OFFSET $3"
                    ))
                    .bind(webhook)
                    .bind(limit)
                    .bind(offset)
                    .fetch_all(self.pool())
                    .await
                    .map_err(Self::db("list deliveries"))?;
                    let total: i64 =
                        sqlx::query_scalar("SELECT count(*) FROM deliveries WHERE webhook_id = $1")
                            .bind(webhook)
                            .fetch_one(self.pool())
                            .await
                            .map_err(Self::db("list deliveries"))?;
                    Ok(Page {
                        items: rows
                            .into_iter()
                            .map(DeliveryRow::into_delivery)
                            .collect::<Result<_, _>>()?,
                        total: u64::try_from(total).unwrap_or(0),
                    })
                }

                async fn retry_delivery(
                    &self,
                    webhook: &str,
                    delivery: &str,
                    now: DateTime<Utc>,
                ) -> Result<Delivery, StoreError> {
                    self.get_webhook(webhook).await?;
                    let row: Option<DeliveryRow> = sqlx::query_as(&format!(
                        "UPDATE deliveries SET status = 'pending', next_attempt_at = $3,
                                               lease_until = NULL
                         WHERE id = $1 AND webhook_id = $2 RETURNING {}",
                        DELIVERY_COLUMNS.replace("d.", "")
                    ))
                    .bind(delivery)
                    .bind(webhook)
                    .bind(Self::instant(now))
                    .fetch_optional(self.pool())
                    .await
                    .map_err(Self::db("retry delivery"))?;
                    row.ok_or_else(|| not_found("delivery", delivery))?
                        .into_delivery()
                }

                async fn fan_out(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
                    let Some(mut tx) = self.begin_fan_out().await? else {
                        return Ok(0);
                    };
                    let upto: i64 = sqlx::query_scalar("SELECT COALESCE(max(seq), 0) FROM events")
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(Self::db("fan out events"))?;
                    // A webhook's `events` lists the types it wants joined by commas; empty
                    // means all.
                    let created = sqlx::query(&format!(
                        "INSERT INTO deliveries (id, webhook_id, event_seq, event_id, type,
                                                 subject, status, next_attempt_at)
                         SELECT {}, w.id, e.seq, e.id, e.type,
                                CASE WHEN e.product_id IS NULL THEN NULL
                                     ELSE e.product_id || '/' || CAST(e.day AS TEXT) END,
                                'pending', $1
                         FROM webhooks AS w JOIN events AS e ON e.seq > w.cursor AND e.seq <= $2
                         WHERE w.enabled
                           AND (w.events = ''
                                OR ',' || w.events || ',' LIKE '%,' || e.type || ',%')
                         ORDER BY e.seq
                         ON CONFLICT DO NOTHING",
                        Self::NEW_DELIVERY_ID
                    ))
                    .bind(Self::instant(now))
                    .bind(upto)
                    .execute(&mut *tx)
                    .await
                    .map_err(Self::db("fan out events"))?;
                    sqlx::query("UPDATE webhooks SET cursor = $1 WHERE enabled AND cursor < $1")
                        .bind(upto)
                        .execute(&mut *tx)
                        .await
                        .map_err(Self::db("fan out events"))?;
                    tx.commit().await.map_err(Self::db("fan out events"))?;
                    Ok(created.rows_affected())
                }

                async fn claim_deliveries(
                    &self,
                    now: DateTime<Utc>,
                    lease_until: DateTime<Utc>,
                    limit: u32,
                ) -> Result<Vec<ClaimedDelivery>, StoreError> {
                    let Some(mut tx) = self.begin_claim(now).await? else {
                        return Ok(Vec::new());
                    };
                    let rows: Vec<ClaimRow> = sqlx::query_as(&format!(
                        "SELECT {DELIVERY_COLUMNS}, w.url, w.secret, e.body {} {}",
                        $crate::webhooks::DUE_DELIVERIES,
                        Self::CLAIM_LOCK
                    ))
                    .bind(Self::instant(now))
                    .bind(i64::from(limit))
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(Self::db("claim deliveries"))?;
                    let ids: Vec<String> = rows.iter().map(|r| r.delivery.id.clone()).collect();
                    sqlx::query(&format!(
                        "UPDATE deliveries SET lease_until = $1 WHERE id {}",
                        Self::IN_TEXTS.replace("{texts}", "$2")
                    ))
                    .bind(Self::instant(lease_until))
                    .bind(Self::texts(&ids))
                    .execute(&mut *tx)
                    .await
                    .map_err(Self::db("claim deliveries"))?;
                    tx.commit().await.map_err(Self::db("claim deliveries"))?;
                    rows.into_iter().map(ClaimRow::into_claimed).collect()
                }

                async fn release_claims(&self) -> Result<u64, StoreError> {
                    let done = sqlx::query(
                        "UPDATE deliveries SET lease_until = NULL WHERE lease_until IS NOT NULL",
                    )
                    .execute(self.pool())
                    .await
                    .map_err(Self::db("release delivery claims"))?;
                    Ok(done.rows_affected())
                }

                async fn finish_attempt(
                    &self,
                    delivery: &str,
                    result: &AttemptResult,
                    now: DateTime<Utc>,
                    disable_before: DateTime<Utc>,
                ) -> Result<(), StoreError> {
                    let (status, code, error, next, delivered) = match result {
                        AttemptResult::Delivered { status } => (
                            DeliveryStatus::Succeeded,
                            Some(*status),
                            None,
                            None,
                            Some(now),
                        ),
                        AttemptResult::Failed {
                            status,
                            error,
                            retry_at,
                        } => (
                            if retry_at.is_some() {
                                DeliveryStatus::Pending
                            } else {
                                DeliveryStatus::Failed
                            },
                            *status,
                            Some(error.as_str()),
                            *retry_at,
                            None,
                        ),
                    };
                    let mut tx = self
                        .pool()
                        .begin_with(Self::BEGIN_WRITE)
                        .await
                        .map_err(Self::db("record delivery attempt"))?;
                    let webhook: Option<String> = sqlx::query_scalar(
                        "UPDATE deliveries SET attempts = attempts + 1, lease_until = NULL,
                             status = $2, last_response_status = $3, last_error = $4,
                             next_attempt_at = $5, delivered_at = COALESCE($6, delivered_at)
                         WHERE id = $1 RETURNING webhook_id",
                    )
                    .bind(delivery)
                    .bind(status.as_str())
                    .bind(code.map(Integer::from))
                    .bind(error)
                    .bind(next.map(Self::instant))
                    .bind(delivered.map(Self::instant))
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(Self::db("record delivery attempt"))?;
                    let webhook = webhook.ok_or_else(|| not_found("delivery", delivery))?;
                    let streak = if delivered.is_some() {
                        "UPDATE webhooks SET failing_since = NULL WHERE id = $1"
                    } else {
                        "UPDATE webhooks SET failing_since = COALESCE(failing_since, $2),
                             enabled = CASE WHEN COALESCE(failing_since, $2) <= $3 THEN FALSE
                                            ELSE enabled END
                         WHERE id = $1"
                    };
                    sqlx::query(streak)
                        .bind(&webhook)
                        .bind(Self::instant(now))
                        .bind(Self::instant(disable_before))
                        .execute(&mut *tx)
                        .await
                        .map_err(Self::db("record delivery attempt"))?;
                    tx.commit()
                        .await
                        .map_err(Self::db("record delivery attempt"))?;
                    Ok(())
                }
            }
        };
    };
}
