//! In-process `KvStore`: one node only; entries expire lazily and in sweeps,
//! by the provider's `Clock`, so expiry is testable on a manual clock.

use crate::error::StoreError;
use crate::ports::clock::{Clock, SystemClock};
use crate::ports::kv::KvStore;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Milliseconds since the epoch, from the store's clock.
type Millis = i64;

fn later(now: Millis, ttl: Duration) -> Millis {
    now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX))
}

/// Writes between sweeps of expired entries.
const SWEEP_EVERY: u64 = 1024;

pub struct MemoryStore {
    entries: Mutex<HashMap<String, (Vec<u8>, Millis)>>,
    writes: AtomicU64,
    clock: Arc<dyn Clock>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new(Arc::new(SystemClock))
    }
}

impl MemoryStore {
    /// A store whose entries expire by `clock` (the provider's).
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            writes: AtomicU64::new(0),
            clock,
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, (Vec<u8>, Millis)>, Millis) -> T) -> Result<T, StoreError> {
        let mut map = self
            .entries
            .lock()
            .map_err(|_| StoreError::Backend("memory store poisoned".into()))?;
        let now = self.clock.now_millis();
        if self.writes.fetch_add(1, Ordering::Relaxed).is_multiple_of(SWEEP_EVERY) {
            map.retain(|_, (_, exp)| *exp > now);
        }
        Ok(f(&mut map, now))
    }

    /// Number of live entries (for tests of the sweep).
    pub fn len(&self) -> usize {
        let now = self.clock.now_millis();
        self.entries
            .lock()
            .map(|m| m.values().filter(|(_, e)| *e > now).count())
            .unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every live value (for tests of what is stored).
    pub fn values(&self) -> Vec<Vec<u8>> {
        let now = self.clock.now_millis();
        self.entries
            .lock()
            .map(|m| m.values().filter(|(_, e)| *e > now).map(|(v, _)| v.clone()).collect())
            .unwrap_or_default()
    }
}

fn live(map: &mut HashMap<String, (Vec<u8>, Millis)>, key: &str, now: Millis) -> bool {
    match map.get(key) {
        Some((_, exp)) if *exp > now => true,
        Some(_) => {
            map.remove(key);
            false
        }
        None => false,
    }
}

#[async_trait]
impl KvStore for MemoryStore {
    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError> {
        self.with(|m, now| {
            m.insert(key.to_owned(), (value.to_vec(), later(now, ttl)));
        })
    }

    async fn put_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> Result<bool, StoreError> {
        self.with(|m, now| {
            if live(m, key, now) {
                return false;
            }
            m.insert(key.to_owned(), (value.to_vec(), later(now, ttl)));
            true
        })
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.with(|m, now| {
            if live(m, key, now) {
                m.get(key).map(|(v, _)| v.clone())
            } else {
                None
            }
        })
    }

    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        self.with(|m, now| {
            keys.iter()
                .map(|k| {
                    if live(m, k, now) {
                        m.get(k.as_str()).map(|(v, _)| v.clone())
                    } else {
                        None
                    }
                })
                .collect()
        })
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.with(|m, now| {
            if live(m, key, now) {
                m.remove(key).map(|(v, _)| v)
            } else {
                None
            }
        })
    }

    async fn take_and_put(
        &self,
        key: &str,
        put_key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        self.with(|m, now| {
            if !live(m, key, now) {
                return None;
            }
            let taken = m.remove(key).map(|(v, _)| v);
            m.insert(put_key.to_owned(), (value.to_vec(), later(now, ttl)));
            taken
        })
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.with(|m, _| {
            m.remove(key);
        })
    }

    async fn incr(&self, key: &str, window: Duration) -> Result<u64, StoreError> {
        self.with(|m, now| {
            let n = if live(m, key, now) {
                m.get(key)
                    .and_then(|(v, _)| v.as_slice().try_into().ok())
                    .map(u64::from_le_bytes)
                    .unwrap_or(0)
                    + 1
            } else {
                1
            };
            let exp = if n == 1 {
                later(now, window)
            } else {
                m.get(key).map_or(later(now, window), |(_, e)| *e)
            };
            m.insert(key.to_owned(), (n.to_le_bytes().to_vec(), exp));
            n
        })
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
