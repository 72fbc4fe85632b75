//! Public read routes: slots, dates, products.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use tickete_core::pricing::dates_window;
use tickete_core::ProductId;

use crate::cache::{CacheKey, CacheKind};
use crate::dto::{DataEnvelope, DatesBody, PageEnvelope, ProductBody, SlotsBody};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{parse_product_id, PathParam, QueryParams};
use crate::state::AppState;

/// Serves a cached body, or computes, serialises and caches it.
async fn cached<T, F>(state: &AppState, key: CacheKey, compute: F) -> ApiResult<Response>
where
    T: Serialize,
    F: std::future::Future<Output = ApiResult<T>>,
{
    if let Some(body) = state.cache().get(&key) {
        return Ok(json(body));
    }
    let _filling = state.cache().fill_lock(key).await;
    let body = match state.cache().get(&key) {
        Some(body) => body,
        None => {
            let generation = state.cache().generation(key.product);
            let value = compute.await?;
            let bytes = if key.wrapped {
                serde_json::to_vec(&DataEnvelope::ok(value))
            } else {
                serde_json::to_vec(&value)
            }
            .map_err(|e| {
                ApiError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
            })?;
            let body = Bytes::from(bytes);
            state.cache().put(key, generation, body.clone());
            body
        }
    };
    Ok(json(body))
}

fn json(body: Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn slots_of(
    state: &AppState,
    id: ProductId,
    query: &QueryParams,
    wrapped: bool,
) -> ApiResult<Response> {
    let date = query.required_date("date")?;
    let key = CacheKey {
        product: id,
        kind: CacheKind::Slots(date),
        wrapped,
    };
    cached(state, key, async {
        Ok(state.actions().slots(id, date).await?)
    })
    .await
}

async fn dates_of(state: &AppState, id: ProductId, wrapped: bool) -> ApiResult<Response> {
    let (today, _) = dates_window(state.engine().today());
    let key = CacheKey {
        product: id,
        kind: CacheKind::Dates(today),
        wrapped,
    };
    cached(state, key, async { Ok(state.actions().dates(id).await?) }).await
}

/// Slots of a product on a date.
#[utoipa::path(get, path = "/api/v1/experience/{id}/slots", tag = "public",
    params(("id" = u32, Path, description = "Product id: a positive integer", minimum = 1, maximum = 4_294_967_295_f64, format = Int64), ("date" = String, Query, description = "Calendar date YYYY-MM-DD", format = Date)),
    responses((status = 200, body = SlotsBody), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn experience_slots(
    State(state): State<AppState>,
    PathParam(id): PathParam,
    query: QueryParams,
) -> ApiResult<Response> {
    slots_of(&state, parse_product_id(&id)?, &query, false).await
}

/// Bookable dates of a product for the next two months, with their lowest price.
#[utoipa::path(get, path = "/api/v1/experience/{id}/dates", tag = "public",
    params(("id" = u32, Path, description = "Product id: a positive integer", minimum = 1, maximum = 4_294_967_295_f64, format = Int64)),
    responses((status = 200, body = DatesBody), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn experience_dates(
    State(state): State<AppState>,
    PathParam(id): PathParam,
) -> ApiResult<Response> {
    dates_of(&state, parse_product_id(&id)?, false).await
}

/// Slots, wrapped in the data envelope.
#[utoipa::path(get, path = "/api/v1/products/{id}/slots", tag = "public",
    params(("id" = u32, Path, description = "Product id: a positive integer", minimum = 1, maximum = 4_294_967_295_f64, format = Int64), ("date" = String, Query, description = "Calendar date YYYY-MM-DD", format = Date)),
    responses((status = 200, body = DataEnvelope<SlotsBody>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn product_slots(
    State(state): State<AppState>,
    PathParam(id): PathParam,
    query: QueryParams,
) -> ApiResult<Response> {
    slots_of(&state, parse_product_id(&id)?, &query, true).await
}

/// Dates, wrapped in the data envelope.
#[utoipa::path(get, path = "/api/v1/products/{id}/dates", tag = "public",
    params(("id" = u32, Path, description = "Product id: a positive integer", minimum = 1, maximum = 4_294_967_295_f64, format = Int64)),
    responses((status = 200, body = DataEnvelope<DatesBody>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn product_dates(
    State(state): State<AppState>,
    PathParam(id): PathParam,
) -> ApiResult<Response> {
    dates_of(&state, parse_product_id(&id)?, true).await
}

/// One product.
#[utoipa::path(get, path = "/api/v1/products/{id}", tag = "public",
    params(("id" = u32, Path, description = "Product id: a positive integer", minimum = 1, maximum = 4_294_967_295_f64, format = Int64)),
    responses((status = 200, body = DataEnvelope<ProductBody>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn product(
    State(state): State<AppState>,
    PathParam(id): PathParam,
) -> ApiResult<Response> {
    let id = parse_product_id(&id)?;
    let key = CacheKey {
        product: id,
        kind: CacheKind::Product,
        wrapped: true,
    };
    cached(&state, key, async {
        Ok(state.actions().get_product(id).await?)
    })
    .await
}

/// Products, paginated.
#[utoipa::path(get, path = "/api/v1/products", tag = "public",
    params(("page" = Option<u32>, Query, description = "1-based, default 1", minimum = 1, maximum = 1000000), ("limit" = Option<u32>, Query, description = "1..=100, default 10", minimum = 1, maximum = 100)),
    responses((status = 200, body = PageEnvelope<ProductBody>), (status = 400, body = ErrorBody)))]
pub async fn products(
    State(state): State<AppState>,
    query: QueryParams,
) -> ApiResult<Json<PageEnvelope<ProductBody>>> {
    Ok(Json(state.actions().list_products(query.page()?).await?))
}
