//! Redis for high availability: the nodes reach Redis through three
//! sentinels (`redis+sentinel://`); the master is killed mid-run, the
//! sentinels promote its replica, and every node follows by itself, with
//! what the master held (the SSO session) still there.

use crate::in_topology;
use crate::support::cluster::{Cluster, served_by};
use crate::support::stores::{OwnRedis, OwnSentinels, redis_cli};
use crate::support::{email, location, pkce, query_param};
use std::time::{Duration, Instant};

in_topology!(a_redis_failover_under_the_cluster_needs_no_restart);

const MASTER: &str = "hkid";

async fn a_redis_failover_under_the_cluster_needs_no_restart() {
    let (mut master, replica, sentinels) = tokio::task::spawn_blocking(|| {
        let master = OwnRedis::start(&[]);
        let port = master.port.to_string();
        let replica = OwnRedis::start(&["--replicaof", "127.0.0.1", &port]);
        let sentinels = OwnSentinels::watch(&master, MASTER, 3, 1);
        (master, replica, sentinels)
    })
    .await
    .unwrap();
    let c = Cluster::start(3, &[("IDP_REDIS_URL", &sentinels.url(MASTER))]).await;
    let mail = email();
    c.member(&mail).await;
    let client = c.client().await;
    let browser = c.browser_from("127.0.0.2");
    let (verifier, challenge) = pkce();
    let code = c.code_for(&browser, &client, &challenge, &mail).await;
    c.redeem(&client, &code, &verifier).await;
    // The session is on the replica too before the master goes.
    redis_cli(master.port, &["WAIT", "1", "2000"]);

    master.stop();
    let killed = Instant::now();
    let silent = |b: &reqwest::Client| {
        let (_, challenge) = pkce();
        let url = c.authorize_url(&client, &challenge, &[("prompt", "none")]);
        let b = b.clone();
        async move { b.get(url).send().await.unwrap() }
    };
    // Meanwhile every answer is the session's code or a clean 503.
    let mut statuses = Vec::new();
    let back = loop {
        let r = silent(&browser).await;
        statuses.push(r.status().as_u16());
        if r.status() == 303 && sentinels.master_port(MASTER) == replica.port {
            break killed.elapsed();
        }
        assert!(killed.elapsed() < Duration::from_secs(30), "no failover: {statuses:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(statuses.iter().all(|s| *s == 303 || *s == 503), "{statuses:?}");
    assert!(statuses.contains(&503), "the outage was seen: {statuses:?}");
    eprintln!(
        "served again {back:?} after the master was killed ({} answers meanwhile)",
        statuses.len()
    );

    // Every node is at the new master: the SSO session still holds there,
    // and a new login works.
    for i in 0..3 {
        let start = Instant::now();
        loop {
            c.steer_to(i).await;
            let r = silent(&browser).await;
            assert_eq!(served_by(&r), [c.node(i).addr]);
            if r.status() == 303 {
                assert!(
                    query_param(&location(&r), "code").is_some(),
                    "node {i}: {}",
                    location(&r)
                );
                break;
            }
            assert_eq!(r.status(), 503);
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "node {i} did not follow the failover"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            c.node(i).log().iter().any(|l| l.contains("redis.master_changed")),
            "node {i} names the move"
        );
    }
    let (verifier, challenge) = pkce();
    let code = c.code_for(&c.new_browser(), &client, &challenge, &mail).await;
    c.redeem(&client, &code, &verifier).await;
    let hits = c.proxy.hits();
    assert!(hits.iter().all(|h| h.status < 500 || h.status == 503), "{hits:?}");
}
