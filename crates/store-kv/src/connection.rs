//! The connection to Redis: one address (`redis://`, `rediss://`), or the
//! master of a Redis Sentinel group (`redis+sentinel://`), followed across
//! a failover without a restart.
//!
//! `redis+sentinel://[[user]:password@]host:port[,host:port…]/master[/db]`
//! names the sentinels and the master's name; a password is the Redis
//! nodes' (the sentinels take none).

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{Client, ConnectionAddr, ErrorKind, RedisError, RedisResult, ServerErrorKind};
use std::sync::RwLock;
use std::time::Duration;

/// How long opening a connection (and asking the sentinels) may take.
const OPEN_TIMEOUT: Duration = Duration::from_secs(5);

/// A shared, cheaply cloned handle to the current master.
pub struct Connection {
    /// The manager in use and its generation (bumped at each failover).
    current: RwLock<(u64, ConnectionManager)>,
    sentinel: Option<Sentinel>,
    config: ConnectionManagerConfig,
}

struct Sentinel {
    client: tokio::sync::Mutex<SentinelClient>,
    /// The master's address the current manager talks to.
    master: RwLock<ConnectionAddr>,
}

/// What to do after a command failed.
#[derive(Debug, PartialEq, Eq)]
pub enum AfterError {
    /// Send it again: it was not carried out, and there is a new master.
    Retry,
    /// Fail this request; the next one goes wherever the master now is.
    Fail,
}

impl Connection {
    pub async fn open(url: &str, config: ConnectionManagerConfig) -> RedisResult<Connection> {
        let (client, sentinel) = match url.strip_prefix("redis+sentinel://") {
            Some(rest) => {
                let mut sc = sentinel_client(rest)?;
                let client = bounded(sc.async_get_client()).await?;
                let master = client.get_connection_info().addr().clone();
                let sentinel = Sentinel {
                    client: tokio::sync::Mutex::new(sc),
                    master: RwLock::new(master),
                };
                (client, Some(sentinel))
            }
            None => (Client::open(url)?, None),
        };
        let manager = bounded(ConnectionManager::new_with_config(client, config.clone())).await?;
        Ok(Connection {
            current: RwLock::new((0, manager)),
            sentinel,
            config,
        })
    }

    /// The manager to send a command with, and its generation.
    pub fn get(&self) -> (u64, ConnectionManager) {
        self.current
            .read()
            .map(|c| c.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// After `error` from the manager of generation `generation`: with
    /// Sentinel, asks where the master is now and moves there.
    pub async fn after_error(&self, generation: u64, error: &RedisError) -> AfterError {
        let Some(sentinel) = &self.sentinel else {
            return AfterError::Fail;
        };
        if !master_may_have_moved(error) {
            return AfterError::Fail;
        }
        let not_sent = not_carried_out(error);
        // One request at a time asks the sentinels; the others find the
        // manager already replaced.
        let mut client = sentinel.client.lock().await;
        if self.get().0 != generation {
            return if not_sent { AfterError::Retry } else { AfterError::Fail };
        }
        let found = match bounded(client.async_get_client()).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "redis.sentinel_unanswered");
                return AfterError::Fail;
            }
        };
        let addr = found.get_connection_info().addr().clone();
        let known = sentinel.master.read().map(|m| m.clone()).ok();
        if known.as_ref() == Some(&addr) && error.kind() != ErrorKind::Server(ServerErrorKind::ReadOnly) {
            // Same master, merely unreachable: the manager reconnects by itself.
            return AfterError::Fail;
        }
        let manager = match bounded(ConnectionManager::new_with_config(found, self.config.clone())).await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, master = %addr, "redis.master_unreachable");
                return AfterError::Fail;
            }
        };
        tracing::warn!(
            from = %known.map(|k| k.to_string()).unwrap_or_default(),
            to = %addr,
            "redis.master_changed"
        );
        if let Ok(mut m) = sentinel.master.write() {
            *m = addr;
        }
        if let Ok(mut c) = self.current.write() {
            *c = (generation + 1, manager);
        }
        if not_sent { AfterError::Retry } else { AfterError::Fail }
    }
}

