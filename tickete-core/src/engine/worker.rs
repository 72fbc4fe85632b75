//! The worker loop: waits for ready work and budget, claims, fetches, applies, settles.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::policy::learnt::Seen;
use super::work_queue::{ClaimedTask, Readiness, TaskOutcome};
use super::{Engine, EngineEvent};
use crate::domain::{DaySnapshot, PartnerStatus, ProductId, RunStatus, SyncRun, SyncTask};
use crate::source::SourceError;
use crate::store::ApplyOutcome;

/// What the worker goes for next.
enum Next {
    /// A task of the queue.
    Queued,
    /// An early refresh on spare budget.
    Spare,
}

/// What one partner call came to.
pub(super) enum Fetched {
    /// The day was applied.
    Applied(ApplyOutcome),
    /// The partner answered but the store could not keep the day.
    NotStored(String),
    /// The partner (or the check of its answer) refused.
    Refused(SourceError),
}

/// Pause after the queue or the budget failed, before trying again.
const ERROR_PAUSE: Duration = Duration::from_secs(1);

impl Engine {
    /// Runs the worker until `shutdown` is cancelled: then stops taking tasks, lets in-flight
    /// calls finish and write, and ends this worker's share of the work (a local queue marks
    /// its unfinished runs `interrupted`; a shared queue leaves them to other replicas).
    pub async fn run(&self, shutdown: CancellationToken) {
        // Nothing left by a previous process (or of a date that has passed) is taken first.
        self.start_upkeep().await;
        // The heartbeat goes on beside the work (partner calls run on tasks of their own, so a
        // slow one never holds it up) and ends with it, also when the worker is dropped.
        let heartbeat = CancellationToken::new();
        let work = async {
            self.work(&shutdown).await;
            heartbeat.cancel();
        };
        tokio::join!(work, self.keep_alive(heartbeat.clone()));
        self.stop_worker().await;
    }

    /// Claims, fetches and settles until `shutdown`, then waits for the calls in flight.
    async fn work(&self, shutdown: &CancellationToken) {
        let capacity = Arc::new(Semaphore::new(self.inner.config.max_in_flight.max(1)));
        let mut in_flight = JoinSet::new();
        loop {
            while in_flight.try_join_next().is_some() {}
            let permit = tokio::select! {
                _ = shutdown.cancelled() => break,
                permit = capacity.clone().acquire_owned() => permit.expect("semaphore never closed"),
            };
            let next = tokio::select! {
                _ = shutdown.cancelled() => break,
                next = self.wait_for_work() => next,
            };
            let spare = match next {
                Next::Queued => None,
                Next::Spare => match self.choose_spare().await {
                    Some(pair) => Some(pair),
                    None => continue,
                },
            };
            let waited = Instant::now();
            let budget = tokio::select! {
                _ = shutdown.cancelled() => break,
                budget = self.inner.budget.acquire() => budget,
            };
            metrics::histogram!("tickete_pacer_wait_seconds")
                .record(waited.elapsed().as_secs_f64());
            if let Err(error) = budget {
                tracing::warn!(%error, "partner budget unavailable; retrying");
                tokio::time::sleep(ERROR_PAUSE).await;
                continue;
            }
            // A live read goes ahead of queued work: this turn is its.
            if self.hand_turn_to_live_read() {
                if spare.is_some() {
                    self.spare_dropped();
                }
                continue;
            }
            // Pause may have landed while we waited for the budget.
            if self.pause_state().paused {
                if spare.is_some() {
                    self.spare_dropped();
                }
                continue;
            }
            if let Some((product, date)) = spare {
                in_flight.spawn(self.clone().refresh_early(product, date, permit));
                continue;
            }
            let claimed = match self
                .inner
                .queue
                .claim_chosen(self.inner.clock.now(), &*self.inner.refresh)
                .await
            {
                Ok(Some(claimed)) => claimed,
                // Another worker took it meanwhile.
                Ok(None) => continue,
                Err(error) => {
                    tracing::warn!(%error, "could not claim a task; retrying");
                    tokio::time::sleep(ERROR_PAUSE).await;
                    continue;
                }
            };
            record_queue_depth(self).await;
            in_flight.spawn(self.clone().execute(claimed, permit));
        }
        while in_flight.join_next().await.is_some() {}
    }

    /// Waits until queued work is ready (or, with a spare share, an early refresh may go).
    async fn wait_for_work(&self) -> Next {
        loop {
            if self.pause_state().paused {
                let mut pause = self.inner.pause.subscribe();
                let _ = pause.wait_for(|state| !state.paused).await;
                continue;
            }
            let now = self.inner.clock.now();
            let wake_at = match self.inner.queue.readiness(now).await {
                Ok(Readiness::Ready) => return Next::Queued,
                Ok(Readiness::At(at)) => Some(until(now, at)),
                Ok(Readiness::Empty) => self.inner.queue.poll_interval(),
                Err(error) => {
                    tracing::warn!(%error, "could not read the queue; retrying");
                    Some(ERROR_PAUSE)
                }
            };
            let wake_at = match self.next_spare_at(now) {
                Some(at) if at <= now && self.spare_may_go().await => return Next::Spare,
                Some(at) => {
                    // Due but work is in flight: look again shortly.
                    let spare = if at <= now {
                        super::spare::SPARE_RECHECK
                    } else {
                        until(now, at)
                    };
                    Some(wake_at.map_or(spare, |wake| wake.min(spare)))
                }
                None => wake_at,
            };
            match wake_at {
                Some(delay) => {
                    tokio::select! {
                        () = tokio::time::sleep(delay) => {}
                        () = self.inner.wake.notified() => {}
                    }
                }
                None => self.inner.wake.notified().await,
            }
        }
    }

