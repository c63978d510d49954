//! Operations: discovery, JWKS, health, readiness, metrics, security
//! headers, key rotation and keys encrypted at rest.

use crate::on_both;
use crate::support::jwt::decode_claims;
use crate::support::{Backend, PASSWORD, TestApp, email, pkce};
use figment::providers::Serialized;
use serde_json::Value;

on_both!(
    discovery_lists_every_endpoint,
    health_readiness_and_metrics,
    pages_carry_security_headers,
    key_rotation_publishes_the_new_keys_first_then_signs_with_them,
    signing_keys_are_encrypted_at_rest_with_a_kek,
    turning_the_kek_on_encrypts_every_stored_secret_and_reencrypt_rotates_it,
    cookies_are_secure_behind_an_https_issuer,
    no_hsts_and_plain_cookie_names_on_an_http_issuer,
    metrics_are_served_apart_when_asked_and_in_the_format_asked_for,
    relying_parties_keep_the_jwks_as_long_as_jwks_max_age_says,
);

/// `server.metrics_listen`: `/metrics` on its own address and not on the
/// public one; OpenMetrics for Prometheus, the 0.0.4 text format to a
/// scraper that asks only for `text/plain`.
async fn metrics_are_served_apart_when_asked_and_in_the_format_asked_for(b: Backend) {
    let app = TestApp::start_with(b, |f| {
        f.merge(Serialized::default("server.metrics_listen", "127.0.0.1:0"))
    })
    .await;
    let apart = app.metrics_addr.expect("a metrics address");
    assert_ne!(apart, app.addr);
    reqwest::get(app.url("/jwks")).await.unwrap();
    assert_eq!(
        reqwest::get(app.url("/metrics")).await.unwrap().status(),
        404,
        "not public"
    );
    let http = reqwest::Client::new();
    let scrape = |accept: &'static str| {
        http.get(format!("http://{apart}/metrics"))
            .header("accept", accept)
            .send()
    };
    // What Prometheus sends.
    let r = scrape("application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3,*/*;q=0.1")
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let body = r.text().await.unwrap();
    assert!(body.ends_with("# EOF\n"), "{body}");
    assert!(
        body.contains("hkid_http_requests_total{method=\"GET\",route=\"/jwks\",status=\"200\"} 1"),
        "{body}"
    );
    let r = scrape("text/plain").await.unwrap();
    assert_eq!(r.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    let body = r.text().await.unwrap();
    assert!(
        !body.contains("# EOF") && body.contains("hkid_http_requests_total"),
        "{body}"
    );
    assert!(body.contains("# TYPE hkid_http_requests_total counter"), "{body}");
}

async fn discovery_lists_every_endpoint(b: Backend) {
    let app = TestApp::start(b).await;
    let resp = reqwest::get(app.url("/.well-known/openid-configuration"))
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "application/json");
    let d: Value = resp.json().await.unwrap();
    assert_eq!(d["issuer"], app.base.as_str());
    for ep in [
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "registration_endpoint",
        "revocation_endpoint",
        "introspection_endpoint",
        "end_session_endpoint",
    ] {
        assert!(d[ep].as_str().unwrap().starts_with(&app.base), "{ep}");
    }
    assert_eq!(d["code_challenge_methods_supported"], serde_json::json!(["S256"]));
    assert_eq!(d["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(d["authorization_response_iss_parameter_supported"], true);
    let jwks: Value = reqwest::get(d["jwks_uri"].as_str().unwrap())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let algs: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["alg"].as_str().unwrap())
        .collect();
    assert!(algs.contains(&"RS256") && algs.contains(&"ES256") && algs.contains(&"EdDSA"));
    for k in jwks["keys"].as_array().unwrap() {
        assert!(k.get("d").is_none() && k.get("p").is_none(), "no private parts in JWKS");
        assert_eq!(k["use"], "sig");
    }
}

