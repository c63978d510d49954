//! The token endpoint's rules: codes, PKCE, client authentication, refresh
//! rotation, client credentials, revocation and introspection.

use crate::on_both;
use crate::support::jwt::decode_claims;
use crate::support::{Backend, REDIRECT, TestApp, TestClient, email, pkce};
use hk_idp_core::oauth::client::{AuthMethod, GrantType};
use serde_json::Value;

on_both!(
    a_reused_code_fails_and_revokes_what_it_issued,
    concurrent_redemption_of_one_code_yields_one_success,
    wrong_pkce_verifier_is_refused,
    code_is_bound_to_client_and_redirect_uri,
    wrong_client_secret_is_401_with_challenge,
    client_secret_post_and_public_clients_authenticate,
    expired_code_is_refused,
    refresh_reuse_revokes_the_family,
    a_retried_or_concurrent_refresh_gets_the_same_successor,
    a_password_reset_voids_every_code_and_token_issued_before_it,
    refresh_tokens_end_when_the_sso_session_expires,
    client_credentials_gives_an_audience_bound_token,
    revocation_and_introspection,
    userinfo_requires_a_valid_bearer_token,
);

async fn login(app: &TestApp, client: &TestClient) -> (String, String) {
    let mail = email();
    app.member(&mail).await;
    let (verifier, challenge) = pkce();
    (app.code_for(&app.browser, client, &challenge, &mail).await, verifier)
}

fn code_form<'a>(code: &'a str, verifier: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier),
    ]
}

async fn error_of(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    (status, body["error"].as_str().unwrap_or_default().to_owned())
}

async fn a_reused_code_fails_and_revokes_what_it_issued(b: Backend) {
    let app = TestApp::start(b).await;
    let client = app.client().await;
    let (code, verifier) = login(&app, &client).await;
    let tokens = app.redeem(&client, &code, &verifier).await;
    let at = tokens["access_token"].as_str().unwrap();
    let rt = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(app.userinfo_status(at).await, 200);
    let again = app.token_request(&client, &code_form(&code, &verifier)).await;
    assert_eq!(error_of(again).await, (400, "invalid_grant".into()));
    assert_eq!(
        app.userinfo_status(at).await,
        401,
        "the access token of a replayed code is revoked"
    );
    let refresh = app
        .token_request(&client, &[("grant_type", "refresh_token"), ("refresh_token", rt)])
        .await;
    assert_eq!(
        error_of(refresh).await,
        (400, "invalid_grant".into()),
        "and its refresh token"
    );
}

async fn concurrent_redemption_of_one_code_yields_one_success(b: Backend) {
    let app = TestApp::start(b).await;
    let client = app.client().await;
    let (code, verifier) = login(&app, &client).await;
    let form = code_form(&code, &verifier);
    let attempts = (0..8).map(|_| app.token_request(&client, &form));
    let statuses: Vec<u16> = futures::future::join_all(attempts)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 400).count(), 7, "{statuses:?}");
}

async fn wrong_pkce_verifier_is_refused(b: Backend) {
    let app = TestApp::start(b).await;
    let client = app.client().await;
    let (code, _) = login(&app, &client).await;
    let (other, _) = pkce();
    assert_eq!(
        error_of(app.token_request(&client, &code_form(&code, &other)).await).await,
        (400, "invalid_grant".into())
    );
    let (code, _) = login(&app, &client).await;
    let without = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
    ];
    assert_eq!(
        error_of(app.token_request(&client, &without).await).await,
        (400, "invalid_grant".into())
    );
}

async fn code_is_bound_to_client_and_redirect_uri(b: Backend) {
    let app = TestApp::start(b).await;
    let client = app.client().await;
    let thief = app.client().await;
    let (code, verifier) = login(&app, &client).await;
    assert_eq!(
        error_of(app.token_request(&thief, &code_form(&code, &verifier)).await).await,
        (400, "invalid_grant".into())
    );
    let (code, verifier) = login(&app, &client).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", "https://rp.example/other"),
        ("code_verifier", verifier.as_str()),
    ];
    assert_eq!(
        error_of(app.token_request(&client, &form).await).await,
        (400, "invalid_grant".into())
    );
}