    #[tracing::instrument(skip_all, fields(product = %claimed.task.product, date = %claimed.task.date))]
    async fn execute(self, mut claimed: ClaimedTask, _permit: OwnedSemaphorePermit) {
        let inner = &self.inner;
        let task = claimed.task.clone();
        // A product deleted or disabled since its task was queued (possibly by another
        // process on the same store) costs no partner call.
        if let Ok(enabled) = inner.store.enabled_products().await {
            if !enabled.contains(&task.product) {
                tracing::info!("product left the catalogue or was disabled; task dropped");
                self.settle(&task, TaskOutcome::Dropped).await;
                return;
            }
        }
        let outcome = match self.fetch_and_apply(task.product, task.date).await {
            Fetched::Applied(applied) => TaskOutcome::Fetched(applied),
            Fetched::NotStored(message) => TaskOutcome::Failed(message),
            Fetched::Refused(SourceError::RateLimited { reset_at }) => {
                self.hold_partner_calls(reset_at).await;
                self.release(claimed, None, None).await;
                return;
            }
            Fetched::Refused(SourceError::Transient(message))
                if claimed.attempts + 1 < inner.config.retry.attempts =>
            {
                claimed.attempts += 1;
                let backoff = backoff(inner.config.retry.base_delay, claimed.attempts);
                tracing::info!(attempt = claimed.attempts, ?backoff, %message, "transient failure; retrying");
                let not_before = inner.clock.now()
                    + chrono::Duration::from_std(backoff).unwrap_or(chrono::Duration::MAX);
                self.release(claimed, Some(not_before), Some(&message))
                    .await;
                return;
            }
            Fetched::Refused(error) => {
                self.record_fetch_error(task.product, task.date, &error)
                    .await;
                TaskOutcome::Failed(error.to_string())
            }
        };
        self.settle(&task, outcome).await;
    }

    /// One partner call for (product, date), checked and applied; what was learnt from it is
    /// recorded (change observed, partner status).
    pub(super) async fn fetch_and_apply(&self, product: ProductId, date: NaiveDate) -> Fetched {
        let inner = &self.inner;
        let fetched = tokio::time::timeout(
            inner.config.fetch_timeout,
            inner.source.fetch(product, date),
        )
        .await
        .unwrap_or_else(|_| {
            Err(SourceError::Transient(format!(
                "no answer within {:?}",
                inner.config.fetch_timeout
            )))
        });
        // The text rule is applied to every day, whatever the source, before any store sees
        // it: NUL or control characters are an invalid response, never a store failure.
        let fetched = fetched.and_then(|snapshot| {
            crate::validate::check_text(&snapshot)
                .map(|()| snapshot)
                .map_err(|e| SourceError::InvalidResponse(e.to_string()))
        });
        metrics::counter!("tickete_partner_requests_total", "outcome" => outcome_label(&fetched))
            .increment(1);
        let now = inner.clock.now();
        match fetched {
            Ok(snapshot) => match inner.store.apply_day(product, &snapshot, now).await {
                Ok(applied) => {
                    let changed = applied == ApplyOutcome::Changed;
                    let empty = snapshot.slots.is_empty();
                    self.learn_fetch(product, date, changed, empty, now).await;
                    self.record_partner_status(product, PartnerStatus::Ok).await;
                    Fetched::Applied(applied)
                }
                Err(error) => Fetched::NotStored(format!("could not store the day: {error}")),
            },
            Err(error) => {
                if matches!(error, SourceError::UnknownProduct(_)) {
                    inner
                        .refresh
                        .observe(product, date, Seen::UnknownProduct, now);
                    self.record_partner_status(product, PartnerStatus::Unknown)
                        .await;
                }
                Fetched::Refused(error)
            }
        }
    }

    /// A partner 429: every call of the deployment waits until `reset_at` (clamped).
    pub(super) async fn hold_partner_calls(&self, reset_at: DateTime<Utc>) {
        let inner = &self.inner;
        metrics::counter!("tickete_partner_rate_limited_total").increment(1);
        let latest = chrono::Duration::from_std(inner.config.max_hold)
            .ok()
            .and_then(|hold| inner.clock.now().checked_add_signed(hold))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let reset_at = reset_at.min(latest);
        tracing::warn!(%reset_at, "partner rate limit hit; holding every call until reset");
        if let Err(error) = inner.budget.hold_until(reset_at).await {
            tracing::warn!(%error, "could not share the rate-limit hold");
        }
    }

