//! The authorization endpoint's rules.

use crate::on_both;
use crate::support::{Backend, PASSWORD, REDIRECT, TestApp, email, input_value, location, pkce, query_param};
use figment::providers::Serialized;
use hk_idp_core::oauth::client::AuthMethod;

on_both!(
    redirect_uri_mismatch_gets_a_page_not_a_redirect,
    unknown_client_gets_a_page,
    public_client_without_pkce_is_refused,
    plain_pkce_is_refused,
    prompt_none_without_session_is_login_required,
    prompt_login_forces_the_form,
    max_age_forces_the_form,
    prompt_login_cannot_be_finished_through_the_consent_page,
    errors_carry_state_and_iss,
    request_objects_are_not_supported,
    csrf_token_missing_or_wrong_is_refused,
    wrong_password_gives_a_generic_error,
    session_id_is_rotated_at_login,
    password_stops_working_after_too_many_failures,
    password_is_rehashed_when_parameters_change,
);

async fn redirect_uri_mismatch_gets_a_page_not_a_redirect(b: Backend) {
    let app = TestApp::start(b).await;
    let client = app.client().await;
    let (_, ch) = pkce();
    for bad in [
        "https://evil.example/cb",
        "https://rp.example/cb/",
        "https://rp.example/cb?x=1",
        "https://RP.example/cb",
    ] {
        let url = app.authorize_url(&client, &ch, &[("redirect_uri", bad)]);
        let resp = app.browser.get(&url).send().await.unwrap();
        assert_eq!(resp.status(), 400, "{bad}");
        assert!(resp.headers().get("location").is_none(), "never a redirect to {bad}");
        let html = resp.text().await.unwrap();
        assert!(html.contains("lang=\"nb\""));
        assert!(!html.contains("evil.example/cb\""));
    }
}