/// The sentinels and master name of a `redis+sentinel://` URL (after the scheme).
fn sentinel_client(rest: &str) -> RedisResult<SentinelClient> {
    let invalid =
        |what: &str| RedisError::from((ErrorKind::InvalidClientConfig, "redis+sentinel URL", what.to_owned()));
    let (auth, rest) = match rest.rsplit_once('@') {
        Some((a, r)) => (Some(a), r),
        None => (None, rest),
    };
    let (hosts, path) = rest
        .split_once('/')
        .ok_or_else(|| invalid("no master name after the hosts"))?;
    let mut parts = path.split('/').filter(|p| !p.is_empty());
    let master = parts.next().ok_or_else(|| invalid("no master name after the hosts"))?;
    let db = parts
        .next()
        .map(|d| {
            d.parse::<i64>()
                .map_err(|_| invalid("the database after the master name is not a number"))
        })
        .transpose()?;
    let mut addrs = Vec::new();
    for h in hosts.split(',') {
        let (host, port) = h.rsplit_once(':').unwrap_or((h, "26379"));
        let port = port
            .parse::<u16>()
            .map_err(|_| invalid("a sentinel's port is not a number"))?;
        if host.is_empty() {
            return Err(invalid("a sentinel without a host"));
        }
        addrs.push(ConnectionAddr::Tcp(host.trim_matches(['[', ']']).to_owned(), port));
    }
    let mut b = SentinelClientBuilder::new(addrs, master, SentinelServerType::Master)?;
    if let Some(auth) = auth {
        let (user, password) = auth.split_once(':').unwrap_or(("", auth));
        if !user.is_empty() {
            b = b.set_client_to_redis_username(user);
        }
        if !password.is_empty() {
            b = b.set_client_to_redis_password(password);
        }
    }
    if let Some(db) = db {
        b = b.set_client_to_redis_db(db);
    }
    b.build()
}

/// Errors after which the master may be elsewhere: it does not answer, or
/// it has become a replica.
fn master_may_have_moved(e: &RedisError) -> bool {
    e.kind() == ErrorKind::Server(ServerErrorKind::ReadOnly)
        || e.is_io_error()
        || e.is_connection_refusal()
        || e.is_connection_dropped()
        || e.is_timeout()
}

/// Errors that mean the command was not carried out, so sending it again
/// cannot apply it twice: refused by a replica, or no connection at all.
fn not_carried_out(e: &RedisError) -> bool {
    e.kind() == ErrorKind::Server(ServerErrorKind::ReadOnly) || e.is_connection_refusal()
}

async fn bounded<T>(f: impl std::future::Future<Output = RedisResult<T>>) -> RedisResult<T> {
    tokio::time::timeout(OPEN_TIMEOUT, f).await.unwrap_or_else(|_| {
        Err(RedisError::from((
            ErrorKind::Io,
            "no answer",
            format!("within {} s", OPEN_TIMEOUT.as_secs()),
        )))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sentinel_url_names_the_sentinels_the_master_and_the_database() {
        assert!(sentinel_client("127.0.0.1:26379,127.0.0.1:26380/hkid").is_ok());
        assert!(sentinel_client(":secret@s1:26379,s2/hkid/2").is_ok());
        assert!(sentinel_client("user:secret@[::1]:26379/hkid").is_ok());
        for bad in [
            "127.0.0.1:26379",
            "127.0.0.1:26379/",
            "s1:port/hkid",
            ":26379/hkid",
            "s1/hkid/x",
        ] {
            assert!(sentinel_client(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_a_refusal_or_a_replica_answer_is_sent_again() {
        let read_only = RedisError::from((ErrorKind::Server(ServerErrorKind::ReadOnly), "READONLY"));
        assert!(master_may_have_moved(&read_only) && not_carried_out(&read_only));
        let refused = RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert!(master_may_have_moved(&refused) && not_carried_out(&refused));
        let dropped = RedisError::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert!(master_may_have_moved(&dropped) && !not_carried_out(&dropped));
        let wrong_type = RedisError::from((ErrorKind::UnexpectedReturnType, "type"));
        assert!(!master_may_have_moved(&wrong_type));
    }
}
