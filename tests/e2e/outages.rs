//! A store going away and coming back: requests fail cleanly — 503 with a
//! clear message in the endpoint's format, never a 500 or a panic —
//! readiness says which store is down, and service returns by itself.

use crate::support::stores::OwnRedis;
use crate::support::{Backend, TestApp, email, location, pkce};
use figment::providers::Serialized;
use std::time::{Duration, Instant};

mod redis_restarted_mid_run_fails_cleanly_and_recovers {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs PostgreSQL and Redis (TEST_DATABASE_URL, TEST_REDIS_URL); run with -- --include-ignored"]
    async fn postgres_redis() {
        crate::support::require_services();
        super::redis_restarted_mid_run_fails_cleanly_and_recovers().await;
    }
}

async fn redis_restarted_mid_run_fails_cleanly_and_recovers() {
    let mut redis = OwnRedis::start(&[]);
    let app = TestApp::start_with(Backend::PostgresRedis, |f| {
        f.merge(Serialized::default("redis.url", redis.url()))
    })
    .await;
    let client = app.client().await;
    let addr = email();
    app.member(&addr).await;
    let (_, ch) = pkce();
    let url = app.authorize_url(&client, &ch, &[]);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    assert_eq!(http.get(&url).send().await.unwrap().status(), 303);

    redis.stop();
    // A page: 503 in Norwegian, with Retry-After, at once (no worker held).
    let asked = Instant::now();
    let resp = http.get(&url).send().await.unwrap();
    assert!(asked.elapsed() < Duration::from_secs(5), "took {:?}", asked.elapsed());
    assert_eq!(resp.status(), 503);
    assert!(resp.headers().contains_key("retry-after"));
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("HK ID er midlertidig utilgjengelig. Prøv igjen om litt."),
        "{html}"
    );
    // A protocol endpoint: the OAuth error.
    let resp = app
        .token_request(
            &client,
            &[
                ("grant_type", "authorization_code"),
                ("code", "x"),
                ("redirect_uri", crate::support::REDIRECT),
                ("code_verifier", &"v".repeat(43)),
            ],
        )
        .await;
    assert_eq!(resp.status(), 503);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");
    // Readiness names the store.
    let resp = http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(resp.status(), 503);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"database": "ok", "store": "down"}));

    // Back: no restart of the node, service returns by itself.
    redis.start_again();
    let start = Instant::now();
    loop {
        let resp = http.get(&url).send().await.unwrap();
        if resp.status() == 303 {
            assert!(location(&resp).starts_with("/login?req="));
            break;
        }
        assert_eq!(resp.status(), 503, "only ever 503 while it reconnects");
        assert!(start.elapsed() < Duration::from_secs(30), "did not come back");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(http.get(app.url("/readyz")).send().await.unwrap().status(), 200);
    let (verifier, challenge) = pkce();
    let code = app.code_for(&app.new_browser(), &client, &challenge, &addr).await;
    app.redeem(&client, &code, &verifier).await;
}
