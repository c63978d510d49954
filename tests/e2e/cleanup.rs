//! The database does not grow with finished logins: the background clean-up
//! removes expired refresh tokens and families, consents whose client is
//! gone and audit events past `audit.retention_days`, in batches, and counts
//! them in the metrics. State in Redis carries its TTLs.

use crate::on_both;
use crate::support::{Backend, TestApp};
use figment::providers::Serialized;
use hk_idp_core::audit::AuditQuery;
use hk_idp_core::ports::clock::Clock;
use hk_idp_core::ports::store::{AuditStore, ConsentStore};
use serde_json::Value;
use std::collections::HashMap;
use std::time::{Duration, Instant};

on_both!(finished_logins_leave_nothing_behind_once_expired);

/// Everything a login, a failed login, a code asked for and an
/// authorization request leave in Redis expires by itself: no key without
/// a TTL, none longer than the longest-lived state (a day's counters).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL and Redis (TEST_DATABASE_URL, TEST_REDIS_URL); run with -- --include-ignored"]
async fn every_key_in_redis_carries_a_ttl() {
    crate::support::require_services();
    let app = TestApp::start(Backend::PostgresRedis).await;
    let client = app.client().await;
    let kari = crate::support::email();
    app.member(&kari).await;
    let browser = app.new_browser();
    let (verifier, challenge) = crate::support::pkce();
    let login_path = crate::support::location(
        &browser
            .get(app.authorize_url(&client, &challenge, &[]))
            .send()
            .await
            .unwrap(),
    );
    app.post_login(&browser, &login_path, &kari, "feil passord her").await;
    app.ask_code(&app.new_browser(), crate::support::otp::FORGOT, "", &kari)
        .await;
    // An authorization request left waiting on the login page.
    app.new_browser()
        .get(app.authorize_url(&client, &challenge, &[]))
        .send()
        .await
        .unwrap();
    let code = app.code_for(&browser, &client, &challenge, &kari).await;
    let _unredeemed = code;
    let code = app.code_for(&browser, &client, &challenge, &kari).await;
    app.redeem(&client, &code, &verifier).await;

    let port = 6379;
    let prefix = app.cli_setting("IDP_REDIS__KEY_PREFIX").expect("a key prefix");
    let keys = crate::support::stores::redis_cli(port, &["--scan", "--pattern", &format!("{prefix}*")]);
    let keys: Vec<&str> = keys.lines().filter(|k| !k.is_empty()).collect();
    assert!(keys.len() >= 4, "a session, throttles, codes: {keys:?}");
    for key in keys {
        let ttl: i64 = crate::support::stores::redis_cli(port, &["TTL", key])
            .trim()
            .parse()
            .unwrap();
        assert!(ttl > 0, "{key} has no TTL ({ttl})");
        assert!(ttl <= 2 * 86_400, "{key} lives {ttl} s");
    }
}

/// The default refresh-token family lifetime (30 days), which is also the
/// retention the test sets: one step past it ends both.
const THIRTY_DAYS: i64 = 30 * 86_400;

async fn counts(app: &TestApp) -> HashMap<&'static str, u64> {
    app.services.sql.row_counts().await.unwrap().into_iter().collect()
}

/// Signs a new member in to `client` and refreshes once (a spent token and
/// its successor); returns the live refresh token.
async fn finished_login(app: &TestApp, client: &crate::support::TestClient) -> String {
    let mail = crate::support::email();
    app.member(&mail).await;
    let (verifier, challenge) = crate::support::pkce();
    let browser = app.new_browser();
    let code = app.code_for(&browser, client, &challenge, &mail).await;
    let t = app.redeem(client, &code, &verifier).await;
    let rt = t["refresh_token"].as_str().expect("a refresh token").to_owned();
    refreshed(app, client, &rt).await.expect("refreshed")
}

async fn refreshed(app: &TestApp, client: &crate::support::TestClient, rt: &str) -> Option<String> {
    let r = app
        .token_request(client, &[("grant_type", "refresh_token"), ("refresh_token", rt)])
        .await;
    if r.status() != 200 {
        return None;
    }
    let t: Value = r.json().await.unwrap();
    t["refresh_token"].as_str().map(str::to_owned)
}

