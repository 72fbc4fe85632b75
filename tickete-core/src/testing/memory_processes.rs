//! The engine processes of a [`MemoryStore`].

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::memory_store::page_of;
use super::MemoryStore;
use crate::domain::EngineProcess;
use crate::store::{Page, PageRequest, Processes, StoreError};

#[async_trait]
impl Processes for MemoryStore {
    async fn register_process(&self, process: &EngineProcess) -> Result<(), StoreError> {
        self.with(|s| {
            s.processes.insert(process.id.clone(), process.clone());
            Ok(())
        })
    }

    async fn beat_process(&self, id: &str, at: DateTime<Utc>) -> Result<bool, StoreError> {
        self.with(|s| match s.processes.get_mut(id) {
            Some(process) => {
                process.last_seen_at = process.last_seen_at.max(at);
                Ok(true)
            }
            None => Ok(false),
        })
    }

    async fn remove_process(&self, id: &str) -> Result<(), StoreError> {
        self.with(|s| {
            s.processes.remove(id);
            Ok(())
        })
    }

    async fn list_processes(
        &self,
        alive_since: DateTime<Utc>,
        page: PageRequest,
    ) -> Result<Page<EngineProcess>, StoreError> {
        self.with(|s| {
            let mut live: Vec<EngineProcess> = s
                .processes
                .values()
                .filter(|p| p.last_seen_at >= alive_since)
                .cloned()
                .collect();
            live.sort_by(|a, b| (a.started_at, &a.id).cmp(&(b.started_at, &b.id)));
            Ok(page_of(live, page))
        })
    }
}
