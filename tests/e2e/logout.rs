//! RP-Initiated Logout: exact post-logout URIs, confirmation without a hint,
//! the session and its online tokens end, offline tokens survive.

use crate::on_both;
use crate::support::{Backend, TestApp, email, input_value, location, pkce, query_param};

on_both!(
    unregistered_post_logout_uri_gets_a_page,
    logout_without_hint_asks_for_confirmation,
    offline_access_outlives_the_session,
);

async fn unregistered_post_logout_uri_gets_a_page(b: Backend) {
    let app = TestApp::start(b).await;
    let (client, tokens) = app.signed_in().await;
    let hint = tokens["id_token"].as_str().unwrap();
    for (hint, target) in [
        (hint, "https://evil.example/"),
        (hint, "https://rp.example/logged-out/x"),
        ("", "https://rp.example/logged-out"),
    ] {
        let mut url = url::Url::parse(&app.url("/logout")).unwrap();
        if !hint.is_empty() {
            url.query_pairs_mut().append_pair("id_token_hint", hint);
        }
        url.query_pairs_mut().append_pair("post_logout_redirect_uri", target);
        let resp = app.browser.get(url.as_str()).send().await.unwrap();
        assert_eq!(resp.status(), 400, "{target}");
        assert!(resp.headers().get("location").is_none());
    }
    // A forged hint is refused.
    let resp = app
        .browser
        .get(app.url(&format!("/logout?id_token_hint={}x", &hint[..hint.len() - 1])))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    // Still logged in after all that.
    let (_, ch) = pkce();
    let loc = app.authorize(&client, &ch, &[("prompt", "none")]).await;
    assert!(query_param(&loc, "code").is_some());
}

async fn logout_without_hint_asks_for_confirmation(b: Backend) {
    let app = TestApp::start(b).await;
    let (client, _) = app.signed_in().await;
    let url = format!(
        "/logout?client_id={}&post_logout_redirect_uri=https%3A%2F%2Frp.example%2Flogged-out&state=s1",
        client.id
    );
    let resp = app.browser.get(app.url(&url)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    assert!(html.contains("Logg ut") && html.contains("Bedriftsportalen"));
    let csrf = input_value(&html, "csrf_token").unwrap();
    let form = |token: &str| {
        vec![
            ("csrf_token", token.to_owned()),
            ("confirm", "yes".to_owned()),
            ("client_id", client.id.clone()),
            ("post_logout_redirect_uri", "https://rp.example/logged-out".to_owned()),
            ("state", "s1".to_owned()),
        ]
    };
    let refused = app
        .browser
        .post(app.url("/logout"))
        .form(&form("forged"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let (_, ch) = pkce();
    let loc = app.authorize(&client, &ch, &[("prompt", "none")]).await;
    assert!(
        query_param(&loc, "code").is_some(),
        "a forged confirmation ends nothing"
    );
    let done = app
        .browser
        .post(app.url("/logout"))
        .form(&form(&csrf))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&done), "https://rp.example/logged-out?state=s1");
    let loc = app.authorize(&client, &ch, &[("prompt", "none")]).await;
    assert_eq!(query_param(&loc, "error").as_deref(), Some("login_required"));
}

async fn offline_access_outlives_the_session(b: Backend) {
    let app = TestApp::start(b).await;
    let mail = email();
    app.member(&mail).await;
    let client = app.client().await;
    let (verifier, challenge) = pkce();
    let url = app.authorize_url(&client, &challenge, &[("scope", "openid offline_access")]);
    let loc = app.login_via(&app.browser, &url, &mail).await;
    let tokens = app
        .redeem(&client, &query_param(&loc, "code").unwrap(), &verifier)
        .await;
    let hint = tokens["id_token"].as_str().unwrap();
    let resp = app
        .browser
        .get(app.url(&format!("/logout?id_token_hint={hint}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.unwrap().contains("Du er logget ut"));
    let r = app
        .token_request(
            &client,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(r.status(), 200, "offline_access survives logout");
}
