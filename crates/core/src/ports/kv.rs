//! Short-lived state: one key-value interface with expiry, single-use take
//! and windowed counters. In-process and Redis implementations live in
//! `store-kv` and pass one shared test suite.

use crate::error::StoreError;
use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::Duration;

#[async_trait]
pub trait KvStore: Send + Sync {
    /// Stores `value` under `key`, replacing any value, for `ttl`.
    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError>;
    /// Stores only if `key` is absent; true if stored.
    async fn put_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> Result<bool, StoreError>;
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Several keys in one round trip, in the order asked.
    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError>;
    /// Removes and returns the value atomically: of concurrent takes, one wins.
    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// `take`, and only if it found a value, stores `value` under `put_key`
    /// for `ttl` in the same atomic step: the winner of concurrent takes
    /// leaves its record, the losers leave nothing.
    async fn take_and_put(
        &self,
        key: &str,
        put_key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<Option<Vec<u8>>, StoreError>;
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Adds one to a counter that lives `window` from its first increment;
    /// returns the new count.
    async fn incr(&self, key: &str, window: Duration) -> Result<u64, StoreError>;
    async fn ping(&self) -> Result<(), StoreError>;
}

/// Typed JSON access over a `KvStore`.
#[derive(Clone)]
pub struct Kv(pub Arc<dyn KvStore>);

fn secs(s: i64) -> Duration {
    Duration::from_secs(s.max(1) as u64)
}

impl Kv {
    pub async fn put_json<T: Serialize>(&self, key: &str, v: &T, ttl: i64) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(v).map_err(|e| StoreError::Backend(e.to_string()))?;
        self.0.put(key, &bytes, secs(ttl)).await
    }

    pub async fn get_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        decode(self.0.get(key).await?)
    }

    pub async fn take_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        decode(self.0.take(key).await?)
    }

    /// Takes `key`'s value and, if there was one, leaves `record` under `put_key`.
    pub async fn take_json_leaving<T: DeserializeOwned, R: Serialize>(
        &self,
        key: &str,
        put_key: &str,
        record: &R,
        ttl: i64,
    ) -> Result<Option<T>, StoreError> {
        let bytes = serde_json::to_vec(record).map_err(|e| StoreError::Backend(e.to_string()))?;
        decode(self.0.take_and_put(key, put_key, &bytes, secs(ttl)).await?)
    }

    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.0.delete(key).await
    }

    pub async fn mark(&self, key: &str, ttl: i64) -> Result<(), StoreError> {
        self.0.put(key, b"1", secs(ttl)).await
    }

    pub async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.0.get(key).await?.is_some())
    }

    /// Several raw values in one round trip, in the order asked.
    pub async fn get_many_raw(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let found = self.0.get_many(keys).await?;
        if found.len() != keys.len() {
            return Err(StoreError::Backend(format!(
                "asked for {} keys, got {}",
                keys.len(),
                found.len()
            )));
        }
        Ok(found)
    }

    pub async fn incr(&self, key: &str, window: i64) -> Result<u64, StoreError> {
        self.0.incr(key, secs(window)).await
    }
}

fn decode<T: DeserializeOwned>(raw: Option<Vec<u8>>) -> Result<Option<T>, StoreError> {
    raw.map(|b| serde_json::from_slice(&b).map_err(|e| StoreError::Backend(format!("corrupt entry: {e}"))))
        .transpose()
}
