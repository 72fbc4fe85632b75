//! Read cache of serialised response bodies, bounded by bytes, invalidated per product when a
//! day is applied.
//!
//! The entries live in a `moka` cache whose weigher counts each body's bytes (plus a fixed
//! overhead per entry), so the memory it holds stays under [`DEFAULT_MAX_BYTES`] however many
//! (product, date) keys shoppers read; moka's TinyLFU admission keeps the hot keys.
//!
//! Each product has a generation number; a reader captures it before reading the store and
//! its result is only cached if no apply bumped it meanwhile, so a slow read can never put
//! stale data back after an invalidation. Entries remember the generation they were read at
//! and are ignored once it has moved on. Entries also expire after a short TTL, which bounds
//! staleness from writers this process cannot see (other replicas, the CLI).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::HeaderValue;
use chrono::NaiveDate;
use tickete_core::ProductId;

/// Bytes of bodies (and per-entry overhead) the cache holds at most: 8 MiB. Random reads over
/// 1,000 products × 60 days (~120 MB of bodies) hit a cache of any affordable size rarely, so
/// the bound is sized for the hot keys and the dates of every product, and keeps the server's
/// RSS within 60 MB under that load (README, "Reading at scale").
pub const DEFAULT_MAX_BYTES: u64 = 8 * 1024 * 1024;

/// What an entry costs besides its body: key, headers, the map's and moka's bookkeeping.
const ENTRY_OVERHEAD_BYTES: usize = 160;

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

/// A response body with the validators served with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedBody {
    /// The JSON body.
    pub body: Bytes,
    /// `ETag`, when the route has one.
    pub etag: Option<HeaderValue>,
    /// `Last-Modified`, when the data has a fetch time.
    pub last_modified: Option<HeaderValue>,
}

impl CachedBody {
    /// A body without validators.
    pub fn plain(body: Bytes) -> Self {
        Self {
            body,
            etag: None,
            last_modified: None,
        }
    }

    fn weight(&self) -> u32 {
        let bytes = self.body.len()
            + self.etag.as_ref().map_or(0, HeaderValue::len)
            + self.last_modified.as_ref().map_or(0, HeaderValue::len)
            + ENTRY_OVERHEAD_BYTES;
        u32::try_from(bytes).unwrap_or(u32::MAX)
    }
}

/// The state of a product's cached reads a reader saw before reading the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generation {
    epoch: u64,
    product: u64,
}

#[derive(Debug)]
struct Entry {
    body: CachedBody,
    generation: Generation,
}

/// Bodies per key, bounded by bytes, with per-product generations.
pub struct ReadCache {
    entries: moka::sync::Cache<CacheKey, Arc<Entry>>,
    max_bytes: u64,
    /// Bumped by [`ReadCache::clear`].
    epoch: AtomicU64,
    generations: RwLock<HashMap<ProductId, u64>>,
    filling: std::sync::Mutex<HashMap<CacheKey, Arc<tokio::sync::Mutex<()>>>>,
}

impl std::fmt::Debug for ReadCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadCache")
            .field("entries", &self.entries.entry_count())
            .field("weighted_bytes", &self.entries.weighted_size())
            .field("max_bytes", &self.max_bytes)
            .finish()
    }
}

impl ReadCache {
    /// A cache of at most [`DEFAULT_MAX_BYTES`] whose entries live at most `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self::with_max_bytes(ttl, DEFAULT_MAX_BYTES)
    }

    /// A cache of at most `max_bytes` whose entries live at most `ttl`.
    pub fn with_max_bytes(ttl: Duration, max_bytes: u64) -> Self {
        let entries = moka::sync::Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|_key: &CacheKey, entry: &Arc<Entry>| entry.body.weight())
            .time_to_live(ttl)
            .build();
        Self {
            entries,
            max_bytes,
            epoch: AtomicU64::new(0),
            generations: RwLock::default(),
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

    /// The cached body, if fresh and not invalidated since it was read.
    pub fn get(&self, key: &CacheKey) -> Option<CachedBody> {
        let entry = self.entries.get(key)?;
        (entry.generation == self.generation(key.product)).then(|| entry.body.clone())
    }

    /// The product's generation, to pass back to [`ReadCache::put`].
    pub fn generation(&self, product: ProductId) -> Generation {
        let generations = self.generations.read().expect("cache lock");
        Generation {
            epoch: self.epoch.load(Ordering::Acquire),
            product: generations.get(&product).copied().unwrap_or(0),
        }
    }

    /// Stores `body` unless the product was invalidated since `generation` was read.
    pub fn put(&self, key: CacheKey, generation: Generation, body: CachedBody) {
        if self.generation(key.product) != generation {
            return;
        }
        self.entries
            .insert(key, Arc::new(Entry { body, generation }));
    }

    /// Drops every body of `product`.
    pub fn invalidate(&self, product: ProductId) {
        // Entries of older generations are never served again; moka evicts them by size or
        // TTL, so invalidation costs the same however many entries the product has.
        *self
            .generations
            .write()
            .expect("cache lock")
            .entry(product)
            .or_default() += 1;
    }

    /// Drops everything.
    pub fn clear(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.entries.invalidate_all();
    }

    /// The configured bound, in bytes.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Bytes held now (after pending evictions are applied).
    pub fn weighted_bytes(&self) -> u64 {
        self.entries.run_pending_tasks();
        self.entries.weighted_size()
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

    fn key(product: u32, day: u32) -> CacheKey {
        CacheKey {
            product: ProductId::new(product).unwrap(),
            kind: CacheKind::Slots(NaiveDate::from_ymd_opt(2025, 3, day).unwrap()),
            wrapped: false,
        }
    }

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
        cache.put(
            key,
            generation,
            CachedBody::plain(Bytes::from_static(b"stale")),
        );
        assert_eq!(cache.get(&key), None);

        let generation = cache.generation(product);
        let fresh = CachedBody::plain(Bytes::from_static(b"fresh"));
        cache.put(key, generation, fresh.clone());
        assert_eq!(cache.get(&key), Some(fresh));
        cache.invalidate(product);
        assert_eq!(cache.get(&key), None);
    }

    #[test]
    fn invalidating_one_product_keeps_the_others_and_clear_drops_all() {
        let cache = ReadCache::new(Duration::from_secs(60));
        let (a, b) = (key(14, 1), key(15, 1));
        for k in [a, b] {
            let generation = cache.generation(k.product);
            cache.put(k, generation, CachedBody::plain(Bytes::from_static(b"{}")));
        }
        cache.invalidate(a.product);
        assert_eq!(cache.get(&a), None);
        assert!(cache.get(&b).is_some());

        let generation = cache.generation(b.product);
        cache.clear(); // e.g. a prune while this read was in progress
        cache.put(b, generation, CachedBody::plain(Bytes::from_static(b"{}")));
        assert_eq!(cache.get(&b), None);
    }

    #[test]
    fn the_cache_holds_no_more_bytes_than_its_bound() {
        let max_bytes = 64 * 1024;
        let cache = ReadCache::with_max_bytes(Duration::from_secs(60), max_bytes);
        let body = Bytes::from(vec![b'x'; 4 * 1024]);
        // 10 times the bound in bodies, over many keys, each read twice so moka admits them.
        for product in 1..=16 {
            for day in 1..=10 {
                let k = key(product, day);
                let generation = cache.generation(k.product);
                cache.put(k, generation, CachedBody::plain(body.clone()));
                cache.get(&k);
            }
        }
        let held = cache.weighted_bytes();
        assert!(held > 0, "something is cached");
        assert!(held <= max_bytes, "{held} bytes held, bound {max_bytes}");
    }
}
