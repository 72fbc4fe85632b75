//! The worker loop: waits for ready work and budget, fetches, applies, settles.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::queue::{Readiness, TaskEntry};
use super::runs::TaskOutcome;
use super::{Engine, EngineEvent};
use crate::domain::{RunStatus, SyncRun, SyncTask};
use crate::source::SourceError;

impl Engine {
    /// Runs the worker until `shutdown` is cancelled: then stops taking tasks, lets in-flight
    /// calls finish and write, and marks unfinished runs `interrupted`.
    pub async fn run(&self, shutdown: CancellationToken) {
        let capacity = Arc::new(Semaphore::new(self.inner.config.max_in_flight.max(1)));
        let mut in_flight = JoinSet::new();
        loop {
            while in_flight.try_join_next().is_some() {}
            let permit = tokio::select! {
                _ = shutdown.cancelled() => break,
                permit = capacity.clone().acquire_owned() => permit.expect("semaphore never closed"),
            };
            tokio::select! {
                _ = shutdown.cancelled() => break,
                () = self.wait_for_ready_work() => {}
            }
            let waited = Instant::now();
            let budget = tokio::select! {
                _ = shutdown.cancelled() => break,
                budget = self.inner.budget.acquire() => budget,
            };
            metrics::histogram!("tickete_pacer_wait_seconds")
                .record(waited.elapsed().as_secs_f64());
            if let Err(error) = budget {
                tracing::warn!(%error, "partner budget unavailable; retrying in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            // Pause may have landed while we waited for the budget.
            if self.inner.pause.borrow().paused {
                continue;
            }
            let Some((task, entry)) = self.work().queue.pop_ready(Instant::now()) else {
                continue;
            };
            record_queue_depth(self);
            in_flight.spawn(self.clone().execute(task, entry, permit));
        }
        while in_flight.join_next().await.is_some() {}
        self.interrupt_all().await;
    }

    async fn wait_for_ready_work(&self) {
        loop {
            if self.inner.pause.borrow().paused {
                let mut pause = self.inner.pause.subscribe();
                let _ = pause.wait_for(|state| !state.paused).await;
                continue;
            }
            let readiness = self.work().queue.readiness(Instant::now());
            match readiness {
                Readiness::Ready => return,
                Readiness::At(at) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        () = self.inner.wake.notified() => {}
                    }
                }
                Readiness::Empty => self.inner.wake.notified().await,
            }
        }
    }

    #[tracing::instrument(skip_all, fields(product = %task.product, date = %task.date))]
    async fn execute(self, task: SyncTask, mut entry: TaskEntry, _permit: OwnedSemaphorePermit) {
        let inner = &self.inner;
        let fetched = tokio::time::timeout(
            inner.config.fetch_timeout,
            inner.source.fetch(task.product, task.date),
        )
        .await
        .unwrap_or_else(|_| {
            Err(SourceError::Transient(format!(
                "no answer within {:?}",
                inner.config.fetch_timeout
            )))
        });
        metrics::counter!("tickete_partner_requests_total", "outcome" => outcome_label(&fetched))
            .increment(1);
        let outcome = match fetched {
            Ok(snapshot) => {
                match inner
                    .store
                    .apply_day(task.product, &snapshot, inner.clock.now())
                    .await
                {
                    Ok(applied) => TaskOutcome::Fetched(applied),
                    Err(error) => TaskOutcome::Failed(format!("could not store the day: {error}")),
                }
            }
            Err(SourceError::RateLimited { reset_at }) => {
                metrics::counter!("tickete_partner_rate_limited_total").increment(1);
                tracing::warn!(%reset_at, "partner rate limit hit; holding every call until reset");
                if let Err(error) = inner.budget.hold_until(reset_at).await {
                    tracing::warn!(%error, "could not share the rate-limit hold");
                }
                self.work().queue.requeue(task, entry);
                inner.wake.notify_one();
                return;
            }
            Err(SourceError::Transient(message))
                if entry.attempts + 1 < inner.config.retry.attempts =>
            {
                entry.attempts += 1;
                let backoff = backoff(inner.config.retry.base_delay, entry.attempts);
                tracing::info!(attempt = entry.attempts, ?backoff, %message, "transient failure; retrying");
                entry.not_before = Some(Instant::now() + backoff);
                self.work().queue.requeue(task, entry);
                inner.wake.notify_one();
                return;
            }
            Err(error) => {
                let message = error.to_string();
                if let Err(store_error) = inner
                    .store
                    .record_day_error(task.product, task.date, &message)
                    .await
                {
                    tracing::warn!(%store_error, "could not record the fetch error");
                }
                TaskOutcome::Failed(message)
            }
        };
        self.settle(&task, outcome).await;
    }