/// Audit events older than the retention (30 days).
async fn old_events(app: &TestApp) -> usize {
    let q = AuditQuery {
        member_id: None,
        kind: None,
        since: None,
        until: Some(app.clock.now() - THIRTY_DAYS),
        after: None,
        limit: 10,
    };
    app.services.sql.list_events(&q).await.unwrap().len()
}

/// Waits (at most 15 s) until the refresh tables hold only `live`
/// families, no audit event is past the retention and only the consent
/// whose client exists is left.
async fn cleaned_up(app: &TestApp, live: u64) -> HashMap<&'static str, u64> {
    let start = Instant::now();
    loop {
        let c = counts(app).await;
        if c["refresh_families"] == live && c["consents"] == 1 && old_events(app).await == 0 {
            return c;
        }
        assert!(start.elapsed() < Duration::from_secs(15), "not cleaned up: {c:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn metric(body: &str, table: &str) -> u64 {
    let name = format!("hkid_cleanup_removed_rows_total{{table=\"{table}\"}} ");
    body.lines()
        .find_map(|l| l.strip_prefix(&name))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

async fn finished_logins_leave_nothing_behind_once_expired(b: Backend) {
    let app = TestApp::start_with(b, |f| {
        f.merge(Serialized::default("cleanup.interval", 1))
            .merge(Serialized::default("cleanup.batch", 3))
            .merge(Serialized::default("audit.retention_days", 30))
    })
    .await;
    let client = app.client().await;
    let kari = app.member(&crate::support::email()).await;
    // A consent that stays, and one whose client is gone.
    let sql = &app.services.sql;
    sql.save_consent(&kari, &client.id, "openid", 0).await.unwrap();
    sql.save_consent(&kari, "a-deleted-client", "openid", 0).await.unwrap();

    let mut after_rounds = Vec::new();
    let mut removed_tokens = 0;
    for _round in 0..2 {
        for _ in 0..4 {
            finished_login(&app, &client).await;
        }
        let before = counts(&app).await;
        assert!(old_events(&app).await == 0 && before["audit_events"] > 0);
        assert!(before["refresh_tokens"] >= 8, "{before:?}");
        assert!(before["refresh_families"] >= 4, "{before:?}");
        removed_tokens += before["refresh_tokens"];
        // Every token and family expires, and the logins' audit events pass
        // the retention; a login made now must outlive the clean-up.
        app.advance(THIRTY_DAYS + 1);
        let live = finished_login(&app, &client).await;
        let after = cleaned_up(&app, 1).await;
        assert_eq!(
            after["refresh_tokens"], 2,
            "the live login's spent and live token: {after:?}"
        );
        let live = refreshed(&app, &client, &live).await;
        assert!(live.is_some(), "the clean-up left a live family alone");
        after_rounds.push(after);
        // The live login ends too before the next round.
        app.advance(THIRTY_DAYS + 1);
        cleaned_up(&app, 0).await;
    }
    assert_eq!(
        after_rounds[0]["refresh_tokens"], after_rounds[1]["refresh_tokens"],
        "no growth with logins: {after_rounds:?}"
    );
    assert_eq!(after_rounds[0]["refresh_families"], after_rounds[1]["refresh_families"]);
    assert!(sql.find_consent(&kari, &client.id).await.unwrap().is_some());
    assert!(sql.find_consent(&kari, "a-deleted-client").await.unwrap().is_none());

    let body = reqwest::get(app.url("/metrics")).await.unwrap().text().await.unwrap();
    assert!(metric(&body, "refresh_tokens") >= removed_tokens, "{body}");
    assert!(metric(&body, "refresh_families") >= 8, "{body}");
    assert_eq!(metric(&body, "consents"), 1, "{body}");
    assert!(metric(&body, "audit_events") > 0, "{body}");
    let done = body
        .lines()
        .find_map(|l| l.strip_prefix("hkid_cleanup_runs_total{outcome=\"done\"} "))
        .and_then(|v| v.trim().parse::<u64>().ok());
    assert!(done.is_some_and(|n| n > 0), "{body}");
}
