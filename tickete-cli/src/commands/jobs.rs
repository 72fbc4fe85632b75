//! `tickete jobs [list|enable|disable|trigger|set-schedule]`.

use chrono::Utc;
use tickete_core::engine::schedule::{next_tick, parse_schedule};
use tickete_core::engine::RunRequest;
use tickete_core::{InventoryStore, JobPatch, SyncJob, Trigger};
use tickete_server::dto::{DataEnvelope, JobBody, PageEnvelope};

use super::execute;
use crate::cli::JobsCommand;
use crate::context::Ctx;
use crate::error::CliError;
use crate::output::{self, or_dash, time, Table};

/// Runs a jobs action (list when none is given).
pub async fn run(ctx: &Ctx, action: Option<JobsCommand>) -> Result<(), CliError> {
    let store = ctx.seeded_store().await?;
    match action.unwrap_or(JobsCommand::List) {
        JobsCommand::List => list(ctx, store.as_ref()).await,
        JobsCommand::Enable { name } => {
            let patch = JobPatch {
                enabled: Some(true),
                ..JobPatch::default()
            };
            changed(ctx, store.as_ref(), &name, &patch, "enabled").await
        }
        JobsCommand::Disable { name } => {
            let patch = JobPatch {
                enabled: Some(false),
                ..JobPatch::default()
            };
            changed(ctx, store.as_ref(), &name, &patch, "disabled").await
        }
        JobsCommand::SetSchedule {
            name,
            schedule,
            window_days,
        } => {
            parse_schedule(&schedule)?;
            let patch = JobPatch {
                schedule: Some(schedule),
                window_days,
                enabled: None,
            };
            changed(ctx, store.as_ref(), &name, &patch, "updated").await
        }
        JobsCommand::Trigger { name } => {
            let job = store.get_job(&name).await?;
            let partner = ctx.partner().await?;
            let engine = ctx.engine(store, partner.source.clone()).await?;
            execute::run_and_wait(ctx, &engine, RunRequest::for_job(&job, Trigger::Manual)).await
        }
    }
}

async fn body(ctx: &Ctx, store: &dyn InventoryStore, job: &SyncJob) -> Result<JobBody, CliError> {
    let last = store.last_run(&job.name).await?;
    let next = parse_schedule(&job.schedule)
        .ok()
        .and_then(|cron| next_tick(&cron, ctx.config.timezone, Utc::now()));
    Ok(JobBody::new(job, last.as_ref(), next))
}

async fn list(ctx: &Ctx, store: &dyn InventoryStore) -> Result<(), CliError> {
    let jobs = store.list_jobs().await?;
    let mut data = Vec::with_capacity(jobs.len());
    for job in &jobs {
        data.push(body(ctx, store, job).await?);
    }
    let envelope = PageEnvelope {
        total_length: data.len() as u64,
        limit: data.len().max(1) as u32,
        data,
        page: 1,
        status_code: 200,
    };
    if ctx.json {
        return output::json(&envelope);
    }
    let mut table = Table::new(&[
        "name",
        "schedule",
        "window",
        "enabled",
        "last run",
        "last status",
        "next run",
    ]);
    for job in &envelope.data {
        table.row(vec![
            job.name.clone(),
            job.schedule.clone(),
            format!("{} d", job.window_days),
            if job.enabled { "yes" } else { "no" }.to_owned(),
            or_dash(job.last_run_at.map(time)),
            or_dash(job.last_status.clone()),
            or_dash(job.next_run_at.map(time)),
        ]);
    }
    table.print_or("no jobs");
    output::line(format!(
        "times in UTC; schedules run in {}",
        ctx.config.timezone.name()
    ));
    Ok(())
}

async fn changed(
    ctx: &Ctx,
    store: &dyn InventoryStore,
    name: &str,
    patch: &JobPatch,
    what: &str,
) -> Result<(), CliError> {
    let job = store.update_job(name, patch).await?;
    let body = body(ctx, store, &job).await?;
    if ctx.json {
        return output::json(&DataEnvelope::ok(body));
    }
    output::line(format!(
        "{what} job {}: `{}`, window {} d, {}; next run {}",
        body.name,
        body.schedule,
        body.window_days,
        if body.enabled { "enabled" } else { "disabled" },
        or_dash(body.next_run_at.map(time))
    ));
    output::line("a running server picks the change up at its next scheduler tick");
    Ok(())
}
