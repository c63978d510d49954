//! Redis `KvStore`: shared by every node. Keys carry a prefix so that one
//! Redis can serve several deployments (and test runs).

use async_trait::async_trait;
use hk_idp_core::error::StoreError;
use hk_idp_core::ports::kv::KvStore;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, ExistenceCheck, Script, SetExpiry, SetOptions};
use std::time::Duration;

#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    incr: Script,
    take_and_put: Script,
}

fn backend(e: redis::RedisError) -> StoreError {
    StoreError::Backend(format!("redis: {e}"))
}

fn millis(d: Duration) -> u64 {
    (d.as_millis() as u64).max(1)
}

impl RedisStore {
    /// Connects to `url`; every key is stored under `prefix`.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(backend)?;
        // A Redis that went away: a request waits for at most a short
        // reconnection (three tries of 0.3 s, 0.1 to 0.4 s apart) and then fails with
        // 503 instead of holding a worker; the next request tries again, so
        // service returns as soon as Redis does.
        let config = ConnectionManagerConfig::new()
            .set_min_delay(Duration::from_millis(100))
            .set_max_delay(Duration::from_millis(400))
            .set_number_of_retries(3)
            .set_connection_timeout(Some(Duration::from_millis(300)));
        let conn = tokio::time::timeout(
            Duration::from_secs(5),
            ConnectionManager::new_with_config(client, config),
        )
        .await
        .map_err(|_| StoreError::Backend(format!("redis: no answer from {url} within 5 s")))?
        .map_err(backend)?;
        // INCR and set the window's expiry on the first increment, atomically.
        let incr = Script::new(
            "local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return n",
        );
        let take_and_put = Script::new(
            "local v = redis.call('GETDEL', KEYS[1]) if v then redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2]) end return v",
        );
        Ok(Self {
            conn,
            prefix: prefix.to_owned(),
            incr,
            take_and_put,
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{}", self.prefix, key)
    }
}

#[async_trait]
impl KvStore for RedisStore {
    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError> {
        let mut c = self.conn.clone();
        let opts = SetOptions::default().with_expiration(SetExpiry::PX(millis(ttl)));
        c.set_options::<_, _, ()>(self.key(key), value, opts)
            .await
            .map_err(backend)
    }

    async fn put_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> Result<bool, StoreError> {
        let mut c = self.conn.clone();
        let opts = SetOptions::default()
            .conditional_set(ExistenceCheck::NX)
            .with_expiration(SetExpiry::PX(millis(ttl)));
        let r: Option<String> = c.set_options(self.key(key), value, opts).await.map_err(backend)?;
        Ok(r.is_some())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let mut c = self.conn.clone();
        c.get(self.key(key)).await.map_err(backend)
    }

    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut c = self.conn.clone();
        let full: Vec<String> = keys.iter().map(|k| self.key(k)).collect();
        redis::cmd("MGET").arg(&full).query_async(&mut c).await.map_err(backend)
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let mut c = self.conn.clone();
        c.get_del(self.key(key)).await.map_err(backend)
    }

    async fn take_and_put(
        &self,
        key: &str,
        put_key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let mut c = self.conn.clone();
        self.take_and_put
            .key(self.key(key))
            .key(self.key(put_key))
            .arg(value)
            .arg(millis(ttl))
            .invoke_async(&mut c)
            .await
            .map_err(backend)
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let mut c = self.conn.clone();
        c.del::<_, ()>(self.key(key)).await.map_err(backend)
    }

    async fn incr(&self, key: &str, window: Duration) -> Result<u64, StoreError> {
        let mut c = self.conn.clone();
        self.incr
            .key(self.key(key))
            .arg(millis(window))
            .invoke_async(&mut c)
            .await
            .map_err(backend)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let mut c = self.conn.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut c)
            .await
            .map(|_| ())
            .map_err(backend)
    }
}
