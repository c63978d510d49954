//! What `/metrics` counts beyond requests: logins by outcome, codes sent,
//! tokens by grant, refresh reuse, mail by outcome, the argon2 line, the
//! outbox, the database pool and the build.

use crate::on_both;
use crate::support::otp::FORGOT;
use crate::support::{Backend, TestApp, email, location, pkce};
use serde_json::Value;
use std::time::{Duration, Instant};

on_both!(metrics_count_logins_codes_tokens_reuse_and_mail);

/// The value of the sample `name` (with its labels), if there is one.
fn sample(body: &str, name: &str) -> Option<f64> {
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

async fn scrape(app: &TestApp) -> String {
    reqwest::get(app.url("/metrics")).await.unwrap().text().await.unwrap()
}

async fn metrics_count_logins_codes_tokens_reuse_and_mail(b: Backend) {
    let app = TestApp::start(b).await;
    let client = app.client().await;
    let kari = email();
    app.member(&kari).await;
    // One failed login, then one that succeeds.
    let browser = app.new_browser();
    let (verifier, challenge) = pkce();
    let login_path = location(
        &browser
            .get(app.authorize_url(&client, &challenge, &[]))
            .send()
            .await
            .unwrap(),
    );
    let r = app.post_login(&browser, &login_path, &kari, "feil passord her").await;
    assert_ne!(r.status(), 303);
    let code = app.code_for(&browser, &client, &challenge, &kari).await;
    let t0 = app.redeem(&client, &code, &verifier).await;
    let rt0 = t0["refresh_token"].as_str().unwrap().to_owned();
    let refresh = |rt: String| {
        let (app, client) = (&app, &client);
        async move {
            app.token_request(client, &[("grant_type", "refresh_token"), ("refresh_token", &rt)])
                .await
        }
    };
    let t1: Value = refresh(rt0.clone()).await.json().await.unwrap();
    assert!(t1["refresh_token"].is_string());
    // The spent token again, past the retry grace: a reuse.
    app.advance(61);
    assert_eq!(refresh(rt0).await.status(), 400);
    // A forgotten-password code, mailed.
    app.ask_code(&app.new_browser(), FORGOT, "", &kari).await;
    app.mailbox.wait_for(&kari, 1).await;

    let start = Instant::now();
    let body = loop {
        let body = scrape(&app).await;
        // Counted when sent, then removed from the outbox.
        if sample(&body, "hkid_mails_total{outcome=\"sent\"}") == Some(1.0)
            && sample(&body, "hkid_mail_outbox") == Some(0.0)
        {
            break body;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "{body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    for (name, value) in [
        ("hkid_logins_total{outcome=\"succeeded\"}", 1.0),
        ("hkid_logins_total{outcome=\"failed\"}", 1.0),
        ("hkid_codes_sent_total", 1.0),
        ("hkid_tokens_issued_total{grant_type=\"authorization_code\"}", 1.0),
        ("hkid_tokens_issued_total{grant_type=\"refresh_token\"}", 1.0),
        ("hkid_refresh_reuse_detected_total", 1.0),
        ("hkid_argon2_waiting", 0.0),
        ("hkid_argon2_running", 0.0),
        ("hkid_mail_outbox", 0.0),
    ] {
        assert_eq!(sample(&body, name), Some(value), "{name} in\n{body}");
    }
    // A creation, a failed and a good verification and the member's hash.
    assert!(
        sample(&body, "hkid_argon2_wait_seconds_count").is_some_and(|n| n >= 2.0),
        "{body}"
    );
    assert!(
        sample(&body, "hkid_db_connections_max").is_some_and(|n| n >= 1.0),
        "{body}"
    );
    assert!(sample(&body, "hkid_db_connections{state=\"idle\"}").is_some(), "{body}");
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        body.contains(&format!("hkid_build_info{{version=\"{version}\"}} 1")),
        "{body}"
    );
    assert!(!body.contains(&kari), "no e-mail in the metrics");
    // Every metric the example alert rules watch is one this serves.
    let rules = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/prometheus/alerts.yaml"
    ))
    .unwrap();
    for word in rules.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        if let Some(name) = word.strip_prefix("hkid_") {
            let base = ["_total", "_bucket", "_count", "_sum"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .unwrap_or(name);
            assert!(
                body.contains(&format!("# TYPE hkid_{base} ")),
                "alerts.yaml watches hkid_{name}, not served"
            );
        }
    }
}