async fn health_readiness_and_metrics(b: Backend) {
    let app = TestApp::start_with(b, |f| {
        f.merge(Serialized::default("server.trusted_proxies", "127.0.0.5"))
    })
    .await;
    assert_eq!(reqwest::get(app.url("/healthz")).await.unwrap().status(), 200);
    let ready = reqwest::get(app.url("/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"database": "ok", "store": "ok"}));
    let stranger = reqwest::Client::new()
        .get(app.url("/jwks"))
        .header("x-request-id", "req-41")
        .send()
        .await
        .unwrap();
    let id = stranger.headers()["x-request-id"].to_str().unwrap();
    assert!(
        id != "req-41" && !id.is_empty(),
        "a stranger's id is replaced by a new one"
    );
    let resp = app
        .browser_via("127.0.0.5", "198.51.100.1")
        .get(app.url("/jwks"))
        .header("x-request-id", "req-42")
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["x-request-id"],
        "req-42",
        "the trusted proxy's id echoed"
    );
    // A stranger's made-up methods do not become label values (a series each).
    for i in 0..3 {
        let method = reqwest::Method::from_bytes(format!("STRANGE{i}").as_bytes()).unwrap();
        reqwest::Client::new()
            .request(method, app.url("/jwks"))
            .send()
            .await
            .unwrap();
    }
    let m = reqwest::get(app.url("/metrics")).await.unwrap().text().await.unwrap();
    assert!(!m.contains("STRANGE"), "{m}");
    assert!(m.contains("method=\"other\""), "{m}");
    assert!(
        m.contains("hkid_http_requests_total{method=\"GET\",route=\"/jwks\",status=\"200\"} 2"),
        "{m}"
    );
    assert!(
        m.contains("hkid_http_request_duration_seconds_count{route=\"/jwks\"} 5"),
        "{m}"
    );
}

async fn pages_carry_security_headers(b: Backend) {
    let app = TestApp::start(b).await;
    let resp = app.browser.get(app.url("/login")).send().await.unwrap();
    let csp = resp.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'") && !csp.contains("unsafe-inline")
    );
    assert_eq!(resp.headers()["x-frame-options"], "DENY");
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let html = resp.text().await.unwrap();
    assert!(html.contains("<html lang=\"nb\">"));
    for text in [
        "Innlogging",
        "Dersom det er første gang du logger deg på må du aktivere din brukerkonto.",
        "Klikk her for å aktivere din brukerkonto",
        "<label for=\"email\">E-post</label>",
        "<label for=\"password\">Passord</label>",
        "Glemt passord",
        "Logg inn",
    ] {
        assert!(html.contains(text), "{text}");
    }
    assert!(
        !html.contains("<script") && !html.contains("style="),
        "no inline script or style"
    );
    let css = reqwest::get(app.url("/static/hkid.css")).await.unwrap();
    assert!(css.headers()["cache-control"].to_str().unwrap().contains("max-age"));
    assert!(css.headers()["content-type"].to_str().unwrap().starts_with("text/css"));
}

