//! Sync control and admin routes (bearer token required).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use tickete_core::engine::schedule::{next_tick, parse_schedule};
use tickete_core::engine::{RunRequest, MAX_WINDOW_DAYS};
use tickete_core::{JobPatch, Product, ProductPatch, RunId, StoreError, SyncJob, Trigger};

use crate::dto::{
    AcceptedRun, BudgetBody, DataEnvelope, JobBody, JobUpdateRequest, PageEnvelope, ProductBody,
    ProductUpdateRequest, RunBody, SyncStatusBody, ToggleRequest,
};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{parse_product_id, JsonBody, PathParam, QueryParams};
use crate::state::AppState;

async fn sync_status(state: &AppState) -> ApiResult<SyncStatusBody> {
    let status = state.engine().status().await?;
    let last = state
        .store()
        .list_runs(None, tickete_core::PageRequest { page: 1, limit: 1 })
        .await?;
    Ok(SyncStatusBody {
        paused: status.pause.paused,
        paused_at: status.pause.paused_at,
        pending: status.pending,
        in_flight: status.in_flight,
        partner_budget: BudgetBody {
            rate_per_minute: status.rate_per_minute,
            spacing_ms: 60_000 / u64::from(status.rate_per_minute.max(1)),
            held_until: status.held_until,
        },
        last_run: last.items.first().map(RunBody::from),
    })
}

/// Pauses partner calls (persisted; the in-flight call finishes).
#[utoipa::path(post, path = "/api/v1/sync/pause", tag = "sync", security(("bearer" = [])),
    responses((status = 200, body = SyncStatusBody)))]
pub async fn pause(State(state): State<AppState>) -> ApiResult<Json<SyncStatusBody>> {
    state.engine().pause().await?;
    Ok(Json(sync_status(&state).await?))
}

/// Resumes partner calls.
#[utoipa::path(post, path = "/api/v1/sync/resume", tag = "sync", security(("bearer" = [])),
    responses((status = 200, body = SyncStatusBody)))]
pub async fn resume(State(state): State<AppState>) -> ApiResult<Json<SyncStatusBody>> {
    state.engine().resume().await?;
    Ok(Json(sync_status(&state).await?))
}

/// Pause flag, queue and budget.
#[utoipa::path(get, path = "/api/v1/sync/status", tag = "sync", security(("bearer" = [])),
    responses((status = 200, body = SyncStatusBody)))]
pub async fn status(State(state): State<AppState>) -> ApiResult<Json<SyncStatusBody>> {
    Ok(Json(sync_status(&state).await?))
}

/// Lifts a partner 429 hold (`partnerBudget.heldUntil`): calls resume at the normal pace now
/// rather than at the partner's reset. Answers the status, with no hold.
#[utoipa::path(post, path = "/api/v1/sync/clear-hold", tag = "sync", security(("bearer" = [])),
    responses((status = 200, body = SyncStatusBody)))]
pub async fn clear_hold(State(state): State<AppState>) -> ApiResult<Json<SyncStatusBody>> {
    state.engine().clear_hold().await?;
    Ok(Json(sync_status(&state).await?))
}

async fn job_body(state: &AppState, job: &SyncJob) -> ApiResult<JobBody> {
    let last = state.store().last_run(&job.name).await?;
    let next = parse_schedule(&job.schedule).ok().and_then(|cron| {
        next_tick(
            &cron,
            state.engine().config().time_zone,
            state.engine().clock().now(),
        )
    });
    Ok(JobBody::new(job, last.as_ref(), next))
}

/// Jobs, paginated.
#[utoipa::path(get, path = "/api/v1/admin/cron", tag = "admin", security(("bearer" = [])),
    params(("page" = Option<u32>, Query, description = "1-based, default 1", minimum = 1, maximum = 1000000), ("limit" = Option<u32>, Query, description = "1..=100, default 10", minimum = 1, maximum = 100)),
    responses((status = 200, body = PageEnvelope<JobBody>), (status = 400, body = ErrorBody)))]