async fn unknown_client_gets_a_page(b: Backend) {
    let app = TestApp::start(b).await;
    let mut client = app.client().await;
    client.id = "no-such-client".into();
    let (_, ch) = pkce();
    let resp = app
        .browser
        .get(app.authorize_url(&client, &ch, &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.headers().get("location").is_none());
}

async fn public_client_without_pkce_is_refused(b: Backend) {
    let app = TestApp::start(b).await;
    let client = app.client_with(|c| c.auth_method = AuthMethod::None).await;
    assert!(client.secret.is_none());
    let url = app.authorize_url(&client, "", &[("code_challenge", ""), ("code_challenge_method", "")]);
    let loc = location(&app.browser.get(&url).send().await.unwrap());
    assert_eq!(query_param(&loc, "error").as_deref(), Some("invalid_request"), "{loc}");
    assert!(query_param(&loc, "error_description").unwrap().contains("PKCE"));
}

async fn plain_pkce_is_refused(b: Backend) {
    let app = TestApp::start(b).await;
    let client = app.client().await;
    let (verifier, _) = pkce();
    let url = app.authorize_url(&client, &verifier, &[("code_challenge_method", "plain")]);
    let loc = location(&app.browser.get(&url).send().await.unwrap());
    assert_eq!(query_param(&loc, "error").as_deref(), Some("invalid_request"));
}

async fn prompt_none_without_session_is_login_required(b: Backend) {
    let app = TestApp::start(b).await;
    let client = app.client().await;
    let (_, ch) = pkce();
    let loc = app.authorize(&client, &ch, &[("prompt", "none")]).await;
    assert!(loc.starts_with(REDIRECT));
    assert_eq!(query_param(&loc, "error").as_deref(), Some("login_required"));
    assert_eq!(query_param(&loc, "state").as_deref(), Some("st-123"));
}

async fn prompt_login_forces_the_form(b: Backend) {
    let app = TestApp::start(b).await;
    let mail = email();
    app.member(&mail).await;
    let client = app.client().await;
    let (_, ch) = pkce();
    app.code_for(&app.browser, &client, &ch, &mail).await;
    // With a session, no prompt: straight back with a code.
    let loc = app.authorize(&client, &ch, &[]).await;
    assert!(query_param(&loc, "code").is_some());
    // prompt=login: the form again.
    let loc = app.authorize(&client, &ch, &[("prompt", "login")]).await;
    assert!(loc.starts_with("/login?req="), "{loc}");
    // prompt=none with a session: a code, no form.
    let loc = app.authorize(&client, &ch, &[("prompt", "none")]).await;
    assert!(query_param(&loc, "code").is_some(), "{loc}");
}

async fn max_age_forces_the_form(b: Backend) {
    let app = TestApp::start(b).await;
    let mail = email();
    app.member(&mail).await;
    let client = app.client().await;
    let (_, ch) = pkce();
    app.code_for(&app.browser, &client, &ch, &mail).await;
    let loc = app.authorize(&client, &ch, &[("max_age", "3600")]).await;
    assert!(
        query_param(&loc, "code").is_some(),
        "a recent login satisfies max_age: {loc}"
    );
    let loc = app.authorize(&client, &ch, &[("max_age", "0")]).await;
    assert!(loc.starts_with("/login?req="), "max_age=0 asks again: {loc}");
    app.advance(2);
    let loc = app.authorize(&client, &ch, &[("max_age", "1")]).await;
    assert!(
        loc.starts_with("/login?req="),
        "an older login than max_age asks again: {loc}"
    );
    let loc = app
        .authorize(&client, &ch, &[("max_age", "1"), ("prompt", "none")])
        .await;
    assert_eq!(query_param(&loc, "error").as_deref(), Some("login_required"));
}

async fn errors_carry_state_and_iss(b: Backend) {
    let app = TestApp::start(b).await;
    let client = app.client().await;
    let (_, ch) = pkce();
    let loc = app.authorize(&client, &ch, &[("response_type", "token")]).await;
    assert_eq!(query_param(&loc, "error").as_deref(), Some("unsupported_response_type"));
    assert_eq!(query_param(&loc, "state").as_deref(), Some("st-123"));
    assert_eq!(query_param(&loc, "iss").as_deref(), Some(app.base.as_str()));
    let loc = app.authorize(&client, &ch, &[("scope", "openid admin")]).await;
    assert_eq!(query_param(&loc, "error").as_deref(), Some("invalid_scope"));
}

async fn request_objects_are_not_supported(b: Backend) {
    let app = TestApp::start(b).await;
    let client = app.client().await;
    let (_, ch) = pkce();
    let loc = app
        .authorize(&client, &ch, &[("request", "eyJhbGciOiJub25lIn0.e30.")])
        .await;
    assert_eq!(query_param(&loc, "error").as_deref(), Some("request_not_supported"));
    let loc = app
        .authorize(&client, &ch, &[("request_uri", "https://rp.example/r")])
        .await;
    assert_eq!(query_param(&loc, "error").as_deref(), Some("request_uri_not_supported"));
}

async fn csrf_token_missing_or_wrong_is_refused(b: Backend) {
    let app = TestApp::start(b).await;
    let mail = email();
    app.member(&mail).await;
    let client = app.client().await;
    let (_, ch) = pkce();
    let login = app.authorize(&client, &ch, &[]).await;
    let html = app.page(&app.browser, &login).await;
    let req = input_value(&html, "req").unwrap();
    let good = input_value(&html, "csrf_token").unwrap();
    for token in ["", "forged-token", &good[..good.len() - 2]] {
        let resp = app
            .browser
            .post(app.url("/login"))
            .form(&[
                ("csrf_token", token),
                ("req", req.as_str()),
                ("email", mail.as_str()),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403, "token {token:?}");
        let page = resp.text().await.unwrap();
        assert!(page.contains("Logg inn"), "the form is shown again");
        assert!(page.contains("role=\"alert\""), "with a notice");
    }
    // A valid token from another browser is not valid here.
    let other = app.new_browser();
    let resp = other
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", good.as_str()),
            ("req", req.as_str()),
            ("email", mail.as_str()),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    // Nothing was changed: no session, so prompt=none still fails.
    let loc = app.authorize(&client, &ch, &[("prompt", "none")]).await;
    assert_eq!(query_param(&loc, "error").as_deref(), Some("login_required"));
}

async fn wrong_password_gives_a_generic_error(b: Backend) {
    let app = TestApp::start(b).await;
    let mail = email();
    app.member(&mail).await;
    let client = app.client().await;
    let (_, ch) = pkce();
    for (who, pw) in [
        (mail.as_str(), "wrong password, long enough"),
        ("nobody@hk.no", PASSWORD),
    ] {
        let login = app.authorize(&client, &ch, &[]).await;
        let resp = app.post_login(&app.browser, &login, who, pw).await;
        assert_eq!(resp.status(), 400);
        assert!(resp.text().await.unwrap().contains("Feil e-post eller passord."));
    }
}

fn session_cookie(resp: &reqwest::Response) -> String {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("hkid_session="))
        .expect("session cookie set")
}

async fn session_id_is_rotated_at_login(b: Backend) {
    let app = TestApp::start(b).await;
    let mail = email();
    app.member(&mail).await;
    let client = app.client().await;
    let (_, ch) = pkce();
    let login = app.authorize(&client, &ch, &[]).await;
    let first = session_cookie(&app.post_login(&app.browser, &login, &mail, PASSWORD).await);
    assert!(first.contains("HttpOnly") && first.contains("SameSite=Lax") && first.contains("Path=/"));
    assert!(!first.contains("Secure"), "http issuer: no Secure flag");
    let login = app.authorize(&client, &ch, &[("prompt", "login")]).await;
    let second = session_cookie(&app.post_login(&app.browser, &login, &mail, PASSWORD).await);
    let value = |c: &str| c.split(';').next().unwrap().to_owned();
    assert_ne!(value(&first), value(&second), "a new session id at every login");
    // The old id is dead: a browser presenting it is not logged in.
    let stale = app.new_browser();
    let resp = stale
        .get(app.authorize_url(&client, &ch, &[("prompt", "none")]))
        .header("cookie", value(&first))
        .send()
        .await
        .unwrap();
    assert_eq!(
        query_param(&location(&resp), "error").as_deref(),
        Some("login_required")
    );
}

async fn password_stops_working_after_too_many_failures(b: Backend) {
    let app = TestApp::start_with(b, |f| f.merge(Serialized::default("passwords.max_failed_logins", 3))).await;
    let mail = email();
    app.member(&mail).await;
    let client = app.client().await;
    let (_, ch) = pkce();
    let attempt = |pw: &'static str| {
        let app = &app;
        let mail = mail.clone();
        let url = app.authorize_url(&client, &ch, &[]);
        async move {
            let login = location(&app.browser.get(&url).send().await.unwrap());
            app.post_login(&app.browser, &login, &mail, pw).await.status().as_u16()
        }
    };
    for _ in 0..3 {
        assert_eq!(attempt("wrong password, long enough").await, 400);
    }
    assert_eq!(
        attempt(PASSWORD).await,
        400,
        "the right password no longer works after the limit"
    );
    // A successful login before the limit resets the count.
    let other = email();
    app.member(&other).await;
    let url = app.authorize_url(&client, &ch, &[]);
    for pw in [
        "wrong password, long enough",
        "wrong password, long enough",
        PASSWORD,
        "wrong password, long enough",
        "wrong password, long enough",
    ] {
        let browser = app.new_browser();
        let login = location(&browser.get(&url).send().await.unwrap());
        app.post_login(&browser, &login, &other, pw).await;
    }
    let browser = app.new_browser();
    let login = location(&browser.get(&url).send().await.unwrap());
    assert_eq!(app.post_login(&browser, &login, &other, PASSWORD).await.status(), 303);
}

