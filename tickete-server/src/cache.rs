//! Read cache of serialised response bodies, bounded by bytes, invalidated per product when a
//! day is applied.
//!
//! The entries live in a `quick_cache` cache whose weigher counts each body's bytes (plus a
//! fixed overhead per entry), so the memory it holds stays under [`DEFAULT_MAX_BYTES`] however
//! many (product, date) keys shoppers read; its CLOCK-Pro policy keeps the hot keys and lets
//! keys read once pass through. It was `moka` before: under random reads moka's
//! per-operation bookkeeping (read and write logs, their housekeeping, its hash table's
//! rehashing) cost about a tenth of the server's time, where `quick_cache` is a hash table
//! lookup under a shard's lock.
//!
//! Each product has a generation number; a reader captures it before reading the store and
//! its result is only cached if no apply bumped it meanwhile, so a slow read can never put
//! stale data back after an invalidation. Entries remember the generation they were read at
//! and are ignored once it has moved on. Entries also expire after a short TTL, which bounds
//! staleness from writers this process cannot see (other replicas, the CLI).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::HeaderValue;
use chrono::NaiveDate;
use quick_cache::sync::{EntryAction, EntryResult};
use tickete_core::ProductId;
use tokio::time::Instant;

/// Bytes of bodies (and per-entry overhead) the cache holds at most: 8 MiB. Random reads over
/// 1,000 products × 60 days (~72 MB of bodies) hit a cache of any affordable size rarely, so
/// the bound is sized for the hot keys and the dates of every product, and keeps the server's
/// RSS within 60 MB under that load (docs/benchmarks.md, "Reading at scale").
pub const DEFAULT_MAX_BYTES: u64 = 8 * 1024 * 1024;

/// What an entry costs besides its body: key, headers, the table's bookkeeping.
const ENTRY_OVERHEAD_BYTES: usize = 160;

/// Generation counters: products share one when their ids are equal modulo this, which only
/// ever costs a needless miss, and keeps reading a generation to one atomic load.
const GENERATION_SLOTS: usize = 4096;

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
    /// When the data was fetched from the partner (the source of `Age`).
    pub synced_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl CachedBody {
    /// A body without validators.
    pub fn plain(body: Bytes) -> Self {
        Self {
            body,
            etag: None,
            last_modified: None,
            synced_at: None,
        }
    }

    fn weight(&self) -> u64 {
        let bytes = self.body.len()
            + self.etag.as_ref().map_or(0, HeaderValue::len)
            + self.last_modified.as_ref().map_or(0, HeaderValue::len)
            + ENTRY_OVERHEAD_BYTES;
        bytes as u64
    }
}

/// The state of a product's cached reads a reader saw before reading the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Generation {
    epoch: u64,
    product: u64,
}

#[derive(Debug)]
struct Entry {
    body: CachedBody,
    generation: Generation,
    expires: Instant,
}

/// Weighs an entry by its body's bytes.
#[derive(Debug, Clone, Copy)]
struct BodyWeighter;

impl quick_cache::Weighter<CacheKey, Arc<Entry>> for BodyWeighter {
    fn weight(&self, _key: &CacheKey, entry: &Arc<Entry>) -> u64 {
        entry.body.weight()
    }
}

type Entries = quick_cache::sync::Cache<CacheKey, Arc<Entry>, BodyWeighter>;

/// Bodies per key, bounded by bytes, with per-product generations.
pub struct ReadCache {
    entries: Entries,
    max_bytes: u64,
    ttl: Duration,
    /// Bumped by [`ReadCache::clear`].
    epoch: AtomicU64,
    generations: Box<[AtomicU64]>,
}

