//! The execution log.

use tickete_core::{PageRequest, RunId};

use super::Actions;
use crate::error::ActionError;
use crate::views::{PageEnvelope, RunBody};

impl Actions {
    /// Runs newest first, optionally of one job.
    pub async fn list_runs(
        &self,
        job: Option<&str>,
        page: PageRequest,
    ) -> Result<PageEnvelope<RunBody>, ActionError> {
        let runs = self.engine.store().list_runs(job, page).await?;
        let data = runs.items.iter().map(RunBody::from).collect();
        Ok(PageEnvelope::new(data, runs.total, page))
    }

    /// One run with its errors.
    pub async fn get_run(&self, id: RunId) -> Result<RunBody, ActionError> {
        Ok(RunBody::from(&self.engine.store().get_run(id).await?))
    }
}