    /// Records a failed fetch on the day's state (its inventory stays as it was).
    pub(super) async fn record_fetch_error(
        &self,
        product: ProductId,
        date: NaiveDate,
        error: &SourceError,
    ) {
        let message = error.to_string();
        if let Err(store_error) = self
            .inner
            .store
            .record_day_error(product, date, &message)
            .await
        {
            tracing::warn!(%store_error, "could not record the fetch error");
        }
    }

    async fn release(
        &self,
        claimed: ClaimedTask,
        not_before: Option<DateTime<Utc>>,
        reason: Option<&str>,
    ) {
        if let Err(error) = self.inner.queue.release(claimed, not_before, reason).await {
            // A shared queue's lease expires, so the task comes back even then.
            tracing::warn!(%error, "could not put the task back");
        }
        self.inner.wake.notify_one();
    }

    async fn settle(&self, task: &SyncTask, outcome: TaskOutcome) {
        if let TaskOutcome::Failed(message) = &outcome {
            tracing::warn!(product = %task.product, date = %task.date, %message, "task failed");
        }
        let now = self.inner.clock.now();
        let updated = match self.inner.queue.settle(task, &outcome, now).await {
            Ok(updated) => updated,
            Err(error) => {
                tracing::warn!(%error, "could not record the task outcome");
                Vec::new()
            }
        };
        let _ = self.inner.events.send(EngineEvent::TaskSettled {
            product: task.product,
            date: task.date,
            ok: matches!(outcome, TaskOutcome::Fetched(_)),
        });
        for run in updated {
            self.announce(run).await;
        }
    }

    /// Tells subscribers and the metrics how a run stands; a finished run also gets its
    /// `sync.run.finished` event in the feed before anyone hears of it.
    pub(super) async fn announce(&self, run: SyncRun) {
        if run.status == RunStatus::Running {
            let _ = self.inner.events.send(EngineEvent::RunProgress(run));
        } else {
            record_run_finished(&run);
            tracing::info!(run = %run.id, job = %run.job, status = %run.status, "run finished");
            self.record_run_event(&run).await;
            let _ = self.inner.events.send(EngineEvent::RunFinished(run));
        }
    }

    /// This process leaves the store's live processes first, so whatever of its runs the
    /// queue leaves running (a shared queue with other replicas alive) is theirs to adopt at
    /// once; then the queue ends its share.
    async fn stop_worker(&self) {
        self.leave().await;
        match self.inner.queue.stop(self.inner.clock.now()).await {
            Ok(interrupted) => {
                for run in interrupted {
                    self.announce(run).await;
                }
            }
            Err(error) => tracing::warn!(%error, "could not record the interrupted runs"),
        }
        record_queue_depth(self).await;
    }
}

fn until(now: DateTime<Utc>, at: DateTime<Utc>) -> Duration {
    (at - now).to_std().unwrap_or_default()
}

/// Exponential backoff with full jitter: `base · 2^(attempt-1) · (1 + U[0,1))`.
fn backoff(base: Duration, attempt: u32) -> Duration {
    let exponential = base.saturating_mul(1 << attempt.saturating_sub(1).min(10));
    let jitter_millis = rand::random::<u64>() % (exponential.as_millis() as u64 + 1);
    exponential + Duration::from_millis(jitter_millis)
}

fn outcome_label(result: &Result<DaySnapshot, SourceError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(SourceError::RateLimited { .. }) => "rate_limited",
        Err(SourceError::Transient(_)) => "transient",
        Err(SourceError::Permanent(_)) => "permanent",
        Err(SourceError::UnknownProduct(_)) => "unknown_product",
        Err(SourceError::InvalidResponse(_)) => "invalid",
    }
}

pub(super) async fn record_queue_depth(engine: &Engine) {
    if let Ok(depth) = engine.inner.queue.depth().await {
        metrics::gauge!("tickete_queue_depth").set(depth.pending as f64);
        metrics::gauge!("tickete_in_flight").set(depth.in_flight as f64);
    }
}

fn record_run_finished(run: &SyncRun) {
    metrics::counter!("tickete_job_runs_total", "job" => run.job.clone(), "status" => run.status.as_str())
        .increment(1);
    if let Some(finished) = run.finished_at {
        let seconds = (finished - run.started_at).num_milliseconds().max(0) as f64 / 1000.0;
        metrics::histogram!("tickete_job_run_duration_seconds", "job" => run.job.clone())
            .record(seconds);
    }
}

impl Engine {
    /// Appends the run's `sync.run.finished` event to the feed. Awaited, so a run that ends
    /// at shutdown still has its event (a failure is logged: the run itself is recorded).
    async fn record_run_event(&self, run: &SyncRun) {
        let event = crate::feed::NewEvent::run_finished(run, self.inner.clock.now());
        if let Err(error) = self.inner.store.append_event(&event).await {
            tracing::warn!(%error, "could not record the run's feed event");
        }
    }
}
