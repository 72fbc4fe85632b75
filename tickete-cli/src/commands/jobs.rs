//! `tickete jobs [list|enable|disable|trigger|set-schedule]`.

use tickete_app::actions::JobUpdate;
use tickete_app::views::{DataEnvelope, JobBody};
use tickete_app::Actions;
use tickete_core::engine::RunRequest;
use tickete_core::{PageRequest, Trigger};

use super::execute;
use crate::cli::JobsCommand;
use crate::context::Ctx;
use crate::error::CliError;
use crate::output::{self, or_dash, time, Table};

/// Runs a jobs action (list when none is given).
pub async fn run(ctx: &Ctx, action: Option<JobsCommand>) -> Result<(), CliError> {
    let app = ctx.seeded_app().await?;
    let actions = ctx.actions().await?;
    match action.unwrap_or(JobsCommand::List) {
        JobsCommand::List => list(ctx, &actions).await,
        JobsCommand::Enable { name } => {
            let job = actions.set_job_enabled(&name, true).await?;
            changed(ctx, job, "enabled")
        }
        JobsCommand::Disable { name } => {
            let job = actions.set_job_enabled(&name, false).await?;
            changed(ctx, job, "disabled")
        }
        JobsCommand::SetSchedule {
            name,
            schedule,
            window_days,
        } => {
            let update = JobUpdate {
                schedule: Some(schedule),
                window_days,
                enabled: None,
            };
            let job = actions.update_job(&name, update).await?;
            changed(ctx, job, "updated")
        }
        JobsCommand::Trigger { name } => {
            let job = app.store().get_job(&name).await?;
            let (engine, _partner) = ctx.one_off_engine().await?;
            execute::run_and_wait(ctx, &engine, RunRequest::for_job(&job, Trigger::Manual)).await
        }
    }
}

async fn list(ctx: &Ctx, actions: &Actions) -> Result<(), CliError> {
    let all = PageRequest {
        page: 1,
        limit: PageRequest::MAX_LIMIT,
    };
    let mut envelope = actions.list_jobs(all).await?;
    envelope.limit = envelope.data.len().max(1) as u32;
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
        ctx.settings.sync.timezone.name()
    ));
    Ok(())
}

fn changed(ctx: &Ctx, body: JobBody, what: &str) -> Result<(), CliError> {
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