async fn password_is_rehashed_when_parameters_change(b: Backend) {
    let app = TestApp::start_with(b, |f| {
        f.merge(Serialized::default("passwords.argon2_memory_kib", 20480))
    })
    .await;
    let mail = email();
    // Registered with the old parameters (m=19456).
    let old = hk_idp_core::account::password_hashing::PasswordHasher::new(
        hk_idp_core::account::password_hashing::Argon2Settings {
            memory_kib: 19456,
            iterations: 2,
            parallelism: 1,
            max_concurrent: 1,
        },
    )
    .unwrap();
    let id = app.member(&mail).await;
    let members = &app.services.provider.members;
    let m = members.find_member(&id).await.unwrap().unwrap();
    let write = hk_idp_core::account::member::MemberWrite::Rehash {
        old: m.password_hash.unwrap(),
        new: old.hash(PASSWORD.into()).await.unwrap(),
    };
    assert!(members.write_member(&id, &write, 1).await.unwrap());
    let client = app.client().await;
    let (_, ch) = pkce();
    app.code_for(&app.browser, &client, &ch, &mail).await;
    let after = members.find_member(&id).await.unwrap().unwrap().password_hash.unwrap();
    assert!(after.starts_with("$argon2id$v=19$m=20480,t=2,p=1$"), "{after}");
}

/// The review's scenario: a request with `prompt=login`, parked for the login
/// page, posted to the consent page by a browser that has a session, must not
/// yield a code without the password.
async fn prompt_login_cannot_be_finished_through_the_consent_page(b: Backend) {
    let app = TestApp::start(b).await;
    let client = app.client_with(|c| c.first_party = false).await;
    let mail = email();
    app.member(&mail).await;
    let (_, ch) = pkce();
    // A session, with consent given once.
    let loc = app
        .login_via(&app.browser, &app.authorize_url(&client, &ch, &[]), &mail)
        .await;
    assert!(query_param(&loc, "code").is_some(), "{loc}");
    let login_page = app.authorize(&client, &ch, &[("prompt", "login")]).await;
    assert!(login_page.starts_with("/login"), "{login_page}");
    let req = query_param(&format!("http://x{login_page}"), "req").unwrap();
    let html = app.page(&app.browser, &format!("/consent?req={req}")).await;
    let csrf = input_value(&html, "csrf_token").unwrap_or_default();
    let resp = app.post_consent(&app.browser, &csrf, &req, "allow").await;
    let to = location(&resp);
    assert!(query_param(&to, "code").is_none(), "no code without the password: {to}");
    assert!(to.starts_with("/login"), "back to the login page: {to}");
    // The password there finishes the same request.
    let done = app.submit_login(&app.browser, &to, &mail, PASSWORD).await;
    assert!(query_param(&done, "code").is_some(), "{done}");
}
