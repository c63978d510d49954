//! The hosted pages' rules: consent for third-party clients, English on
//! request, CSRF on every form, escaping, login throttling.

use crate::on_both;
use crate::support::otp::{ACTIVATE, FORGOT, NEW_PASSWORD};
use crate::support::{Backend, PASSWORD, REDIRECT, TestApp, email, input_value, location, pkce, query_param};
use figment::providers::Serialized;

on_both!(
    a_third_party_client_asks_consent_once,
    throttling_slows_a_guesser_without_locking_the_member_out_for_long,
);

async fn a_third_party_client_asks_consent_once(backend: Backend) {
    let app = TestApp::start(backend).await;
    let client = app
        .client_with(|c| {
            c.first_party = false;
            c.name = "Kursportalen <Beta>".into();
        })
        .await;
    let addr = email();
    app.member(&addr).await;
    let (verifier, challenge) = pkce();
    let login = app.authorize(&client, &challenge, &[]).await;
    let to_consent = app.submit_login(&app.browser, &login, &addr, PASSWORD).await;
    assert!(to_consent.starts_with("/consent?req="), "{to_consent}");
    let page = app.browser.get(app.url(&to_consent)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Kursportalen &#60;Beta&#62; ber om tilgang")
            || html.contains("Kursportalen &lt;Beta&gt; ber om tilgang"),
        "{html}"
    );
    assert!(html.contains("E-postadressen din") && html.contains("Navnet ditt"));
    let who = html.find("Hvem du er").unwrap();
    assert!(
        who < html.find("E-postadressen din").unwrap(),
        "who you are comes first"
    );
    assert!(html.contains("Logget inn som Kari Nordmann"));
    let csrf = input_value(&html, "csrf_token").unwrap();
    let req = input_value(&html, "req").unwrap();

    // Without a valid CSRF token nothing is decided.
    let forged = app
        .browser
        .post(app.url("/consent"))
        .form(&[("csrf_token", "forged"), ("req", req.as_str()), ("decision", "allow")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);

    let allowed = app.post_consent(&app.browser, &csrf, &req, "allow").await;
    let back = location(&allowed);
    assert!(back.starts_with(REDIRECT), "{back}");
    app.redeem(&client, &query_param(&back, "code").unwrap(), &verifier)
        .await;

    // Next time the same scopes go through without asking; prompt=none works too.
    let (_, challenge) = pkce();
    let again = app.authorize(&client, &challenge, &[("prompt", "none")]).await;
    assert!(query_param(&again, "code").is_some(), "{again}");
    // A wider scope asks again; prompt=none then answers consent_required.
    let wider = app
        .authorize(
            &client,
            &challenge,
            &[("scope", "openid email profile organization"), ("prompt", "none")],
        )
        .await;
    assert_eq!(
        query_param(&wider, "error").as_deref(),
        Some("consent_required"),
        "{wider}"
    );
    // Denying sends access_denied with state and iss.
    let ask = app
        .authorize(&client, &challenge, &[("scope", "openid organization")])
        .await;
    assert!(ask.starts_with("/consent?req="), "{ask}");
    let back = app.answer_consent(&app.browser, &ask, "deny").await;
    assert_eq!(query_param(&back, "error").as_deref(), Some("access_denied"), "{back}");
    assert_eq!(query_param(&back, "state").as_deref(), Some("st-123"));
    assert_eq!(query_param(&back, "iss").as_deref(), Some(app.base.as_str()));
}

async fn throttling_slows_a_guesser_without_locking_the_member_out_for_long(backend: Backend) {
    let app = TestApp::start_with(backend, |f| {
        f.merge(Serialized::default("login.account_free_failures", 2))
            .merge(Serialized::default("login.account_max_delay", 2))
    })
    .await;
    let addr = email();
    app.member(&addr).await;
    let guesser = app.new_browser();
    // Two free failures; the third makes the next attempt wait 1 s (then 2 s, the cap).
    for _ in 0..3 {
        let r = app
            .post_login(&guesser, "/login", &addr, "feil passord her igjen")
            .await;
        assert_eq!(r.status(), 400);
    }
    // Now even the right password waits, with a clear message.
    let r = app.post_login(&guesser, "/login", &addr, PASSWORD).await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let html = r.text().await.unwrap();
    assert!(html.contains("For mange mislykkede forsøk. Vent"), "{html}");
    // Unknown e-mails are throttled alike, so the answer tells nothing.
    let unknown = email();
    for _ in 0..3 {
        app.post_login(&guesser, "/login", &unknown, "feil passord her igjen")
            .await;
    }
    assert_eq!(
        app.post_login(&guesser, "/login", &unknown, PASSWORD).await.status(),
        429
    );
    // The delay is capped: a moment later the member gets in.
    app.advance(3);
    let r = app.post_login(&app.new_browser(), "/login", &addr, PASSWORD).await;
    assert_eq!(r.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_speak_english_with_ui_locales_or_accept_language() {
    let app = TestApp::start(Backend::Embedded).await;
    let client = app.client().await;
    let (_, challenge) = pkce();
    let login = app.authorize(&client, &challenge, &[("ui_locales", "en")]).await;
    let html = app.page(&app.browser, &login).await;
    assert!(html.contains("<html lang=\"en\">"));
    assert!(html.contains("Click here to activate your account") && html.contains(">Log in</button>"));
    // The request's language carries into activation.
    let req = query_param(&app.url(&login), "req").unwrap();
    let (_, step2) = app
        .ask_code(&app.browser, ACTIVATE, &format!("?req={req}"), &email())
        .await;
    assert!(step2.contains("If your e-mail is registered with us"), "{step2}");
    // Accept-Language without ui_locales.
    let html = app
        .new_browser()
        .get(app.url("/forgot-password"))
        .header("accept-language", "en-GB,en;q=0.9")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<h1>Forgot password</h1>") && html.contains("Send one-time code"));
    // Norwegian stays the default.
    let html = app.page(&app.new_browser(), "/login").await;
    assert!(html.contains("<html lang=\"nb\">") && html.contains("Logg inn"));
    // Error pages too.
    let bad = app
        .new_browser()
        .get(app.url("/authorize?client_id=nobody&redirect_uri=https://evil.example/&ui_locales=en"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let html = bad.text().await.unwrap();
    assert!(
        html.contains("Something went wrong") && html.contains("lang=\"en\""),
        "{html}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_pages_speak_the_language_of_the_form_or_the_waiting_request() {
    let app = TestApp::start(Backend::Embedded).await;
    let client = app.client().await;
    let (_, challenge) = pkce();
    // The waiting request asked for English; the consent page without a session has expired.
    let login = app.authorize(&client, &challenge, &[("ui_locales", "en")]).await;
    let req = query_param(&app.url(&login), "req").unwrap();
    let page = app.new_browser().get(app.url(&format!("/consent?req={req}")));
    assert_expired_page(page, "en", "The page has expired").await;
    // A POSTed form's ui_locales, for a request that is gone.
    let form = [("req", "gone"), ("ui_locales", "en"), ("decision", "allow")];
    let post = app.new_browser().post(app.url("/consent")).form(&form);
    assert_expired_page(post, "en", "The page has expired").await;
    // Without either, Norwegian.
    let page = app.new_browser().get(app.url("/consent?req=gone"));
    assert_expired_page(page, "nb", "Siden er utløpt").await;
}

async fn assert_expired_page(request: reqwest::RequestBuilder, lang: &str, text: &str) {
    let resp = request.send().await.unwrap();
    assert_eq!(resp.status(), 400);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains(&format!("lang=\"{lang}\"")) && html.contains(text),
        "{html}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_form_refuses_a_post_without_its_csrf_token() {
    let app = TestApp::start(Backend::Embedded).await;
    let addr = email();
    app.pending_member(&addr, "Per").await;
    let b = app.new_browser();
    // Pick up the CSRF cookie, then post with a wrong token.
    b.get(app.url("/login")).send().await.unwrap();
    for (path, fields) in [
        ("/login", vec![("email", addr.as_str()), ("password", PASSWORD)]),
        (ACTIVATE.0, vec![("email", addr.as_str())]),
        (FORGOT.0, vec![("email", addr.as_str())]),
        (
            "/activate/code",
            vec![
                ("code", "123456"),
                ("password", NEW_PASSWORD),
                ("password_confirm", NEW_PASSWORD),
            ],
        ),
        (
            "/forgot-password/code",
            vec![
                ("code", "123456"),
                ("password", NEW_PASSWORD),
                ("password_confirm", NEW_PASSWORD),
            ],
        ),
    ] {
        for token in [None, Some("forged-token")] {
            let mut form = fields.clone();
            if let Some(t) = token {
                form.push(("csrf_token", t));
            }
            let r = b.post(app.url(path)).form(&form).send().await.unwrap();
            assert_eq!(r.status(), 403, "{path} {token:?}");
            let html = r.text().await.unwrap();
            assert!(
                html.contains("Skjemaet er utløpt eller ugyldig."),
                "{path}: the form comes back with a notice"
            );
            assert!(
                input_value(&html, "csrf_token").is_some_and(|t| !t.is_empty()),
                "{path}: with a fresh token"
            );
        }
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(app.mailbox.to(&addr).is_empty(), "nothing was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markup_in_a_members_name_is_escaped_in_pages_and_mails() {
    let app = TestApp::start(Backend::Embedded).await;
    let client = app.client_with(|c| c.first_party = false).await;
    let addr = email();
    let evil = "<img src=x onerror=alert(1)>";
    app.pending_member(&addr, evil).await;
    app.reset_password(&app.browser, ACTIVATE, "", &addr, 1).await;
    let mail = app.mailbox.wait_for(&addr, 1).await;
    assert!(!mail.html.contains(evil), "{}", mail.html);
    assert!(mail.html.contains("&#60;img") || mail.html.contains("&lt;img"));
    assert!(mail.text.contains(evil), "the text part shows it as typed");
    let (_, challenge) = pkce();
    let login = app.authorize(&client, &challenge, &[]).await;
    let consent = app.submit_login(&app.browser, &login, &addr, NEW_PASSWORD).await;
    let html = app.page(&app.browser, &consent).await;
    assert!(html.contains("Logget inn som"));
    assert!(!html.contains(evil), "{html}");
}
