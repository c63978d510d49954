//! In-process `KvStore`: one node only; entries expire lazily and in sweeps.

use async_trait::async_trait;
use hk_idp_core::error::StoreError;
use hk_idp_core::kv::KvStore;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Writes between sweeps of expired entries.
const SWEEP_EVERY: u64 = 1024;

#[derive(Default)]
pub struct MemoryStore {
    entries: Mutex<HashMap<String, (Vec<u8>, Instant)>>,
    writes: AtomicU64,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, (Vec<u8>, Instant)>, Instant) -> T) -> Result<T, StoreError> {
        let mut map = self
            .entries
            .lock()
            .map_err(|_| StoreError::Backend("memory store poisoned".into()))?;
        let now = Instant::now();
        if self.writes.fetch_add(1, Ordering::Relaxed).is_multiple_of(SWEEP_EVERY) {
            map.retain(|_, (_, exp)| *exp > now);
        }
        Ok(f(&mut map, now))
    }

    /// Number of live entries (for tests of the sweep).
    pub fn len(&self) -> usize {
        let now = Instant::now();
        self.entries
            .lock()
            .map(|m| m.values().filter(|(_, e)| *e > now).count())
            .unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn live(map: &mut HashMap<String, (Vec<u8>, Instant)>, key: &str, now: Instant) -> bool {
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
            m.insert(key.to_owned(), (value.to_vec(), now + ttl));
        })
    }

    async fn put_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> Result<bool, StoreError> {
        self.with(|m, now| {
            if live(m, key, now) {
                return false;
            }
            m.insert(key.to_owned(), (value.to_vec(), now + ttl));
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
                now + window
            } else {
                m.get(key).map_or(now + window, |(_, e)| *e)
            };
            m.insert(key.to_owned(), (n.to_le_bytes().to_vec(), exp));
            n
        })
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