impl std::fmt::Debug for ReadCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadCache")
            .field("entries", &self.entries.len())
            .field("weighted_bytes", &self.entries.weight())
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
        // About a kilobyte a body (a slots day of the simulator's averages 1.2 KB).
        let estimated_entries = usize::try_from(max_bytes / 1024).unwrap_or(usize::MAX);
        Self {
            entries: Entries::with_weighter(estimated_entries.max(16), max_bytes, BodyWeighter),
            max_bytes,
            ttl,
            epoch: AtomicU64::new(0),
            generations: (0..GENERATION_SLOTS).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// The cached body of `key`, or else the one `fill` reads, cached unless the product was
    /// invalidated meanwhile. When a key is missing under load, one request fills it while
    /// the others wait for its body instead of all reading the store at once.
    pub async fn get_or_fill<E>(
        &self,
        key: CacheKey,
        fill: impl Future<Output = Result<CachedBody, E>>,
    ) -> Result<CachedBody, E> {
        if let Some(body) = self.get(&key) {
            return Ok(body);
        }
        let slot = self
            .entries
            .entry_async(&key, |_key, entry| {
                if self.is_fresh(&key, entry) {
                    EntryAction::Retain(entry.body.clone())
                } else {
                    EntryAction::ReplaceWithGuard
                }
            })
            .await;
        let guard = match slot {
            EntryResult::Retained(body) => return Ok(body),
            EntryResult::Vacant(guard) | EntryResult::Replaced(guard, _) => Some(guard),
            // Neither is returned for the actions above without a timeout; fill uncached.
            EntryResult::Removed(..) | EntryResult::Timeout => None,
        };
        let generation = self.generation(key.product);
        // On an error the guard is dropped unfilled: a waiting request fills the key instead.
        let body = fill.await?;
        if let Some(guard) = guard {
            if self.generation(key.product) == generation {
                let entry = self.entry(body.clone(), generation);
                // Refused only when the body alone outweighs the cache: served, not kept.
                let _ = guard.insert(entry);
            }
        }
        Ok(body)
    }

    /// The cached body, if fresh and not invalidated since it was read.
    pub fn get(&self, key: &CacheKey) -> Option<CachedBody> {
        let entry = self.entries.get(key)?;
        self.is_fresh(key, &entry).then(|| entry.body.clone())
    }

    fn is_fresh(&self, key: &CacheKey, entry: &Entry) -> bool {
        entry.generation == self.generation(key.product) && Instant::now() < entry.expires
    }

    fn entry(&self, body: CachedBody, generation: Generation) -> Arc<Entry> {
        Arc::new(Entry {
            body,
            generation,
            expires: Instant::now() + self.ttl,
        })
    }

    fn generation_slot(&self, product: ProductId) -> &AtomicU64 {
        let index = usize::try_from(product.get()).unwrap_or(0) % GENERATION_SLOTS;
        &self.generations[index]
    }

    /// The product's generation, captured before a fill reads the store.
    fn generation(&self, product: ProductId) -> Generation {
        Generation {
            epoch: self.epoch.load(Ordering::Acquire),
            product: self.generation_slot(product).load(Ordering::Acquire),
        }
    }

    /// Stores `body` unless the product was invalidated since `generation` was read: what
    /// [`ReadCache::get_or_fill`] does after its read, for tests that stage the race.
    #[cfg(test)]
    fn put(&self, key: CacheKey, generation: Generation, body: CachedBody) {
        if self.generation(key.product) != generation {
            return;
        }
        self.entries.insert(key, self.entry(body, generation));
    }

    /// Drops every body of `product`.
    pub fn invalidate(&self, product: ProductId) {
        // Entries of older generations are never served again; the cache evicts them by size,
        // so invalidation costs the same however many entries the product has.
        self.generation_slot(product).fetch_add(1, Ordering::AcqRel);
    }

    /// Drops everything.
    pub fn clear(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.entries.clear();
    }

    /// The configured bound, in bytes.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Bytes held now.
    pub fn weighted_bytes(&self) -> u64 {
        self.entries.weight()
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
        // 10 times the bound in bodies, over many keys, each read again after its insert.
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

    #[tokio::test(start_paused = true)]
    async fn an_entry_expires_after_its_ttl() {
        let cache = ReadCache::new(Duration::from_secs(5));
        let k = key(14, 1);
        let generation = cache.generation(k.product);
        cache.put(k, generation, CachedBody::plain(Bytes::from_static(b"{}")));
        tokio::time::advance(Duration::from_millis(4_900)).await;
        assert!(cache.get(&k).is_some(), "fresh before its TTL");
        tokio::time::advance(Duration::from_millis(200)).await;
        assert_eq!(cache.get(&k), None, "expired after its TTL");
        // An expired entry is refilled, not served.
        let refilled = cache
            .get_or_fill(k, async {
                Ok::<_, ()>(CachedBody::plain(Bytes::from_static(b"{\"new\":1}")))
            })
            .await
            .unwrap();
        assert_eq!(refilled.body, Bytes::from_static(b"{\"new\":1}"));
        assert_eq!(cache.get(&k), Some(refilled));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_misses_of_one_key_read_the_store_once() {
        let cache = Arc::new(ReadCache::new(Duration::from_secs(60)));
        let fills = Arc::new(AtomicU64::new(0));
        let k = key(14, 2);
        let readers: Vec<_> = (0..16)
            .map(|_| {
                let (cache, fills) = (cache.clone(), fills.clone());
                tokio::spawn(async move {
                    cache
                        .get_or_fill(k, async {
                            fills.fetch_add(1, Ordering::SeqCst);
                            // A slow store read: the others arrive while it is under way.
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            Ok::<_, ()>(CachedBody::plain(Bytes::from_static(b"[1]")))
                        })
                        .await
                })
            })
            .collect();
        for reader in readers {
            let body = reader.await.unwrap().unwrap();
            assert_eq!(body.body, Bytes::from_static(b"[1]"));
        }
        assert_eq!(
            fills.load(Ordering::SeqCst),
            1,
            "one store read for 16 requests"
        );
    }

    #[tokio::test]
    async fn a_failed_fill_is_not_cached_and_the_next_request_reads_again() {
        let cache = ReadCache::new(Duration::from_secs(60));
        let k = key(14, 3);
        let failed = cache.get_or_fill(k, async { Err::<CachedBody, _>("store down") });
        assert_eq!(failed.await, Err("store down"));
        let read = cache
            .get_or_fill(k, async {
                Ok::<_, &str>(CachedBody::plain(Bytes::from_static(b"{}")))
            })
            .await;
        assert_eq!(read.map(|body| body.body), Ok(Bytes::from_static(b"{}")));
        assert!(cache.get(&k).is_some());
    }

    #[tokio::test]
    async fn a_fill_that_raced_an_invalidation_is_served_but_not_cached() {
        let cache = ReadCache::new(Duration::from_secs(60));
        let k = key(14, 4);
        let served = cache
            .get_or_fill(k, async {
                cache.invalidate(k.product); // an apply lands during the read
                Ok::<_, ()>(CachedBody::plain(Bytes::from_static(b"old")))
            })
            .await
            .unwrap();
        assert_eq!(served.body, Bytes::from_static(b"old"));
        assert_eq!(cache.get(&k), None);
    }
}
