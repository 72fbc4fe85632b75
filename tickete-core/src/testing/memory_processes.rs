//! The engine processes and the dashboard sessions of a [`MemoryStore`].

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

#[async_trait]
impl crate::sessions::Sessions for MemoryStore {
    async fn start_session(
        &self,
        session: &crate::sessions::SessionRecord,
    ) -> Result<(), StoreError> {
        self.with(|s| {
            s.sessions.insert(session.id.clone(), session.clone());
            Ok(())
        })
    }

    async fn session_active(&self, id: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        self.with(|s| {
            Ok(s.sessions
                .get(id)
                .is_some_and(|session| session.expires_at > now))
        })
    }

    async fn end_session(&self, id: &str) -> Result<(), StoreError> {
        self.with(|s| {
            s.sessions.remove(id);
            Ok(())
        })
    }

    async fn end_all_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.with(|s| {
            let active = s.sessions.values().filter(|x| x.expires_at > now).count();
            s.sessions.clear();
            Ok(active as u64)
        })
    }

    async fn active_sessions(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<crate::sessions::SessionRecord>, StoreError> {
        self.with(|s| {
            s.sessions.retain(|_, session| session.expires_at > now);
            let mut active: Vec<_> = s.sessions.values().cloned().collect();
            active.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
            Ok(active)
        })
    }
}
