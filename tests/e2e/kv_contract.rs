//! One suite for both short-lived stores: expiry, single-use take (also under
//! concurrency), put-if-absent and windowed counters.

use crate::support::require_services;
use hk_idp_core::ports::kv::KvStore;
use hk_idp_core::ports::memory_kv::MemoryStore;
use hk_idp_store_kv::RedisStore;
use std::sync::Arc;
use std::time::Duration;

async fn suite(store: Arc<dyn KvStore>) {
    let k = |s: &str| format!("{s}:{}", uuid::Uuid::new_v4().simple());
    store.ping().await.unwrap();

    let a = k("a");
    assert_eq!(store.get(&a).await.unwrap(), None);
    store.put(&a, b"one", Duration::from_secs(30)).await.unwrap();
    assert_eq!(store.get(&a).await.unwrap().as_deref(), Some(&b"one"[..]));
    store.put(&a, b"two", Duration::from_secs(30)).await.unwrap();
    assert_eq!(
        store.get(&a).await.unwrap().as_deref(),
        Some(&b"two"[..]),
        "put replaces"
    );
    store.delete(&a).await.unwrap();
    assert_eq!(store.get(&a).await.unwrap(), None);

    let (m1, m2) = (k("many"), k("many"));
    store.put(&m2, b"two", Duration::from_secs(30)).await.unwrap();
    assert_eq!(
        store.get_many(&[m1.clone(), m2.clone(), m1]).await.unwrap(),
        vec![None, Some(b"two".to_vec()), None],
        "get_many answers in the order asked"
    );
    assert_eq!(store.get_many(&[m2]).await.unwrap(), vec![Some(b"two".to_vec())]);

    let e = k("expiring");
    store.put(&e, b"x", Duration::from_millis(300)).await.unwrap();
    assert!(store.get(&e).await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(store.get(&e).await.unwrap(), None, "expired");
    assert_eq!(store.take(&e).await.unwrap(), None, "an expired entry cannot be taken");

    let t = k("take");
    store.put(&t, b"code", Duration::from_secs(30)).await.unwrap();
    assert_eq!(store.take(&t).await.unwrap().as_deref(), Some(&b"code"[..]));
    assert_eq!(store.take(&t).await.unwrap(), None, "taken once");

    let c = k("concurrent");
    store.put(&c, b"code", Duration::from_secs(30)).await.unwrap();
    let takes = (0..16).map(|_| {
        let s = store.clone();
        let c = c.clone();
        tokio::spawn(async move { s.take(&c).await.unwrap() })
    });
    let won = futures::future::join_all(takes)
        .await
        .into_iter()
        .filter(|r| r.as_ref().unwrap().is_some())
        .count();
    assert_eq!(won, 1, "of concurrent takes exactly one wins");

    // take_and_put: the winner's record stays; a loser writes nothing.
    let (code, spent) = (k("code"), k("spent"));
    store.put(&code, b"code", Duration::from_secs(30)).await.unwrap();
    let takes = (0..16u8).map(|i| {
        let (s, code, spent) = (store.clone(), code.clone(), spent.clone());
        tokio::spawn(async move {
            let got = s
                .take_and_put(&code, &spent, &[i], Duration::from_secs(30))
                .await
                .unwrap();
            got.map(|_| i)
        })
    });
    let winners: Vec<u8> = futures::future::join_all(takes)
        .await
        .into_iter()
        .filter_map(|r| r.unwrap())
        .collect();
    assert_eq!(winners.len(), 1, "of concurrent takes exactly one wins");
    assert_eq!(
        store.get(&spent).await.unwrap(),
        Some(winners.clone()),
        "its record stays"
    );
    assert_eq!(store.get(&code).await.unwrap(), None);

    let p = k("absent");
    assert!(store.put_if_absent(&p, b"1", Duration::from_secs(30)).await.unwrap());
    assert!(!store.put_if_absent(&p, b"2", Duration::from_secs(30)).await.unwrap());
    assert_eq!(store.get(&p).await.unwrap().as_deref(), Some(&b"1"[..]));

    let n = k("counter");
    let window = Duration::from_millis(400);
    assert_eq!(store.incr(&n, window).await.unwrap(), 1);
    assert_eq!(store.incr(&n, window).await.unwrap(), 2);
    assert_eq!(store.incr(&n, window).await.unwrap(), 3);
    tokio::time::sleep(Duration::from_millis(550)).await;
    assert_eq!(store.incr(&n, window).await.unwrap(), 1, "a new window starts at 1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_store_passes_the_contract() {
    suite(Arc::new(MemoryStore::default())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Redis (TEST_REDIS_URL); run with -- --include-ignored"]
async fn redis_store_passes_the_contract() {
    require_services();
    let url = std::env::var("TEST_REDIS_URL").unwrap();
    let prefix = format!("hkid-test:{}:", uuid::Uuid::new_v4().simple());
    suite(Arc::new(RedisStore::connect(&url, &prefix).await.unwrap())).await;
}

#[tokio::test]
async fn an_unreachable_redis_is_a_clear_error() {
    let err = RedisStore::connect("redis://127.0.0.1:1", "x:")
        .await
        .err()
        .expect("no Redis on port 1");
    assert!(err.to_string().contains("redis"), "{err}");
}
