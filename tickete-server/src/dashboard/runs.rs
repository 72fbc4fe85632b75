//! The execution log: runs by job, and one run with its errors.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use serde::Deserialize;
use tickete_app::views::RunBody;
use tickete_core::{PageRequest, RunId};

use super::forms::{bad_page, page_number};
use super::layout::{self, problem, time};
use super::overview::unavailable;
use super::Operator;
use crate::state::AppState;

const PAGE_SIZE: u32 = 20;

/// A table of runs; with `live` the script keeps it showing that many latest runs.
pub fn runs_table(runs: &[RunBody], live: Option<u32>) -> Markup {
    html! {
        div.scroll {
            table.runs {
                thead { tr {
                    th { "Run" } th { "Job" } th { "Trigger" } th { "Status" } th { "Started" }
                    th { "Owner" } th { "Scope" } th { "Fetched / planned" } th { "Changed" } th { "Failed" } th { "Missed" }
                } }
                tbody data-live-runs=[live] {
                    @for run in runs {
                        tr id=(format!("run-{}", run.id)) {
                            td { a href=(format!("/admin/runs/{}", run.id)) { "#" (run.id) } }
                            td { (run.job) }
                            td { (run.trigger) }
                            td { span class=(format!("status {}", run.status)) { (run.status) } }
                            td { (time(Some(run.started_at))) }
                            td { (run.owner_text()) }
                            td { (run.scope_text()) }
                            td { (run.fetched) " / " (run.planned) }
                            td { (run.changed) }
                            td { (run.failed) }
                            td { (run.missed) }
                        }
                    }
                }
            }
        }
        @if runs.is_empty() { p.muted.empty { "No runs yet." } }
    }
}

#[derive(Deserialize)]
pub struct RunsQuery {
    job: Option<String>,
    page: Option<String>,
}

/// `GET /admin/runs?job=&page=`.
pub async fn list(
    State(state): State<AppState>,
    operator: Operator,
    Query(query): Query<RunsQuery>,
) -> Response {
    let Some(page) = page_number(query.page.as_deref()) else {
        return bad_page();
    };
    let job = query.job.filter(|job| !job.is_empty());
    let request = PageRequest {
        page,
        limit: PAGE_SIZE,
    };
    let jobs = state
        .engine()
        .run_log()
        .list_jobs()
        .await
        .unwrap_or_default();
    let body = match state.actions().list_runs(job.as_deref(), request).await {
        Err(error) => unavailable(error),
        Ok(runs) => {
            let pages = runs.total_length.div_ceil(u64::from(PAGE_SIZE)).max(1);
            let link = |page: u32| match &job {
                Some(job) => format!("/admin/runs?job={}&page={page}", urlencode(job)),
                None => format!("/admin/runs?page={page}"),
            };
            html! {
                form.inline-form method="get" action="/admin/runs" {
                    label for="job" { "Job" }
                    select #job name="job" {
                        option value="" { "all jobs" }
                        @for known in &jobs {
                            option value=(known.name) selected[job.as_deref() == Some(known.name.as_str())] { (known.name) }
                        }
                        option value="one-off" selected[job.as_deref() == Some("one-off")] { "one-off" }
                    }
                    button type="submit" { "Show" }
                }
                (runs_table(&runs.data, (page == 1 && job.is_none()).then_some(PAGE_SIZE)))
                p.pager {
                    @if page > 1 { a href=(link(page - 1)) { "← newer" } }
                    span { "page " (page) " of " (pages) " · " (runs.total_length) " runs" }
                    @if u64::from(page) < pages { a href=(link(page + 1)) { "older →" } }
                }
            }
        }
    };
    layout::page(&operator, "Runs", "/admin/runs", body)
}

fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("", text)])
        .map(|pair| pair.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}

/// `GET /admin/runs/{id}`: one run with its counts and error lines.
pub async fn detail(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return problem(
            StatusCode::BAD_REQUEST,
            "the run id in the path must be an integer",
        );
    };
    let run = match state.actions().get_run(RunId(id)).await {
        Ok(run) => run,
        Err(error) => {
            let error = crate::error::ApiError::from(error);
            return problem(error.status, &error.message);
        }
    };
    let body = html! {
        dl.facts data-live-run=(run.id) {
            dt { "Job" } dd { a href=(format!("/admin/runs?job={}", urlencode(&run.job))) { (run.job) } }
            dt { "Trigger" } dd { (run.trigger) }
            dt { "Status" } dd { span data-live="status" class=(format!("status {}", run.status)) { (run.status) } }
            dt { "Due" } dd { (time(Some(run.due_at))) }
            dt { "Started" } dd { (time(Some(run.started_at))) }
            dt { "Finished" } dd data-live="finishedAt" { (time(run.finished_at)) }
            dt { "Owner" } dd { (run.owner_text()) }
            dt { "Scope" } dd { (run.scope_text()) }
            @if let Some(original) = run.replans {
                dt { "Re-plans" } dd { a href=(format!("/admin/runs/{original}")) { "#" (original) } }
            }
            @if run.skipped_ticks > 0 {
                dt { "Skipped ticks" } dd { (run.skipped_ticks) }
            }
            dt { "Planned" } dd data-live="planned" { (run.planned) }
            dt { "Fetched" } dd data-live="fetched" { (run.fetched) }
            dt { "Changed" } dd data-live="changed" { (run.changed) }
            dt { "Unchanged" } dd data-live="unchanged" { (run.unchanged) }
            dt { "Already fresh" } dd data-live="skippedFresh" { (run.skipped_fresh) }
            dt { "Failed" } dd data-live="failed" { (run.failed) }
            dt { "Missed" } dd data-live="missed" { (run.missed) }
        }
        h2 { "Errors (" (run.errors.len()) ")" }
        @if run.errors.is_empty() {
            p.muted { "No errors." }
        } @else {
            ol.errors { @for line in &run.errors { li { code { (line) } } } }
        }
    };
    layout::page(&operator, &format!("Run #{id}"), "/admin/runs", body)
}
