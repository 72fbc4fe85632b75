//! The [`Learning`] capability of [`MemoryStore`]: learnt pairs and merged reads under the
//! store's one lock, by the same rules the SQL stores follow.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use super::MemoryStore;
use crate::domain::ProductId;
use crate::engine::policy::reads::{combine, scaled};
use crate::learning::{
    check_reads, Learning, LearntPair, PairStats, ReadDelta, StoredReads, MAX_PAIRS,
};
use crate::store::StoreError;

#[derive(Debug, Default)]
pub(super) struct LearningState {
    pairs: BTreeMap<(ProductId, NaiveDate), PairStats>,
    reads: BTreeMap<(ProductId, NaiveDate), (i64, f64)>,
}

impl LearningState {
    pub(super) fn forget_product(&mut self, id: ProductId) {
        self.pairs.retain(|(product, _), _| *product != id);
        self.reads.retain(|(product, _), _| *product != id);
    }
}

#[async_trait]
impl Learning for MemoryStore {
    async fn record_fetch(
        &self,
        product: ProductId,
        date: NaiveDate,
        changed: bool,
        empty: bool,
        at: DateTime<Utc>,
    ) -> Result<PairStats, StoreError> {
        self.with(|s| {
            s.product(product)?;
            let stats = s.learning.pairs.entry((product, date)).or_default();
            stats.record(changed, empty, at);
            Ok(stats.clone())
        })
    }

    async fn learnt_pairs(
        &self,
        from: NaiveDate,
        fetched_since: Option<DateTime<Utc>>,
    ) -> Result<Vec<LearntPair>, StoreError> {
        self.with(|s| {
            Ok(s.learning
                .pairs
                .iter()
                .filter(|((_, date), stats)| {
                    *date >= from
                        && fetched_since.is_none_or(|since| {
                            stats.last_fetched.is_some_and(|last| last >= since)
                        })
                })
                .map(|((product, date), stats)| LearntPair {
                    product: *product,
                    date: *date,
                    stats: stats.clone(),
                })
                .collect())
        })
    }

    async fn add_reads(&self, reads: &[ReadDelta], at: DateTime<Utc>) -> Result<(), StoreError> {
        check_reads(reads)?;
        self.with(|s| {
            for read in reads {
                if s.product(read.product).is_err() {
                    continue;
                }
                let added = scaled(read.count, at);
                let key = (read.product, read.date);
                let merged = match s.learning.reads.get(&key) {
                    Some(stored) => combine(*stored, added),
                    None => added,
                };
                s.learning.reads.insert(key, merged);
            }
            Ok(())
        })
    }

    async fn stored_reads(&self, from: NaiveDate) -> Result<Vec<StoredReads>, StoreError> {
        self.with(|s| {
            Ok(s.learning
                .reads
                .iter()
                .filter(|((_, date), _)| *date >= from)
                .map(|((product, date), (period, scaled))| StoredReads {
                    product: *product,
                    date: *date,
                    period: *period,
                    scaled: *scaled,
                })
                .collect())
        })
    }

    async fn prune_learning(
        &self,
        before: NaiveDate,
        oldest_period: i64,
    ) -> Result<u64, StoreError> {
        self.with(|s| {
            let learning = &mut s.learning;
            let count = learning.pairs.len() + learning.reads.len();
            learning.pairs.retain(|(_, date), _| *date >= before);
            learning
                .reads
                .retain(|(_, date), (period, _)| *date >= before && *period >= oldest_period);
            if learning.reads.len() > MAX_PAIRS {
                let mut ranked: Vec<_> = learning
                    .reads
                    .iter()
                    .map(|(key, (period, scaled))| (*key, *period, *scaled))
                    .collect();
                ranked.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.total_cmp(&a.2)));
                for (key, ..) in ranked.into_iter().skip(MAX_PAIRS) {
                    learning.reads.remove(&key);
                }
            }
            Ok((count - learning.pairs.len() - learning.reads.len()) as u64)
        })
    }
}
