//! Redis `KvStore`: shared by every node. Keys carry a prefix so that one
//! Redis can serve several deployments (and test runs).

use crate::connection::{AfterError, Connection};
use async_trait::async_trait;
use hk_idp_core::error::StoreError;
use hk_idp_core::ports::kv::KvStore;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, ExistenceCheck, RedisResult, Script, SetExpiry, SetOptions};
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub struct RedisStore {
    conn: Arc<Connection>,
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
    /// Connects to `url` (`redis://`, `rediss://` or `redis+sentinel://`);
    /// every key is stored under `prefix`.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, StoreError> {
        // A Redis that went away: a request waits for at most a short
        // reconnection (three tries of 0.3 s, 0.1 to 0.4 s apart) and then fails with
        // 503 instead of holding a worker; the next request tries again, so
        // service returns as soon as Redis does.
        let config = ConnectionManagerConfig::new()
            .set_min_delay(Duration::from_millis(100))
            .set_max_delay(Duration::from_millis(400))
            .set_number_of_retries(3)
            .set_connection_timeout(Some(Duration::from_millis(300)));
        let conn = Connection::open(url, config)
            .await
            .map_err(|e| StoreError::Backend(format!("redis: cannot connect: {e}")))?;
        // INCR and set the window's expiry on the first increment, atomically.
        let incr = Script::new(
            "local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return n",
        );
        let take_and_put = Script::new(
            "local v = redis.call('GETDEL', KEYS[1]) if v then redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2]) end return v",
        );
        Ok(Self {
            conn: Arc::new(conn),
            prefix: prefix.to_owned(),
            incr,
            take_and_put,
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{}", self.prefix, key)
    }

    /// Runs one command; after a Sentinel failover that refused it, once
    /// more at the new master.
    async fn run<T, F, Fut>(&self, command: F) -> Result<T, StoreError>
    where
        F: Fn(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = RedisResult<T>>,
    {
        let (generation, c) = self.conn.get();
        match command(c).await {
            Ok(v) => Ok(v),
            Err(e) => match self.conn.after_error(generation, &e).await {
                AfterError::Retry => command(self.conn.get().1).await.map_err(backend),
                AfterError::Fail => Err(backend(e)),
            },
        }
    }
}

#[async_trait]
impl KvStore for RedisStore {
    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError> {
        let k = self.key(key);
        self.run(|mut c| {
            let opts = SetOptions::default().with_expiration(SetExpiry::PX(millis(ttl)));
            let k = k.clone();
            async move { c.set_options::<_, _, ()>(k, value, opts).await }
        })
        .await
    }

    async fn put_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> Result<bool, StoreError> {
        let k = self.key(key);
        let r: Option<String> = self
            .run(|mut c| {
                let opts = SetOptions::default()
                    .conditional_set(ExistenceCheck::NX)
                    .with_expiration(SetExpiry::PX(millis(ttl)));
                let k = k.clone();
                async move { c.set_options(k, value, opts).await }
            })
            .await?;
        Ok(r.is_some())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let k = self.key(key);
        self.run(|mut c| {
            let k = k.clone();
            async move { c.get(k).await }
        })
        .await
    }

    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let full: Vec<String> = keys.iter().map(|k| self.key(k)).collect();
        self.run(|mut c| {
            let full = &full;
            async move { redis::cmd("MGET").arg(full).query_async(&mut c).await }
        })
        .await
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let k = self.key(key);
        self.run(|mut c| {
            let k = k.clone();
            async move { c.get_del(k).await }
        })
        .await
    }

    async fn take_and_put(
        &self,
        key: &str,
        put_key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let (k, put) = (self.key(key), self.key(put_key));
        self.run(|mut c| {
            let mut call = self.take_and_put.key(&k);
            call.key(&put).arg(value).arg(millis(ttl));
            async move { call.invoke_async(&mut c).await }
        })
        .await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let k = self.key(key);
        self.run(|mut c| {
            let k = k.clone();
            async move { c.del::<_, ()>(k).await }
        })
        .await
    }

    async fn incr(&self, key: &str, window: Duration) -> Result<u64, StoreError> {
        let k = self.key(key);
        self.run(|mut c| {
            let mut call = self.incr.key(&k);
            call.arg(millis(window));
            async move { call.invoke_async(&mut c).await }
        })
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.run(|mut c| async move { redis::cmd("PING").query_async::<String>(&mut c).await })
            .await
            .map(|_| ())
    }
}