async fn key_rotation_publishes_the_new_keys_first_then_signs_with_them(b: Backend) {
    let app = TestApp::start(b).await;
    let mail = email();
    app.member(&mail).await;
    let client = app.client().await;
    let (verifier, challenge) = pkce();
    let code = app.code_for(&app.browser, &client, &challenge, &mail).await;
    let old = app.redeem(&client, &code, &verifier).await;
    let kid = |jwt: &str| {
        crate::support::jwt::decode_header(jwt)["kid"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let old_kid = kid(old["id_token"].as_str().unwrap());

    let s = &app.services;
    app.advance(1); // rotated a moment after start: the first keys still sign
    hk_idp_jose::rotate_keys(&s.sql, &s.keyring, s.provider.clock.now(), s.key_schedule)
        .await
        .unwrap();
    s.reload_keys().await.unwrap();
    let (verifier, challenge) = pkce();
    let code = app.code_for(&app.browser, &client, &challenge, &mail).await;
    let meanwhile = app.redeem(&client, &code, &verifier).await;
    assert_eq!(
        kid(meanwhile["id_token"].as_str().unwrap()),
        old_kid,
        "published first: the old key signs while relying parties may hold a JWKS without the new"
    );
    app.advance(s.key_schedule.publish_first);
    s.reload_keys().await.unwrap();

    let jwks: Value = reqwest::get(app.url("/jwks")).await.unwrap().json().await.unwrap();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids.len(), 6, "old and new keys for three algorithms");
    assert!(kids.contains(&old_kid.as_str()));
    let (verifier, challenge) = pkce();
    let code = app.code_for(&app.browser, &client, &challenge, &mail).await;
    let new = app.redeem(&client, &code, &verifier).await;
    let new_kid = kid(new["id_token"].as_str().unwrap());
    assert_ne!(new_kid, old_kid);
    assert!(kids.contains(&new_kid.as_str()));
    assert_eq!(
        app.userinfo_status(old["access_token"].as_str().unwrap()).await,
        200,
        "tokens of the old key still verify"
    );
    assert_eq!(app.userinfo_status(new["access_token"].as_str().unwrap()).await, 200);
    // The openidconnect RP verifies both ID tokens with the JWKS.
    assert_eq!(
        decode_claims(new["id_token"].as_str().unwrap())["aud"],
        client.id.as_str()
    );
}

async fn signing_keys_are_encrypted_at_rest_with_a_kek(b: Backend) {
    let kek = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [7u8; 32]);
    let app = TestApp::start_with(b, |f| f.merge(Serialized::default("keys.encryption_key", kek))).await;
    let keys = hk_idp_core::ports::store::KeyStore::list_keys(&app.services.sql)
        .await
        .unwrap();
    assert!(!keys.is_empty());
    for k in &keys {
        assert!(!k.private_key.contains("\"d\""), "private key stored in the clear");
        assert_eq!(k.private_key.split('.').count(), 5, "a compact JWE");
    }
    // Tokens still sign and verify.
    let (_, t) = app.signed_in().await;
    assert_eq!(app.userinfo_status(t["access_token"].as_str().unwrap()).await, 200);
    // Mail waiting in the outbox is sealed too: a code refused by the relay
    // for now is stored as a JWE that names no one.
    let waiting = email();
    app.pending_member(&waiting, "Per").await;
    app.mailbox.refuse_next(100);
    app.ask_code(&app.new_browser(), crate::support::otp::ACTIVATE, "", &waiting)
        .await;
    let outbox = loop {
        use hk_idp_core::ports::store::OutboxStore;
        let far = app.services.provider.clock.now_millis() + 3_600_000;
        let rows = app.services.sql.claim_mail(far, far, 10).await.unwrap();
        if !rows.is_empty() {
            break rows;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    for row in &outbox {
        assert_eq!(row.payload.split('.').count(), 5, "a compact JWE");
        assert!(!row.payload.contains(&waiting), "no address in the clear");
    }
    // Without the KEK the keys cannot be opened: start-up fails, naming the setting.
    let ring = hk_idp_jose::KeyRing::new(Default::default());
    let err = ring.load(&keys, 0, 0).unwrap_err().to_string();
    assert!(err.contains("keys.encryption_key"), "{err}");
}

/// Every stored secret as it is in the database: signing keys, then server secrets.
async fn stored_secrets(app: &TestApp) -> Vec<(String, String)> {
    use hk_idp_core::ports::store::KeyStore;
    let sql = &app.services.sql;
    let keys = sql.list_keys().await.unwrap().into_iter();
    let mut all: Vec<_> = keys
        .map(|k| (format!("signing key {}", k.kid), k.private_key))
        .collect();
    all.extend(sql.list_secrets().await.unwrap());
    all
}

async fn turning_the_kek_on_encrypts_every_stored_secret_and_reencrypt_rotates_it(b: Backend) {
    use base64::Engine;
    let b64 = |k: &[u8]| base64::engine::general_purpose::STANDARD.encode(k);
    let (k1, k2) = ([7u8; 32], [9u8; 32]);
    let app = TestApp::start(b).await;
    let clear = stored_secrets(&app).await;
    let names: Vec<&str> = clear.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"pepper") && names.contains(&"csrf"), "{names:?}");
    assert!(
        clear.iter().all(|(_, v)| !hk_idp_jose::is_sealed(v)),
        "stored in the clear without a KEK"
    );
    let opens_with = |sealer: &hk_idp_jose::Sealer, now: &[(String, String)]| {
        now.iter()
            .zip(&clear)
            .all(|((n, v), (_, plain))| sealer.open(n, v).is_ok_and(|p| &p == plain))
    };

    // Any start with a KEK (here a CLI command) encrypts what was stored in the clear.
    let on = [("IDP_KEYS__ENCRYPTION_KEY", b64(&k1))];
    let on: Vec<(&str, &str)> = on.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = app.cli_with(&on, &["client", "list", "--json"], None).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let sealed = stored_secrets(&app).await;
    for (name, v) in &sealed {
        assert!(hk_idp_jose::is_sealed(v), "{name} still in the clear");
        assert!(!clear.iter().any(|(_, c)| v.contains(c.as_str())), "{name}");
    }
    let s1 = hk_idp_jose::Sealer::new(Some(&k1), &[]).unwrap();
    assert!(opens_with(&s1, &sealed), "the same secrets, sealed");

    // Rotation: the new KEK current, the old one previous, then reencrypt.
    let rotating = [
        ("IDP_KEYS__ENCRYPTION_KEY", b64(&k2)),
        ("IDP_KEYS__PREVIOUS_ENCRYPTION_KEYS", format!("[\"{}\"]", b64(&k1))),
    ];
    let rotating: Vec<(&str, &str)> = rotating.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = app.cli_with(&rotating, &["keys", "reencrypt", "--json"], None).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys = sealed.iter().filter(|(n, _)| n.starts_with("signing key")).count();
    assert_eq!(report["signing_keys"], keys as u64);
    assert_eq!(report["server_secrets"], (sealed.len() - keys) as u64);
    let rewrapped = stored_secrets(&app).await;
    let s2 = hk_idp_jose::Sealer::new(Some(&k2), &[]).unwrap();
    assert!(opens_with(&s2, &rewrapped), "the new KEK alone reads everything");
    assert!(
        !rewrapped.iter().any(|(n, v)| s1.open(n, v).is_ok()),
        "the old KEK reads nothing"
    );

    // A node still on the old KEK alone refuses to start, naming the settings.
    let out = app.cli_with(&on, &["client", "list"], None).await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("keys.previous_encryption_keys"), "{err}");
    // The server that was running all along still signs and verifies.
    let (_, t) = app.signed_in().await;
    assert_eq!(app.userinfo_status(t["access_token"].as_str().unwrap()).await, 200);
}

