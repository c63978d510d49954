//! Redis or PostgreSQL restarted under three running nodes: while it is
//! away every node answers 503 in the endpoint's own format (never a 500),
//! readiness names the store, and service comes back by itself, with no
//! node restarted.

use crate::in_topology;
use crate::support::cluster::Cluster;
use crate::support::stores::{OwnPostgres, OwnRedis};
use crate::support::{REDIRECT, email, input_value, location, pkce};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

in_topology!(
    redis_restarted_under_the_cluster_fails_cleanly_and_comes_back,
    postgres_restarted_under_the_cluster_fails_cleanly_and_comes_back,
);

const UNAVAILABLE: &str = "HK ID er midlertidig utilgjengelig. Prøv igjen om litt.";

/// Every node's readiness: its status and what it says of each store.
async fn readiness(c: &Cluster) -> Vec<(u16, Value)> {
    let asked = Instant::now();
    let all = futures::future::join_all((0..3).map(|i| async move {
        let r = reqwest::get(c.node_url(i, "/readyz")).await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }))
    .await;
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "readiness answers within a probe's timeout"
    );
    all
}

/// Waits until every node is ready again; how long it took.
async fn ready_again(c: &Cluster, since: Instant) -> Duration {
    loop {
        if readiness(c).await.iter().all(|(s, _)| *s == 200) {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < Duration::from_secs(30),
            "not back: {:?}",
            readiness(c).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// No node answered 500 or panicked through the whole test.
async fn nothing_broke(c: &Cluster) {
    let hits = c.proxy.hits();
    assert!(hits.iter().all(|h| h.status < 500 || h.status == 503), "{hits:?}");
    for i in 0..3 {
        let log = c.node(i).log();
        assert!(!log.iter().any(|l| l.contains("panicked")), "node {i}: {log:?}");
    }
}

async fn redis_restarted_under_the_cluster_fails_cleanly_and_comes_back() {
    let mut redis = OwnRedis::start(&[]);
    let c = Cluster::start(3, &[("IDP_REDIS_URL", &redis.url())]).await;
    let mail = email();
    c.member(&mail).await;
    let client = c.client().await;
    let (verifier, challenge) = pkce();
    let code = c.code_for(&c.new_browser(), &client, &challenge, &mail).await;
    c.redeem(&client, &code, &verifier).await;

    redis.stop();
    let stopped = Instant::now();
    for (status, body) in readiness(&c).await {
        assert_eq!((status, body), (503, json!({"database": "ok", "store": "down"})));
    }
    for _ in 0..3 {
        // Round the nodes: a page in Norwegian, the token endpoint's OAuth error.
        let page = c
            .http_client()
            .get(c.authorize_url(&client, &challenge, &[]))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 503);
        assert!(page.headers().contains_key("retry-after"));
        assert!(page.text().await.unwrap().contains(UNAVAILABLE));
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier.as_str()),
        ];
        let token = c.token_request(&client, &form).await;
        assert_eq!(token.status(), 503);
        assert_eq!(token.json::<Value>().await.unwrap()["error"], "temporarily_unavailable");
    }
    assert!(
        stopped.elapsed() < Duration::from_secs(10),
        "answers came at once: {:?}",
        stopped.elapsed()
    );

    redis.start_again();
    let back = ready_again(&c, Instant::now()).await;
    eprintln!("every node ready {back:?} after Redis came back");
    // What Redis held (sessions, codes) is gone; a new login works across the nodes.
    let (verifier, challenge) = pkce();
    let code = c.code_for(&c.new_browser(), &client, &challenge, &mail).await;
    let tokens = c.redeem(&client, &code, &verifier).await;
    for i in 0..3 {
        assert_eq!(c.userinfo_at(i, tokens["access_token"].as_str().unwrap()).await, 200);
    }
    nothing_broke(&c).await;
}

async fn postgres_restarted_under_the_cluster_fails_cleanly_and_comes_back() {
    let pg = tokio::task::spawn_blocking(OwnPostgres::start).await.unwrap();
    let c = Cluster::start(3, &[("IDP_DATABASE_URL", &pg.url())]).await;
    let mail = email();
    c.member(&mail).await;
    let client = c.client().await;
    let (verifier, challenge) = pkce();
    let code = c.code_for(&c.new_browser(), &client, &challenge, &mail).await;
    let tokens = c.redeem(&client, &code, &verifier).await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    let pg = tokio::task::spawn_blocking(move || {
        pg.stop();
        pg
    })
    .await
    .unwrap();
    let stopped = Instant::now();
    for (status, body) in readiness(&c).await {
        assert_eq!((status, body), (503, json!({"database": "down", "store": "ok"})));
    }
    for i in 0..3 {
        // The token endpoint's OAuth error at every node.
        let form = [("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())];
        let (status, body) = c.token_at(i, &client, &form).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (503, Some("temporarily_unavailable")),
            "node {i}: {body}"
        );
        // A page: the Norwegian one, at the login page or its form post
        // (a node that still has the client in its cache shows the form).
        let browser = c.new_browser();
        let (_, challenge) = pkce();
        let asked = Instant::now();
        let authorize = browser
            .get(c.authorize_url(&client, &challenge, &[]))
            .send()
            .await
            .unwrap();
        let page = if authorize.status() == 303 {
            let html = c.page(&browser, &location(&authorize)).await;
            browser
                .post(c.url("/login"))
                .form(&[
                    ("csrf_token", input_value(&html, "csrf_token").unwrap().as_str()),
                    ("req", input_value(&html, "req").unwrap().as_str()),
                    ("email", mail.as_str()),
                    ("password", crate::support::PASSWORD),
                ])
                .send()
                .await
                .unwrap()
        } else {
            authorize
        };
        assert_eq!(page.status(), 503);
        assert!(page.headers().contains_key("retry-after"));
        assert!(page.text().await.unwrap().contains(UNAVAILABLE));
        assert!(asked.elapsed() < Duration::from_secs(8), "{:?}", asked.elapsed());
    }
    assert!(
        stopped.elapsed() < Duration::from_secs(30),
        "answers came soon: {:?}",
        stopped.elapsed()
    );

    let restarted = Instant::now();
    let pg = tokio::task::spawn_blocking(move || {
        pg.start_again();
        pg
    })
    .await
    .unwrap();
    let back = ready_again(&c, restarted).await;
    eprintln!("every node ready {back:?} after PostgreSQL was started again");
    // Nothing PostgreSQL holds was lost: the refresh token still works, at every node in turn.
    let mut refresh = refresh;
    for i in 0..3 {
        let (status, body) = c
            .token_at(
                i,
                &client,
                &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
            )
            .await;
        assert_eq!(status, 200, "node {i}: {body}");
        refresh = body["refresh_token"]
            .as_str()
            .unwrap_or_else(|| panic!("node {i}: {body}"))
            .to_owned();
    }
    let (verifier, challenge) = pkce();
    let code = c.code_for(&c.new_browser(), &client, &challenge, &mail).await;
    c.redeem(&client, &code, &verifier).await;
    nothing_broke(&c).await;
    drop(pg);
}
