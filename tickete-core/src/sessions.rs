//! Operator sessions of the dashboard, kept in the store so that signing out ends a session
//! at once, on every replica, and "sign out everywhere" ends them all.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::store::StoreError;

/// One signed-in session. The id is a digest of the session's secret nonce, never the
/// cookie itself, so the store holds nothing a reader could sign in with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// Digest of the session's nonce.
    pub id: String,
    /// When it was signed in.
    pub created_at: DateTime<Utc>,
    /// When it ends by itself.
    pub expires_at: DateTime<Utc>,
}

/// Dashboard sessions (a capability of every store).
#[async_trait]
pub trait Sessions: Send + Sync + 'static {
    /// Records a new session.
    async fn start_session(&self, session: &SessionRecord) -> Result<(), StoreError>;

    /// Whether session `id` was started, not ended, and has not expired at `now`.
    async fn session_active(&self, id: &str, now: DateTime<Utc>) -> Result<bool, StoreError>;

    /// Ends session `id` (sign-out); ending an unknown or ended session does nothing.
    async fn end_session(&self, id: &str) -> Result<(), StoreError>;

    /// Ends every session; returns how many were active at `now`.
    async fn end_all_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Sessions active at `now`, newest first; expired and ended ones are forgotten.
    async fn active_sessions(&self, now: DateTime<Utc>) -> Result<Vec<SessionRecord>, StoreError>;
}
