//! A short-lived in-process cache in front of the client store: every token
//! request authenticates a client, and a database round trip per request
//! would cost more than signing the token. Changes made through this node
//! take effect at once; changes made on another node within `ttl`.

use crate::error::StoreError;
use crate::oauth::client::Client;
use crate::ports::clock::Clock;
use crate::ports::store::ClientStore;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Entries kept at most; past this the cache is cleared (clients are few).
const MAX_ENTRIES: usize = 10_000;

pub struct CachedClientStore {
    inner: Arc<dyn ClientStore>,
    /// Milliseconds an entry is reused.
    ttl_ms: i64,
    clock: Arc<dyn Clock>,
    /// Each client with the time (ms) it was read.
    entries: Mutex<HashMap<String, (Client, i64)>>,
}

impl CachedClientStore {
    /// Reuses a read for `ttl_secs` seconds by `clock`; 0: no cache.
    pub fn new(inner: Arc<dyn ClientStore>, ttl_secs: u64, clock: Arc<dyn Clock>) -> Self {
        Self {
            inner,
            ttl_ms: i64::try_from(ttl_secs.saturating_mul(1000)).unwrap_or(i64::MAX),
            clock,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn forget(&self, id: &str) {
        if let Ok(mut e) = self.entries.lock() {
            e.remove(id);
        }
    }
}

#[async_trait]
impl ClientStore for CachedClientStore {
    async fn insert_client(&self, client: &Client) -> Result<(), StoreError> {
        self.forget(&client.id);
        self.inner.insert_client(client).await
    }

    async fn find_client(&self, id: &str) -> Result<Option<Client>, StoreError> {
        if self.ttl_ms == 0 {
            return self.inner.find_client(id).await;
        }
        let now = self.clock.now_millis();
        if let Ok(e) = self.entries.lock()
            && let Some((c, _)) = e.get(id).filter(|(_, at)| now - *at < self.ttl_ms)
        {
            return Ok(Some(c.clone()));
        }
        let found = self.inner.find_client(id).await?;
        if let (Some(c), Ok(mut e)) = (&found, self.entries.lock()) {
            if e.len() >= MAX_ENTRIES {
                e.clear();
            }
            e.insert(id.to_owned(), (c.clone(), now));
        }
        Ok(found)
    }

    async fn find_portal_client(&self) -> Result<Option<Client>, StoreError> {
        self.inner.find_portal_client().await
    }

    async fn delete_client(&self, id: &str) -> Result<bool, StoreError> {
        self.forget(id);
        let deleted = self.inner.delete_client(id).await;
        self.forget(id);
        deleted
    }

    async fn update_client(&self, client: &Client) -> Result<(), StoreError> {
        self.forget(&client.id);
        let updated = self.inner.update_client(client).await;
        self.forget(&client.id);
        updated
    }

    async fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
        self.inner.list_clients().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::client::{AuthMethod, GrantType};
    use crate::oauth::signing_key::SigningAlg;
    use crate::testing::MemoryDb;
    use std::sync::atomic::Ordering;

    fn client() -> Client {
        Client {
            id: "c1".into(),
            secret_hash: None,
            name: "n".into(),
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            grant_types: vec![GrantType::AuthorizationCode],
            auth_method: AuthMethod::None,
            id_token_alg: SigningAlg::RS256,
            initiate_login_uri: None,
            first_party: false,
            about: Default::default(),
            registration_token_hash: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[tokio::test]
    async fn caches_for_the_ttl_and_forgets_on_delete() {
        let inner = Arc::new(MemoryDb::default());
        let clock = crate::ports::clock::ManualClock::new(1_000);
        let cache = CachedClientStore::new(inner.clone(), 5, Arc::new(clock.clone()));
        cache.insert_client(&client()).await.unwrap();
        for _ in 0..5 {
            assert!(cache.find_client("c1").await.unwrap().is_some());
        }
        assert_eq!(
            inner.client_reads.load(Ordering::SeqCst),
            1,
            "one read for five lookups"
        );
        assert!(cache.find_client("nope").await.unwrap().is_none());
        assert!(cache.find_client("nope").await.unwrap().is_none());
        assert_eq!(
            inner.client_reads.load(Ordering::SeqCst),
            3,
            "unknown ids are not cached"
        );
        clock.advance(4);
        cache.find_client("c1").await.unwrap();
        assert_eq!(
            inner.client_reads.load(Ordering::SeqCst),
            3,
            "still cached within the ttl"
        );
        clock.advance(1);
        cache.find_client("c1").await.unwrap();
        assert_eq!(inner.client_reads.load(Ordering::SeqCst), 4, "read again after the ttl");
        assert!(cache.delete_client("c1").await.unwrap());
        assert!(
            cache.find_client("c1").await.unwrap().is_none(),
            "a delete through this node is seen at once"
        );
    }
}