async fn cookies_are_secure_behind_an_https_issuer(b: Backend) {
    let app = TestApp::start_with(b, |f| f.merge(Serialized::default("server.issuer", "https://id.hk.no"))).await;
    let addr = app.services.provider.settings.issuer.clone();
    assert_eq!(addr, "https://id.hk.no");
    let resp = reqwest::get(format!("http://{}/login", app.addr)).await.unwrap();
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("Secure") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    // RFC 6265bis __Host-: set only with Secure, Path=/ and no Domain, so no
    // other host (a sibling subdomain) can set or shadow it.
    assert!(cookie.starts_with("__Host-hkid_csrf="), "{cookie}");
    assert!(cookie.contains("Path=/") && !cookie.contains("Domain"), "{cookie}");
    // HSTS on every response, pages and protocol alike, at least a year.
    for path in ["/login", "/jwks", "/.well-known/openid-configuration", "/nowhere"] {
        let resp = reqwest::get(format!("http://{}{path}", app.addr)).await.unwrap();
        let hsts = resp.headers().get("strict-transport-security");
        let max_age = hsts
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("max-age="))
            .and_then(|v| v.split(';').next())
            .and_then(|v| v.parse::<u64>().ok());
        assert!(max_age.is_some_and(|a| a >= 31_536_000), "{path}: {hsts:?}");
    }
    // A login through the https issuer's cookies still works end to end.
    let kari = email();
    app.member(&kari).await;
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = format!("http://{}/login", app.addr);
    let page = browser.get(&login).send().await.unwrap();
    let set = page.headers()["set-cookie"].to_str().unwrap().to_owned();
    let csrf_cookie = set.split(';').next().unwrap().to_owned();
    let html = page.text().await.unwrap();
    let m = "name=\"csrf_token\" value=\"";
    let i = html.find(m).unwrap() + m.len();
    let token = &html[i..i + html[i..].find('"').unwrap()];
    let resp = browser
        .post(&login)
        .header("cookie", &csrf_cookie)
        .form(&[("csrf_token", token), ("email", kari.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let session = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        session.starts_with("__Host-hkid_session="),
        "{} {session}",
        resp.status()
    );
}

async fn no_hsts_and_plain_cookie_names_on_an_http_issuer(b: Backend) {
    let app = TestApp::start(b).await;
    let resp = reqwest::get(app.url("/login")).await.unwrap();
    assert!(resp.headers().get("strict-transport-security").is_none());
    let cookie = resp.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("hkid_csrf="), "{cookie}");
}

/// The JWKS's `Cache-Control` follows `keys.jwks_max_age`: the default 300 s,
/// or what the operator set.
async fn relying_parties_keep_the_jwks_as_long_as_jwks_max_age_says(b: Backend) {
    let cache_control = |app: &TestApp| {
        let url = app.url("/jwks");
        async move {
            let r = reqwest::get(url).await.unwrap();
            r.headers()["cache-control"].to_str().unwrap().to_owned()
        }
    };
    let default = TestApp::start(b).await;
    assert_eq!(cache_control(&default).await, "public, max-age=300");
    let short = TestApp::start_with(b, |f| f.merge(Serialized::default("keys.jwks_max_age", 7))).await;
    assert_eq!(cache_control(&short).await, "public, max-age=7");
}
