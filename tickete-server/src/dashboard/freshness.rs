//! The freshness heatmap: every product × the next dates, coloured by age against the date's
//! target, drawn from one request; a cell opens its detail.

use std::time::Instant;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use maud::html;
use serde::Deserialize;
use tickete_app::heatmap::CellGrade;
use tickete_core::engine::MAX_WINDOW_DAYS;
use tickete_core::ProductId;

use super::layout::{self, duration, problem, time};
use super::overview::unavailable;
use super::Operator;
use crate::state::AppState;

const GRADES: [CellGrade; 5] = [
    CellGrade::Fresh,
    CellGrade::Late,
    CellGrade::Stale,
    CellGrade::Never,
    CellGrade::NoTarget,
];

fn legend(grade: CellGrade) -> &'static str {
    match grade {
        CellGrade::Fresh => "within target",
        CellGrade::Late => "up to 2× target",
        CellGrade::Stale => "over 2× target",
        CellGrade::Never => "never fetched",
        CellGrade::NoTarget => "no job covers the date",
    }
}

#[derive(Deserialize)]
pub struct HeatmapQuery {
    days: Option<String>,
}

/// `GET /admin/freshness?days=62`.
pub async fn page(
    State(state): State<AppState>,
    operator: Operator,
    Query(query): Query<HeatmapQuery>,
) -> Response {
    let days = match query.days.as_deref().map(str::parse::<u32>) {
        None => MAX_WINDOW_DAYS,
        Some(Ok(days)) if (1..=MAX_WINDOW_DAYS).contains(&days) => days,
        Some(_) => {
            return problem(
                StatusCode::BAD_REQUEST,
                &format!("query parameter `days` must be an integer from 1 to {MAX_WINDOW_DAYS}"),
            )
        }
    };
    let started = Instant::now();
    let map = match state.actions().heatmap(days).await {
        Ok(map) => map,
        Err(error) => {
            return layout::page(
                &operator,
                "Freshness",
                "/admin/freshness",
                unavailable(error),
            )
        }
    };
    let read = started.elapsed();
    let body = html! {
        p.muted {
            (map.products.len()) " products × " (map.dates.len()) " dates, measured " (time(Some(map.generated_at)))
            ". Each cell is the age of a date's data against the target of that date (the shortest period of the enabled jobs covering it). Select a cell for its detail."
        }
        ul.legend {
            @for grade in GRADES {
                li { i class=(grade.as_str()) {} (legend(grade)) ": " strong { (map.totals[grade as usize]) } }
            }
        }
        div #cell-detail.card aria-live="polite" { p.muted { "No cell selected." } }
        div.scroll.heat-scroll {
            table #heatmap.heatmap data-dates=(map.dates.iter().map(NaiveDate::to_string).collect::<Vec<_>>().join(",")) {
                thead {
                    tr {
                        th.corner { "product" }
                        @for (date, target) in map.dates.iter().zip(&map.targets) {
                            th title=(format!("{date}: target {}", target.map_or("none".to_owned(), duration))) {
                                (date.format("%d"))
                            }
                        }
                    }
                }
                tbody {
                    @for row in &map.products {
                        tr data-p=(row.id) class=[(!row.enabled).then_some("disabled")] {
                            th title=(row.name) { (row.id) }
                            @for grade in &row.grades { td class=(grade.as_str()) {} }
                        }
                    }
                }
            }
        }
    };
    let mut response = layout::page(&operator, "Freshness", "/admin/freshness", body);
    // The read and the rendering, for the load script and the browser's timing panel.
    let total = started.elapsed();
    if let Ok(value) = format!(
        "read;dur={:.1}, total;dur={:.1}",
        read.as_secs_f64() * 1e3,
        total.as_secs_f64() * 1e3
    )
    .parse()
    {
        response.headers_mut().insert("server-timing", value);
    }
    response
}

#[derive(Deserialize)]
pub struct CellQuery {
    product: Option<String>,
    date: Option<String>,
}

/// `GET /admin/freshness/cell?product=&date=`: the detail of one cell, as a fragment.
pub async fn cell(
    State(state): State<AppState>,
    _operator: Operator,
    Query(query): Query<CellQuery>,
) -> Response {
    let Some(id) = query
        .product
        .as_deref()
        .and_then(|id| id.parse::<u32>().ok())
        .and_then(|id| ProductId::new(id).ok())
    else {
        return fragment_error(
            StatusCode::BAD_REQUEST,
            "query parameter `product` must be a product id (a positive integer)",
        );
    };
    let Some(date) = query
        .date
        .as_deref()
        .and_then(|date| NaiveDate::parse_from_str(date, "%Y-%m-%d").ok())
    else {
        return fragment_error(
            StatusCode::BAD_REQUEST,
            "query parameter `date` must be a date as YYYY-MM-DD",
        );
    };
    match state.actions().heatmap_cell(id, date).await {
        Err(error) => {
            let error = crate::error::ApiError::from(error);
            fragment_error(error.status, &error.message)
        }
        Ok(cell) => html! {
            h2 { "Product " (cell.product) " · " (cell.date) }
            p { (cell.name) }
            dl.facts {
                dt { "State" } dd { span class=(format!("swatch {}", cell.grade.as_str())) {} (legend(cell.grade)) }
                dt { "Fetched" } dd { (time(cell.synced_at)) }
                dt { "Age" } dd { (cell.age_seconds.map_or("–".to_owned(), duration)) }
                dt { "Target" } dd { (cell.target_seconds.map_or("none".to_owned(), duration)) }
                dt { "Slots" } dd { (cell.slots) " (" (cell.open_slots) " open)" }
                dt { "Last error" } dd { @if let Some(error) = &cell.last_error { code { (error) } } @else { "none" } }
            }
            p { a href=(format!("/api/v1/products/{}/slots?date={}", cell.product, cell.date)) { "Slots as served" } }
        }
        .into_response(),
    }
}

fn fragment_error(status: StatusCode, message: &str) -> Response {
    (status, html! { p.flash.failed role="alert" { (message) } }).into_response()
}