    async fn settle(&self, task: &SyncTask, outcome: TaskOutcome) {
        let now = self.inner.clock.now();
        let updated: Vec<SyncRun> = {
            let mut work = self.work();
            let runs = work.queue.finish((task.product, task.date));
            runs.into_iter()
                .filter_map(|run| {
                    work.runs
                        .record(run, task.product, task.date, &outcome, now)
                })
                .collect()
        };
        if let TaskOutcome::Failed(message) = &outcome {
            tracing::warn!(product = %task.product, date = %task.date, %message, "task failed");
        }
        let _ = self.inner.events.send(EngineEvent::TaskSettled {
            product: task.product,
            date: task.date,
            ok: matches!(outcome, TaskOutcome::Fetched(_)),
        });
        for run in updated {
            self.save(&run).await;
            if run.status == RunStatus::Running {
                let _ = self.inner.events.send(EngineEvent::RunProgress(run));
            } else {
                record_run_finished(&run);
                tracing::info!(run = %run.id, job = %run.job, status = %run.status, "run finished");
                let _ = self.inner.events.send(EngineEvent::RunFinished(run));
            }
        }
    }

    async fn interrupt_all(&self) {
        let now = self.inner.clock.now();
        let interrupted = {
            let mut work = self.work();
            work.queue.clear_pending();
            work.runs.end_all(RunStatus::Interrupted, now)
        };
        for run in interrupted {
            self.save(&run).await;
            record_run_finished(&run);
            tracing::info!(run = %run.id, job = %run.job, "run interrupted by shutdown");
            let _ = self.inner.events.send(EngineEvent::RunFinished(run));
        }
        record_queue_depth(self);
    }

    async fn save(&self, run: &SyncRun) {
        if let Err(error) = self.inner.store.save_run(run).await {
            tracing::warn!(run = %run.id, %error, "could not save run progress");
        }
    }
}

/// Exponential backoff with full jitter: `base · 2^(attempt-1) · (1 + U[0,1))`.
fn backoff(base: Duration, attempt: u32) -> Duration {
    let exponential = base.saturating_mul(1 << attempt.saturating_sub(1).min(10));
    let jitter_millis = rand::random::<u64>() % (exponential.as_millis() as u64 + 1);
    exponential + Duration::from_millis(jitter_millis)
}

fn outcome_label(result: &Result<crate::domain::DaySnapshot, SourceError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(SourceError::RateLimited { .. }) => "rate_limited",
        Err(SourceError::Transient(_)) => "transient",
        Err(SourceError::Permanent(_)) => "permanent",
        Err(SourceError::InvalidResponse(_)) => "invalid",
    }
}

pub(super) fn record_queue_depth(engine: &Engine) {
    let pending = engine.work().queue.pending_len();
    metrics::gauge!("tickete_queue_depth").set(pending as f64);
}

pub(super) fn record_run_finished(run: &SyncRun) {
    metrics::counter!("tickete_job_runs_total", "job" => run.job.clone(), "status" => run.status.as_str())
        .increment(1);
    if let Some(finished) = run.finished_at {
        let seconds = (finished - run.started_at).num_milliseconds().max(0) as f64 / 1000.0;
        metrics::histogram!("tickete_job_run_duration_seconds", "job" => run.job.clone())
            .record(seconds);
    }
}
