//! The whole flow with the `openidconnect` crate as relying party:
//! discovery → authorize → login → code → tokens → JWKS → userinfo → refresh → logout.

use crate::on_both;
use crate::support::rp::RelyingParty;
use crate::support::{Backend, TestApp, email, location, query_param};
use hk_idp_core::oauth::signing_key::SigningAlg;
use openidconnect::{OAuth2TokenResponse, RefreshToken, TokenResponse};

on_both!(
    whole_flow_with_openidconnect,
    second_client_gets_sso_without_the_form,
    id_tokens_in_every_offered_algorithm_verify,
);

async fn whole_flow_with_openidconnect(backend: Backend) {
    let app = TestApp::start(backend).await;
    let mail = email();
    let sub = app.member(&mail).await;
    let client = app.client().await;
    let rp = RelyingParty::discover(&app, &client).await;

    let pending = rp.start(&["email", "profile"]);
    let callback = app.login_via(&app.browser, &pending.url, &mail).await;
    let nonce = pending.nonce.clone();
    let (tokens, claims) = rp.finish(&app, pending, &callback).await;
    assert_eq!(claims.subject().as_str(), sub, "sub is the member's opaque id");
    assert_ne!(claims.subject().as_str(), mail, "sub is never the e-mail");
    assert_eq!(claims.nonce().map(|n| n.secret()), Some(nonce.secret()));
    assert_eq!(claims.email().map(|e| e.as_str()), Some(mail.as_str()));
    assert_eq!(claims.email_verified(), Some(true));
    assert!(claims.auth_time().is_some());
    assert_eq!(claims.issuer().as_str(), app.base);

    // Access token: a JWT with typ at+jwt (RFC 9068).
    let at = tokens.access_token().secret().clone();
    let header: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            at.split('.').next().unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "ES256");

    let info: openidconnect::core::CoreUserInfoClaims = rp
        .client
        .user_info(tokens.access_token().clone(), Some(claims.subject().clone()))
        .unwrap()
        .request_async(&rp.http)
        .await
        .unwrap();
    assert_eq!(info.email().map(|e| e.as_str()), Some(mail.as_str()));
    assert!(info.name().is_some());

    // Refresh rotates: a new refresh token and a working access token.
    let rt = tokens
        .refresh_token()
        .expect("refresh token for a client with the refresh_token grant")
        .clone();
    let refreshed = rp
        .client
        .exchange_refresh_token(&rt)
        .unwrap()
        .request_async(&rp.http)
        .await
        .unwrap();
    let rt2 = refreshed.refresh_token().unwrap().clone();
    assert_ne!(rt.secret(), rt2.secret());
    assert!(refreshed.id_token().is_some());
    assert_eq!(app.userinfo_status(refreshed.access_token().secret()).await, 200);

    // RP-initiated logout with id_token_hint and a registered post-logout URI.
    let discovery: serde_json::Value = reqwest::get(app.url("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut url = url::Url::parse(discovery["end_session_endpoint"].as_str().unwrap()).unwrap();
    url.query_pairs_mut()
        .append_pair("id_token_hint", &tokens.id_token().unwrap().to_string())
        .append_pair("post_logout_redirect_uri", "https://rp.example/logged-out")
        .append_pair("state", "bye");
    let resp = app.browser.get(url.as_str()).send().await.unwrap();
    let loc = location(&resp);
    assert!(loc.starts_with("https://rp.example/logged-out"), "{loc}");
    assert_eq!(query_param(&loc, "state").as_deref(), Some("bye"));

    // The session is over: prompt=none now answers login_required, and the
    // session-bound refresh token is revoked.
    let after = rp.start(&[]);
    let resp = app
        .browser
        .get(format!("{}&prompt=none", after.url))
        .send()
        .await
        .unwrap();
    assert_eq!(
        query_param(&location(&resp), "error").as_deref(),
        Some("login_required")
    );
    let again = rp
        .client
        .exchange_refresh_token(&RefreshToken::new(rt2.secret().clone()))
        .unwrap()
        .request_async(&rp.http)
        .await;
    assert!(again.is_err(), "refresh token ends with the SSO session");
    assert_eq!(
        app.userinfo_status(refreshed.access_token().secret()).await,
        401,
        "access token ends with the session"
    );
}

async fn second_client_gets_sso_without_the_form(backend: Backend) {
    let app = TestApp::start(backend).await;
    let mail = email();
    app.member(&mail).await;
    let first = app.client().await;
    let second = app.client().await;
    let rp1 = RelyingParty::discover(&app, &first).await;
    let p1 = rp1.start(&[]);
    let cb = app.login_via(&app.browser, &p1.url, &mail).await;
    rp1.finish(&app, p1, &cb).await;

    let rp2 = RelyingParty::discover(&app, &second).await;
    let p2 = rp2.start(&[]);
    let resp = app.browser.get(&p2.url).send().await.unwrap();
    let loc = location(&resp);
    assert!(
        loc.starts_with(crate::support::REDIRECT),
        "no login form the second time: {loc}"
    );
    let (_, claims) = rp2.finish(&app, p2, &loc).await;
    assert_eq!(claims.audiences()[0].as_str(), second.id);
}

async fn id_tokens_in_every_offered_algorithm_verify(backend: Backend) {
    let app = TestApp::start(backend).await;
    let mail = email();
    app.member(&mail).await;
    for alg in [SigningAlg::RS256, SigningAlg::ES256, SigningAlg::EdDSA] {
        let client = app.client_with(|c| c.id_token_alg = alg).await;
        let rp = RelyingParty::discover(&app, &client).await;
        let pending = rp.start(&["email"]);
        let callback = app.login_via(&app.browser, &pending.url, &mail).await;
        // finish() verifies the signature with JWKS and checks at_hash.
        let (tokens, _) = rp.finish(&app, pending, &callback).await;
        let header = tokens.id_token().unwrap().to_string();
        let head: serde_json::Value = serde_json::from_slice(
            &base64::Engine::decode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                header.split('.').next().unwrap(),
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(head["alg"], alg.as_str());
    }
}