async fn wrong_client_secret_is_401_with_challenge(b: Backend) {
    let app = TestApp::start(b).await;
    let client = app.client().await;
    let (code, verifier) = login(&app, &client).await;
    let wrong = TestClient {
        id: client.id.clone(),
        secret: Some("not-the-secret".into()),
    };
    let resp = app.token_request(&wrong, &code_form(&code, &verifier)).await;
    assert_eq!(resp.status(), 401);
    assert!(
        resp.headers()
            .get("www-authenticate")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    assert_eq!(error_of(resp).await.1, "invalid_client");
    // The wrong method for the client is refused too (registered: Basic).
    let http = reqwest::Client::new();
    let mut form = code_form(&code, &verifier);
    form.push(("client_id", &client.id));
    form.push(("client_secret", client.secret.as_deref().unwrap()));
    let resp = http.post(app.url("/token")).form(&form).send().await.unwrap();
    assert_eq!(resp.status(), 401);
}

async fn client_secret_post_and_public_clients_authenticate(b: Backend) {
    let app = TestApp::start(b).await;
    let post = app.client_with(|c| c.auth_method = AuthMethod::ClientSecretPost).await;
    let (code, verifier) = login(&app, &post).await;
    let mut form = code_form(&code, &verifier);
    form.push(("client_id", &post.id));
    form.push(("client_secret", post.secret.as_deref().unwrap()));
    let resp = reqwest::Client::new()
        .post(app.url("/token"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers().get("cache-control").unwrap(), "no-store");

    let public = app.client_with(|c| c.auth_method = AuthMethod::None).await;
    let (code, verifier) = login(&app, &public).await;
    let mut form = code_form(&code, &verifier);
    form.push(("client_id", &public.id));
    let resp = reqwest::Client::new()
        .post(app.url("/token"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

async fn expired_code_is_refused(b: Backend) {
    let app = TestApp::start(b).await;
    let client = app.client().await;
    let (code, verifier) = login(&app, &client).await;
    app.advance(61);
    assert_eq!(
        error_of(app.token_request(&client, &code_form(&code, &verifier)).await).await,
        (400, "invalid_grant".into())
    );
}

async fn refresh_reuse_revokes_the_family(b: Backend) {
    let app = TestApp::start(b).await;
    let client = app.client().await;
    let (code, verifier) = login(&app, &client).await;
    let t0 = app.redeem(&client, &code, &verifier).await;
    let rt0 = t0["refresh_token"].as_str().unwrap().to_owned();
    let refresh = |rt: String| {
        let app = &app;
        let client = &client;
        async move {
            app.token_request(client, &[("grant_type", "refresh_token"), ("refresh_token", &rt)])
                .await
        }
    };
    let t1: Value = refresh(rt0.clone()).await.json().await.unwrap();
    let rt1 = t1["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rt0, rt1);
    // An attacker replays the spent token after the retry grace: refused,
    // and the family is revoked.
    app.advance(REFRESH_GRACE + 1);
    assert_eq!(error_of(refresh(rt0).await).await, (400, "invalid_grant".into()));
    assert_eq!(
        error_of(refresh(rt1).await).await,
        (400, "invalid_grant".into()),
        "the live token dies with its family"
    );
    assert_eq!(app.userinfo_status(t1["access_token"].as_str().unwrap()).await, 401);
    // A refresh token is bound to its client.
    let (code, verifier) = login(&app, &client).await;
    let t = app.redeem(&client, &code, &verifier).await;
    let other = app.client().await;
    let r = app
        .token_request(
            &other,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", t["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(error_of(r).await, (400, "invalid_grant".into()));
    // A narrower scope is allowed, a wider one is not.
    let rt = t["refresh_token"].as_str().unwrap();
    let r = app
        .token_request(
            &client,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", rt),
                ("scope", "openid email profile organization"),
            ],
        )
        .await;
    assert_eq!(error_of(r).await, (400, "invalid_scope".into()));
}

/// `tokens.refresh_grace` in config/default.toml.
const REFRESH_GRACE: i64 = 10;

/// A client that lost the response (or sent the same refresh twice at once)
/// gets the same successor within the grace, not a revoked family.
async fn a_retried_or_concurrent_refresh_gets_the_same_successor(b: Backend) {
    let app = TestApp::start(b).await;
    let client = app.client().await;
    let (code, verifier) = login(&app, &client).await;
    let t0 = app.redeem(&client, &code, &verifier).await;
    let rt0 = t0["refresh_token"].as_str().unwrap();
    let form = [("grant_type", "refresh_token"), ("refresh_token", rt0)];
    let attempts = (0..6).map(|_| app.token_request(&client, &form));
    let mut successors = Vec::new();
    for resp in futures::future::join_all(attempts).await {
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().await.unwrap();
        assert!(body["id_token"].is_string() && body["access_token"].is_string());
        successors.push(body["refresh_token"].as_str().unwrap().to_owned());
    }
    successors.sort();
    successors.dedup();
    assert_eq!(successors.len(), 1, "one successor for every attempt");
    app.advance(REFRESH_GRACE - 1);
    let retry: Value = app.token_request(&client, &form).await.json().await.unwrap();
    assert_eq!(retry["refresh_token"].as_str(), Some(successors[0].as_str()));
    let next = app
        .token_request(
            &client,
            &[("grant_type", "refresh_token"), ("refresh_token", &successors[0])],
        )
        .await;
    assert_eq!(next.status(), 200, "the family lives on");
    // Once the successor is used, the old token is a reuse again.
    assert_eq!(
        error_of(app.token_request(&client, &form).await).await,
        (400, "invalid_grant".into())
    );
}

/// A new password ends everything issued before it: a code not yet redeemed,
/// the access token and the refresh token.
async fn a_password_reset_voids_every_code_and_token_issued_before_it(b: Backend) {
    let app = TestApp::start(b).await;
    let client = app.client().await;
    let mail = email();
    app.member(&mail).await;
    let (verifier, challenge) = pkce();
    let code = app.code_for(&app.new_browser(), &client, &challenge, &mail).await;
    let tokens = app.redeem(&client, &code, &verifier).await;
    let (late_verifier, late_challenge) = pkce();
    let late = app.code_for(&app.new_browser(), &client, &late_challenge, &mail).await;
    app.advance(1);
    app.reset_password(&app.new_browser(), crate::support::otp::FORGOT, "", &mail, 1)
        .await;
    assert_eq!(
        error_of(app.token_request(&client, &code_form(&late, &late_verifier)).await).await,
        (400, "invalid_grant".into()),
        "a code from before the reset"
    );
    assert_eq!(app.userinfo_status(tokens["access_token"].as_str().unwrap()).await, 401);
    let rt = tokens["refresh_token"].as_str().unwrap();
    let r = app
        .token_request(&client, &[("grant_type", "refresh_token"), ("refresh_token", rt)])
        .await;
    assert_eq!(error_of(r).await, (400, "invalid_grant".into()));
}

async fn client_credentials_gives_an_audience_bound_token(b: Backend) {
    let app = TestApp::start(b).await;
    let service = app
        .client_with(|c| c.grant_types = vec![GrantType::ClientCredentials])
        .await;
    let resp = app
        .token_request(&service, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(resp.status(), 200);
    let t: Value = resp.json().await.unwrap();
    assert!(t.get("id_token").is_none() && t.get("refresh_token").is_none());
    let intro: Value = reqwest::Client::new()
        .post(app.url("/introspect"))
        .basic_auth(&service.id, service.secret.as_deref())
        .form(&[("token", t["access_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(intro["active"], true);
    assert_eq!(
        intro["aud"],
        app.base.as_str(),
        "default audience is the issuer setting"
    );
    assert_eq!(intro["sub"], service.id.as_str());
    let resp = app
        .token_request(
            &service,
            &[("grant_type", "client_credentials"), ("resource", "https://api.hk.no/")],
        )
        .await;
    let t: Value = resp.json().await.unwrap();
    let claims = decode_claims(t["access_token"].as_str().unwrap());
    assert_eq!(claims["aud"], "https://api.hk.no/");
    // A code-flow client may not use it; openid needs a person.
    let web = app.client().await;
    assert_eq!(
        error_of(app.token_request(&web, &[("grant_type", "client_credentials")]).await).await,
        (400, "unauthorized_client".into())
    );
    let r = app
        .token_request(&service, &[("grant_type", "client_credentials"), ("scope", "openid")])
        .await;
    assert_eq!(error_of(r).await, (400, "invalid_scope".into()));
    assert_eq!(
        error_of(app.token_request(&service, &[("grant_type", "password")]).await).await,
        (400, "unsupported_grant_type".into())
    );
}

async fn revocation_and_introspection(b: Backend) {
    let app = TestApp::start(b).await;
    let client = app.client().await;
    let (code, verifier) = login(&app, &client).await;
    let t = app.redeem(&client, &code, &verifier).await;
    let (at, rt) = (
        t["access_token"].as_str().unwrap(),
        t["refresh_token"].as_str().unwrap(),
    );
    let http = reqwest::Client::new();
    let introspect = |token: &str| {
        http.post(app.url("/introspect"))
            .basic_auth(&client.id, client.secret.as_deref())
            .form(&[("token", token.to_owned())])
            .send()
    };
    let i: Value = introspect(at).await.unwrap().json().await.unwrap();
    assert_eq!(i["active"], true);
    assert_eq!(i["client_id"], client.id.as_str());
    assert_eq!(i["scope"], "email openid profile");
    let i: Value = introspect(rt).await.unwrap().json().await.unwrap();
    assert_eq!(i["active"], true);
    assert_eq!(i["token_type"], "refresh_token");
    let i: Value = introspect("garbage").await.unwrap().json().await.unwrap();
    assert_eq!(i, serde_json::json!({"active": false}));
    // Introspection needs client authentication.
    let r = http
        .post(app.url("/introspect"))
        .form(&[("token", at)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    let revoke = |token: &str| {
        http.post(app.url("/revoke"))
            .basic_auth(&client.id, client.secret.as_deref())
            .form(&[("token", token.to_owned())])
            .send()
    };
    assert_eq!(revoke(at).await.unwrap().status(), 200);
    assert_eq!(app.userinfo_status(at).await, 401);
    assert_eq!(revoke(rt).await.unwrap().status(), 200);
    let i: Value = introspect(rt).await.unwrap().json().await.unwrap();
    assert_eq!(i["active"], false);
    assert_eq!(
        revoke("unknown-token").await.unwrap().status(),
        200,
        "RFC 7009 §2.2: unknown tokens are not an error"
    );
    // Another client cannot revoke this client's tokens.
    let (code, verifier) = login(&app, &client).await;
    let t = app.redeem(&client, &code, &verifier).await;
    let other = app.client().await;
    let r = http
        .post(app.url("/revoke"))
        .basic_auth(&other.id, other.secret.as_deref())
        .form(&[("token", t["access_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(app.userinfo_status(t["access_token"].as_str().unwrap()).await, 200);
}

async fn userinfo_requires_a_valid_bearer_token(b: Backend) {
    let app = TestApp::start(b).await;
    let client = app.client().await;
    let (code, verifier) = login(&app, &client).await;
    let t = app.redeem(&client, &code, &verifier).await;
    let http = reqwest::Client::new();
    let resp = http.get(app.url("/userinfo")).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    // RFC 6750 §3.1: no credentials, no error code in the challenge.
    assert_eq!(resp.headers()["www-authenticate"], "Bearer realm=\"hk-idp\"");
    let resp = http
        .get(app.url("/userinfo"))
        .bearer_auth("not.a.jwt")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(
        resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error=\"invalid_token\"")
    );
    // An ID token is not an access token (RFC 9068 typ).
    let resp = http
        .get(app.url("/userinfo"))
        .bearer_auth(t["id_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    // POST with the token in the form works (RFC 6750 §2.2).
    let resp = http
        .post(app.url("/userinfo"))
        .form(&[("access_token", t["access_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert!(body["sub"].is_string() && body["email"].is_string());
}

/// Without `offline_access` the refresh token ends with the SSO session: at
/// its expiry too, not only at logout.
async fn refresh_tokens_end_when_the_sso_session_expires(b: Backend) {
    let app = TestApp::start(b).await;
    let client = app.client().await;
    let (code, verifier) = login(&app, &client).await;
    let tokens = app.redeem(&client, &code, &verifier).await;
    let refresh = |rt: String| {
        let (app, client) = (&app, &client);
        async move {
            app.token_request(
                client,
                &[("grant_type", "refresh_token"), ("refresh_token", rt.as_str())],
            )
            .await
        }
    };
    app.advance(28_800 - 5);
    let resp = refresh(tokens["refresh_token"].as_str().unwrap().to_owned()).await;
    assert_eq!(resp.status(), 200, "the session is still alive");
    let next: Value = resp.json().await.unwrap();
    app.advance(5);
    let resp = refresh(next["refresh_token"].as_str().unwrap().to_owned()).await;
    assert_eq!(resp.status(), 400);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"], "invalid_grant");
}