pub async fn list_jobs(
    State(state): State<AppState>,
    query: QueryParams,
) -> ApiResult<Json<PageEnvelope<JobBody>>> {
    let page = query.page()?;
    let jobs = state.store().list_jobs().await?;
    let total = jobs.len() as u64;
    let mut data = Vec::new();
    let offset = usize::try_from(page.offset()).unwrap_or(usize::MAX);
    for job in jobs.iter().skip(offset).take(page.limit as usize) {
        data.push(job_body(&state, job).await?);
    }
    Ok(Json(PageEnvelope {
        data,
        total_length: total,
        page: page.page,
        limit: page.limit,
        status_code: 200,
    }))
}

/// Enables or disables a job.
#[utoipa::path(put, path = "/api/v1/admin/cron/toggle", tag = "admin", security(("bearer" = [])),
    request_body = ToggleRequest,
    responses((status = 200, body = DataEnvelope<JobBody>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn toggle_job(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<ToggleRequest>,
) -> ApiResult<Json<DataEnvelope<JobBody>>> {
    let patch = JobPatch {
        enabled: Some(body.status),
        ..JobPatch::default()
    };
    let job = state.store().update_job(&body.name, &patch).await?;
    Ok(Json(DataEnvelope::ok(job_body(&state, &job).await?)))
}

/// Changes a job's schedule, window or enabled flag; takes effect without a restart.
#[utoipa::path(put, path = "/api/v1/admin/cron/{name}", tag = "admin", security(("bearer" = [])),
    params(("name" = String, Path, description = "Job name")), request_body = JobUpdateRequest,
    responses((status = 200, body = DataEnvelope<JobBody>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_job(
    State(state): State<AppState>,
    PathParam(name): PathParam,
    JsonBody(body): JsonBody<JobUpdateRequest>,
) -> ApiResult<Json<DataEnvelope<JobBody>>> {
    if let Some(schedule) = &body.schedule {
        parse_schedule(schedule)?;
    }
    if let Some(days) = body.window_days {
        if !(1..=MAX_WINDOW_DAYS).contains(&days) {
            return Err(ApiError::bad_request(format!(
                "windowDays {days} is out of range: expected an integer from 1 to {MAX_WINDOW_DAYS}"
            )));
        }
    }
    let patch = JobPatch {
        schedule: body.schedule,
        window_days: body.window_days,
        enabled: body.enabled,
    };
    let job = state.store().update_job(&name, &patch).await?;
    Ok(Json(DataEnvelope::ok(job_body(&state, &job).await?)))
}

fn accepted(run: &tickete_core::SyncRun) -> (StatusCode, Json<AcceptedRun>) {
    (
        StatusCode::ACCEPTED,
        Json(AcceptedRun {
            run_id: run.id.0,
            id: run.id.0,
            data: RunBody::from(run),
            status_code: 202,
        }),
    )
}

/// Runs a job now.
#[utoipa::path(post, path = "/api/v1/admin/cron/trigger", tag = "admin", security(("bearer" = [])),
    params(("name" = String, Query, description = "Job name", min_length = 1)),
    responses((status = 202, body = AcceptedRun), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn trigger_job(
    State(state): State<AppState>,
    query: QueryParams,
) -> ApiResult<(StatusCode, Json<AcceptedRun>)> {
    let name = query.required_text("name")?;
    let job = state.store().get_job(name).await?;
    let run = state
        .engine()
        .start_run(RunRequest::for_job(&job, Trigger::Manual))
        .await?;
    Ok(accepted(&run))
}

/// One-off sync of the next `daysToSync` days.
#[utoipa::path(post, path = "/api/v1/admin/cron/sync", tag = "admin", security(("bearer" = [])),
    params(("daysToSync" = u32, Query, description = "Days from today, 1..=62", minimum = 1, maximum = 62)),
    responses((status = 202, body = AcceptedRun), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn sync_days(
    State(state): State<AppState>,
    query: QueryParams,
) -> ApiResult<(StatusCode, Json<AcceptedRun>)> {
    let days = query.int_in("daysToSync", 1, MAX_WINDOW_DAYS, None)?;
    let run = state
        .engine()
        .start_run(RunRequest::next_days(days))
        .await?;
    Ok(accepted(&run))
}

/// The execution log, newest first.
#[utoipa::path(get, path = "/api/v1/admin/runs", tag = "admin", security(("bearer" = [])),
    params(("job" = Option<String>, Query, description = "Only runs of this job"), ("page" = Option<u32>, Query, description = "1-based, default 1", minimum = 1, maximum = 1000000), ("limit" = Option<u32>, Query, description = "1..=100, default 10", minimum = 1, maximum = 100)),
    responses((status = 200, body = PageEnvelope<RunBody>), (status = 400, body = ErrorBody)))]
pub async fn list_runs(
    State(state): State<AppState>,
    query: QueryParams,
) -> ApiResult<Json<PageEnvelope<RunBody>>> {
    let page = query.page()?;
    let job = query.optional_text("job")?;
    let runs = state.store().list_runs(job, page).await?;
    Ok(Json(PageEnvelope {
        data: runs.items.iter().map(RunBody::from).collect(),
        total_length: runs.total,
        page: page.page,
        limit: page.limit,
        status_code: 200,
    }))
}

/// One run.
#[utoipa::path(get, path = "/api/v1/admin/runs/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Run id: a positive integer", minimum = 1)),
    responses((status = 200, body = DataEnvelope<RunBody>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_run(
    State(state): State<AppState>,
    PathParam(id): PathParam,
) -> ApiResult<Json<DataEnvelope<RunBody>>> {
    let id: RunId = id
        .parse()
        .map_err(|e| ApiError::bad_request(format!("run id: {e}")))?;
    let run = state.store().get_run(id).await?;
    Ok(Json(DataEnvelope::ok(RunBody::from(&run))))
}

/// Adds a product to the catalogue, or changes its name or enabled flag.
#[utoipa::path(put, path = "/api/v1/admin/products/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = u32, Path, description = "Product id: a positive integer", minimum = 1, maximum = 4_294_967_295_f64, format = Int64)), request_body = ProductUpdateRequest,
    responses((status = 200, body = DataEnvelope<ProductBody>), (status = 201, body = DataEnvelope<ProductBody>), (status = 400, body = ErrorBody)))]
pub async fn put_product(
    State(state): State<AppState>,
    PathParam(id): PathParam,
    JsonBody(body): JsonBody<ProductUpdateRequest>,
) -> ApiResult<(StatusCode, Json<DataEnvelope<ProductBody>>)> {
    let id = parse_product_id(&id)?;
    if body
        .name
        .as_deref()
        .is_some_and(|name| name.trim().is_empty() || name.chars().count() > 200)
    {
        return Err(ApiError::bad_request("name must be 1 to 200 characters"));
    }
    let patch = ProductPatch {
        name: body.name.clone(),
        enabled: body.enabled,
    };
    let status = match state.store().update_product(id, &patch).await {
        Ok(_) => StatusCode::OK,
        Err(StoreError::NotFound(_)) => {
            let product = Product {
                id,
                name: body.name.unwrap_or_else(|| format!("Product {id}")),
                enabled: body.enabled.unwrap_or(true),
            };
            state.store().upsert_product(&product).await?;
            StatusCode::CREATED
        }
        Err(error) => return Err(error.into()),
    };
    state.cache().invalidate(id);
    let view = state.store().get_product(id).await?;
    let mut envelope = DataEnvelope::ok(ProductBody::from(&view));
    envelope.status_code = status.as_u16();
    Ok((status, Json(envelope)))
}

/// Removes a product with its synced inventory.
#[utoipa::path(delete, path = "/api/v1/admin/products/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = u32, Path, description = "Product id: a positive integer", minimum = 1, maximum = 4_294_967_295_f64, format = Int64)),
    responses((status = 204, description = "Removed"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_product(
    State(state): State<AppState>,
    PathParam(id): PathParam,
) -> ApiResult<StatusCode> {
    let id = parse_product_id(&id)?;
    state.store().delete_product(id).await?;
    state.cache().invalidate(id);
    Ok(StatusCode::NO_CONTENT)
}
