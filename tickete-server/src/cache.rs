//! Read cache of serialised response bodies, invalidated per product when a day is applied.
//!
//! Each product has a generation number; a reader captures it before reading the store and
//! its result is only cached if no apply bumped it meanwhile, so a slow read can never put
//! stale data back after an invalidation. Entries also expire after a short TTL, which bounds
//! staleness from writers this process cannot see (other replicas, the CLI).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use chrono::NaiveDate;
use tickete_core::ProductId;

/// What a cached body answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CacheKind {
    /// Slots of a date.
    Slots(NaiveDate),
    /// Dates window starting at this "today".
    Dates(NaiveDate),
    /// The product itself.
    Product,
}

/// A cache key: the product, what, and whether the body is wrapped in `{"data": …}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CacheKey {
    /// Product.
    pub product: ProductId,
    /// What.
    pub kind: CacheKind,
    /// Enveloped body (`/products/...`) or bare (`/experience/...`).
    pub wrapped: bool,
}

/// Bodies per key, with per-product generations.
#[derive(Debug)]
pub struct ReadCache {
    ttl: Duration,
    state: RwLock<CacheState>,
    filling: std::sync::Mutex<HashMap<CacheKey, Arc<tokio::sync::Mutex<()>>>>,
}

#[derive(Debug, Default)]
struct CacheState {
    entries: HashMap<CacheKey, (Bytes, Instant)>,
    generations: HashMap<ProductId, u64>,
}

/// Entries kept before the cache starts over; bounds memory under scans of many dates.
const MAX_ENTRIES: usize = 50_000;

impl ReadCache {
    /// A cache whose entries live at most `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            state: RwLock::default(),
            filling: std::sync::Mutex::default(),
        }
    }

    /// Exclusive right to fill `key`: when an entry expires under load, one request reads the
    /// store while the others wait for its body instead of all reading at once.
    pub async fn fill_lock(&self, key: CacheKey) -> FillGuard<'_> {
        let lock = self
            .filling
            .lock()
            .expect("fill lock")
            .entry(key)
            .or_default()
            .clone();
        FillGuard {
            cache: self,
            key,
            _guard: lock.lock_owned().await,
        }
    }

    /// The cached body, if fresh.
    pub fn get(&self, key: &CacheKey) -> Option<Bytes> {
        let state = self.state.read().expect("cache lock");
        let (body, stored) = state.entries.get(key)?;
        (stored.elapsed() < self.ttl).then(|| body.clone())
    }

    /// The product's generation, to pass back to [`ReadCache::put`].
    pub fn generation(&self, product: ProductId) -> u64 {
        let state = self.state.read().expect("cache lock");
        state.generations.get(&product).copied().unwrap_or(0)
    }

    /// Stores `body` unless the product was invalidated since `generation` was read.
    pub fn put(&self, key: CacheKey, generation: u64, body: Bytes) {
        let mut state = self.state.write().expect("cache lock");
        if state.generations.get(&key.product).copied().unwrap_or(0) != generation {
            return;
        }
        if state.entries.len() >= MAX_ENTRIES {
            state.entries.clear();
        }
        state.entries.insert(key, (body, Instant::now()));
    }

    /// Drops every body of `product`.
    pub fn invalidate(&self, product: ProductId) {
        let mut state = self.state.write().expect("cache lock");
        *state.generations.entry(product).or_default() += 1;
        state.entries.retain(|key, _| key.product != product);
    }

    /// Drops everything.
    pub fn clear(&self) {
        let mut state = self.state.write().expect("cache lock");
        for generation in state.generations.values_mut() {
            *generation += 1;
        }
        state.entries.clear();
    }
}

/// Held while one request fills a key; removes the key's lock when the last holder is done.
pub struct FillGuard<'a> {
    cache: &'a ReadCache,
    key: CacheKey,
    _guard: tokio::sync::OwnedMutexGuard<()>,
}

impl Drop for FillGuard<'_> {
    fn drop(&mut self) {
        let mut filling = self.cache.filling.lock().expect("fill lock");
        // Two references: the map's and our guard's mutex. More means others are waiting.
        if filling
            .get(&self.key)
            .is_some_and(|lock| Arc::strong_count(lock) <= 2)
        {
            filling.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_that_raced_an_invalidation_is_not_cached() {
        let cache = ReadCache::new(Duration::from_secs(60));
        let product = ProductId::new(14).unwrap();
        let key = CacheKey {
            product,
            kind: CacheKind::Product,
            wrapped: false,
        };
        let generation = cache.generation(product);
        cache.invalidate(product); // an apply lands while the read was in progress
        cache.put(key, generation, Bytes::from_static(b"stale"));
        assert_eq!(cache.get(&key), None);

        let generation = cache.generation(product);
        cache.put(key, generation, Bytes::from_static(b"fresh"));
        assert_eq!(cache.get(&key), Some(Bytes::from_static(b"fresh")));
        cache.invalidate(product);
        assert_eq!(cache.get(&key), None);
    }
}
