//! Dashboard sessions, kept in the store so sign-out ends a session on every replica.

use chrono::{DateTime, Utc};
use tickete_core::sessions::SessionRecord;

use super::Actions;
use crate::error::ActionError;

impl Actions {
    /// Records a signed-in session `id` (a digest of its secret) until `expires_at`.
    pub async fn start_session(
        &self,
        id: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), ActionError> {
        let record = SessionRecord {
            id: id.to_owned(),
            created_at: self.engine.clock().now(),
            expires_at,
        };
        Ok(self.engine.sessions().start_session(&record).await?)
    }

    /// Whether session `id` is signed in now.
    pub async fn session_active(&self, id: &str) -> Result<bool, ActionError> {
        let now = self.engine.clock().now();
        Ok(self.engine.sessions().session_active(id, now).await?)
    }

    /// Signs session `id` out.
    pub async fn end_session(&self, id: &str) -> Result<(), ActionError> {
        Ok(self.engine.sessions().end_session(id).await?)
    }

    /// Signs every session out; returns how many were signed in.
    pub async fn end_all_sessions(&self) -> Result<u64, ActionError> {
        let now = self.engine.clock().now();
        let ended = self.engine.sessions().end_all_sessions(now).await?;
        tracing::info!(sessions = ended, "every dashboard session signed out");
        Ok(ended)
    }

    /// The signed-in sessions, newest first.
    pub async fn active_sessions(&self) -> Result<Vec<SessionRecord>, ActionError> {
        let now = self.engine.clock().now();
        Ok(self.engine.sessions().active_sessions(now).await?)
    }
}
