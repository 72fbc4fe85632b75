//! The execution log and the processes that own its runs.

use tickete_core::engine::OWNER_LEASE;
use tickete_core::{PageRequest, RunId};

use super::Actions;
use crate::error::ActionError;
use crate::views::{PageEnvelope, ProcessBody, RunBody};

impl Actions {
    /// Runs newest first, optionally of one job.
    pub async fn list_runs(
        &self,
        job: Option<&str>,
        page: PageRequest,
    ) -> Result<PageEnvelope<RunBody>, ActionError> {
        let runs = self.engine.run_log().list_runs(job, page).await?;
        let data = runs.items.iter().map(RunBody::from).collect();
        Ok(PageEnvelope::new(data, runs.total, page))
    }

    /// One run with its errors.
    pub async fn get_run(&self, id: RunId) -> Result<RunBody, ActionError> {
        Ok(RunBody::from(&self.engine.run_log().get_run(id).await?))
    }

    /// The live engine processes on the store (heartbeat within the owners' lease), oldest
    /// start first.
    pub async fn list_processes(
        &self,
        page: PageRequest,
    ) -> Result<PageEnvelope<ProcessBody>, ActionError> {
        let lease = chrono::Duration::from_std(OWNER_LEASE).expect("small");
        let alive_since = self.engine.clock().now() - lease;
        let processes = self
            .engine
            .store()
            .list_processes(alive_since, page)
            .await?;
        let data = processes.items.iter().map(ProcessBody::from).collect();
        Ok(PageEnvelope::new(data, processes.total, page))
    }
}
