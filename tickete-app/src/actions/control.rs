//! Pause, resume and the sync status.

use tickete_core::PageRequest;

use super::Actions;
use crate::error::ActionError;
use crate::views::{
    BudgetBody, BudgetUseBody, DemandBody, LiveBody, MinuteCalls, RunBody, SyncStatusBody,
};

impl Actions {
    /// `GET /sync/status`: pause flag, queue, partner budget and the latest run.
    pub async fn sync_status(&self) -> Result<SyncStatusBody, ActionError> {
        let status = self.engine.status().await?;
        let depth = match &self.shared_queue {
            Some(queue) => queue.depth().await?,
            None => tickete_core::engine::QueueDepth {
                pending: status.pending,
                in_flight: status.in_flight,
            },
        };
        // The demand follows the jobs and catalogue of the moment, even in a process whose
        // engine plans nothing (the CLI).
        self.engine.update_policy().await?;
        let freshness = self.engine.freshness().await?;
        let last = self
            .engine
            .run_log()
            .list_runs(None, PageRequest { page: 1, limit: 1 })
            .await?;
        let live = self.engine.config().live;
        let live_fetches = self.engine.live_fetches_last_minute();
        Ok(SyncStatusBody {
            paused: status.pause.paused,
            paused_at: status.pause.paused_at,
            pending: depth.pending,
            in_flight: depth.in_flight,
            partner_budget: BudgetBody {
                rate_per_minute: status.rate_per_minute,
                spacing_ms: std::num::NonZeroU32::new(status.rate_per_minute).map_or(0, |rate| {
                    u64::try_from(tickete_core::engine::pacing_interval(rate).as_millis())
                        .unwrap_or(u64::MAX)
                }),
                held_until: status.held_until,
            },
            last_run: last.items.first().map(RunBody::from),
            demand: DemandBody::with_live(
                self.engine.demand(),
                live_fetches,
                status.rate_per_minute,
            ),
            freshness,
            live: LiveBody {
                fetches_last_minute: live_fetches,
                max_per_minute: (live.share * f64::from(status.rate_per_minute)).floor() as u32,
                per_client_per_minute: live.per_client_per_minute,
                wait_ms: u64::try_from(live.wait.as_millis()).unwrap_or(u64::MAX),
            },
        })
    }

    /// Partner calls spent per minute over the last hour (every process sharing the budget),
    /// minutes without a call as 0.
    pub async fn budget_use(&self) -> Result<BudgetUseBody, ActionError> {
        use tickete_core::engine::{minute_of, minute_start};
        let now = self.engine.clock().now();
        let current = minute_of(now);
        let first = current - 59;
        let counted = self.engine.calls_by_minute(minute_start(first)).await?;
        let minutes = (first..=current)
            .map(|minute| {
                let at = minute_start(minute);
                let calls = counted
                    .iter()
                    .find(|(start, _)| *start == at)
                    .map_or(0, |(_, calls)| *calls);
                MinuteCalls { at, calls }
            })
            .collect();
        Ok(BudgetUseBody {
            rate_per_minute: self.engine.config().rate_per_minute.get(),
            minutes,
        })
    }

    /// Pauses partner calls for every process on the store (the in-flight call finishes).
    pub async fn pause(&self) -> Result<SyncStatusBody, ActionError> {
        self.engine.pause().await?;
        self.sync_status().await
    }

    /// Lifts a partner 429 hold now (`partnerBudget.heldUntil`), for every process sharing
    /// the budget: calls resume at the normal pace rather than at the partner's reset.
    /// Returns the hold that was lifted, if one was in force, and the status after.
    pub async fn clear_hold(
        &self,
    ) -> Result<(Option<chrono::DateTime<chrono::Utc>>, SyncStatusBody), ActionError> {
        let lifted = self.engine.clear_hold().await?;
        Ok((lifted, self.sync_status().await?))
    }

    /// Resumes partner calls.
    pub async fn resume(&self) -> Result<SyncStatusBody, ActionError> {
        self.engine.resume().await?;
        self.sync_status().await
    }
}
