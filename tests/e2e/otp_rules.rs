//! The one-time-code rules (docs/SECURITY-RULES.md §2): nothing tells whether an
//! e-mail is registered; codes are single use, short-lived, void after five
//! wrong tries and replaced by a newer one; sending is rate-limited; new
//! passwords follow the policy and end the member's other sessions.

use crate::on_both;
use crate::support::otp::{ACTIVATE, FORGOT, NEW_PASSWORD};
use crate::support::{Backend, PASSWORD, TestApp, email, input_value, location, pkce, query_param};
use figment::providers::Serialized;

on_both!(
    step_two_reads_the_same_whether_or_not_the_email_is_registered,
    five_wrong_codes_void_the_code,
    an_expired_code_is_refused,
    a_new_code_voids_the_old_one,
    code_requests_are_rate_limited_per_email_and_per_address,
    weak_and_mismatched_passwords_are_refused_at_their_field,
    a_new_password_ends_the_members_other_sessions_and_tokens,
);

/// The page with the CSRF token's value blanked out.
fn without_csrf(html: &str) -> String {
    match input_value(html, "csrf_token") {
        Some(t) => html.replace(&t, "CSRF"),
        None => html.to_owned(),
    }
}

async fn step_two_reads_the_same_whether_or_not_the_email_is_registered(backend: Backend) {
    let app = TestApp::start(backend).await;
    let pending = email();
    app.pending_member(&pending, "Per").await;
    let active = email();
    app.member(&active).await;
    let disabled = email();
    let id = app.member(&disabled).await;
    let p = &app.services.provider;
    let write = hk_idp_core::account::member::MemberWrite::Disable;
    assert!(p.members.write_member(&id, &write, 1).await.unwrap());
    let unknown = email();

    for (entrance, receives, silent) in [
        (ACTIVATE, vec![&pending, &active], vec![&disabled, &unknown]),
        (FORGOT, vec![&active], vec![&pending, &disabled, &unknown]),
    ] {
        let mut pages = Vec::new();
        for addr in receives.iter().chain(&silent) {
            let (status, html) = app.ask_code(&app.new_browser(), entrance, "", addr).await;
            pages.push((addr.to_string(), status, without_csrf(&html)));
        }
        for (addr, status, html) in &pages {
            assert_eq!(*status, 200, "{addr}");
            assert_eq!(html, &pages[0].2, "step 2 for {addr} differs from the first");
        }
        for addr in &receives {
            app.mailbox.wait_for(addr, 1).await;
        }
    }
    // Mail is sent in the background; by now any mail to the silent ones would be in too.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.mailbox.to(&active).len(), 2, "activation and reset");
    for addr in [&disabled, &unknown] {
        assert!(app.mailbox.to(addr).is_empty(), "{addr} got mail");
    }
    assert_eq!(app.mailbox.to(&pending).len(), 1, "no reset for a pending member");
}

async fn five_wrong_codes_void_the_code(backend: Backend) {
    let app = TestApp::start(backend).await;
    let addr = email();
    app.pending_member(&addr, "Per").await;
    let (_, step2) = app.ask_code(&app.browser, ACTIVATE, "", &addr).await;
    let code = app.mailbox.wait_for(&addr, 1).await.code();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for attempt in 1..=5 {
        let resp = app
            .set_password(&app.browser, ACTIVATE, &step2, wrong, NEW_PASSWORD, NEW_PASSWORD)
            .await;
        assert_eq!(resp.status(), 400);
        let html = resp.text().await.unwrap();
        let expected = if attempt < 5 {
            "Engangskoden er feil eller utløpt."
        } else {
            "Engangskoden er ikke lenger gyldig etter for mange feil forsøk."
        };
        assert!(html.contains(expected), "attempt {attempt}: {html}");
        assert!(html.contains("aria-describedby=\"code-error\""));
    }
    let resp = app
        .set_password(&app.browser, ACTIVATE, &step2, &code, NEW_PASSWORD, NEW_PASSWORD)
        .await;
    assert_eq!(resp.status(), 400, "the right code no longer works");
    assert_eq!(
        app.post_login(&app.new_browser(), "/login", &addr, NEW_PASSWORD)
            .await
            .status(),
        400
    );
}

async fn an_expired_code_is_refused(backend: Backend) {
    let app = TestApp::start(backend).await;
    let addr = email();
    app.pending_member(&addr, "Per").await;
    let (_, step2) = app.ask_code(&app.browser, ACTIVATE, "", &addr).await;
    let code = app.mailbox.wait_for(&addr, 1).await.code();
    app.advance(601);
    let resp = app
        .set_password(&app.browser, ACTIVATE, &step2, &code, NEW_PASSWORD, NEW_PASSWORD)
        .await;
    assert_eq!(resp.status(), 400);
    let html = resp.text().await.unwrap();
    assert!(html.contains("Engangskoden er feil eller utløpt."), "{html}");
    assert_eq!(
        app.post_login(&app.new_browser(), "/login", &addr, NEW_PASSWORD)
            .await
            .status(),
        400
    );
}

async fn a_new_code_voids_the_old_one(backend: Backend) {
    let app = TestApp::start(backend).await;
    let addr = email();
    app.pending_member(&addr, "Per").await;
    let (_, step2) = app.ask_code(&app.browser, ACTIVATE, "", &addr).await;
    let first = app.mailbox.wait_for(&addr, 1).await.code();
    let (_, step2b) = app.ask_code(&app.browser, ACTIVATE, "", &addr).await;
    let second = app.mailbox.wait_for(&addr, 2).await.code();
    if first != second {
        let old = app
            .set_password(&app.browser, ACTIVATE, &step2, &first, NEW_PASSWORD, NEW_PASSWORD)
            .await;
        assert_eq!(old.status(), 400, "the first code died with the second");
    }
    let new = app
        .set_password(&app.browser, ACTIVATE, &step2b, &second, NEW_PASSWORD, NEW_PASSWORD)
        .await;
    assert_eq!(new.status(), 303);
}

async fn code_requests_are_rate_limited_per_email_and_per_address(backend: Backend) {
    let app = TestApp::start_with(backend, |f| {
        f.merge(Serialized::default("otp.per_email", 2))
            .merge(Serialized::default("otp.per_address", 4))
    })
    .await;
    let addr = email();
    app.pending_member(&addr, "Per").await;
    for _ in 0..2 {
        assert_eq!(app.ask_code(&app.new_browser(), ACTIVATE, "", &addr).await.0, 200);
    }
    let (status, html) = app.ask_code(&app.new_browser(), FORGOT, "", &addr).await;
    assert_eq!(status, 429);
    assert!(html.contains("Det er bedt om for mange engangskoder."));
    app.mailbox.wait_for(&addr, 2).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.mailbox.to(&addr).len(), 2, "nothing sent when refused");
    // Per address: the fifth request from this address is refused whatever the e-mail.
    let other = email();
    app.pending_member(&other, "Ola").await;
    assert_eq!(app.ask_code(&app.new_browser(), ACTIVATE, "", &email()).await.0, 200);
    let (status, _) = app.ask_code(&app.new_browser(), ACTIVATE, "", &other).await;
    assert_eq!(status, 429);
}

async fn weak_and_mismatched_passwords_are_refused_at_their_field(backend: Backend) {
    let app = TestApp::start(backend).await;
    let addr = email();
    app.pending_member(&addr, "Kari Nordmann").await;
    let (_, step2) = app.ask_code(&app.browser, ACTIVATE, "", &addr).await;
    let code = app.mailbox.wait_for(&addr, 1).await.code();
    let cases: [(&str, &str, &str, &str); 5] = [
        ("kort", "kort", "password-error", "Passordet må ha minst 15 tegn."),
        (
            "passwordpassword1",
            "passwordpassword1",
            "password-error",
            "Passordet er for vanlig eller lett å gjette.",
        ),
        (
            "karinordmann2026",
            "karinordmann2026",
            "password-error",
            "Passordet er for vanlig eller lett å gjette.",
        ),
        (
            NEW_PASSWORD,
            "blåbær syltetøy vaffel lørdag",
            "confirm-error",
            "Passordene er ikke like.",
        ),
        ("", "", "password-error", "Skriv inn et nytt passord."),
    ];
    for (pw, confirm, field, text) in cases {
        let resp = app
            .set_password(&app.browser, ACTIVATE, &step2, &code, pw, confirm)
            .await;
        assert_eq!(resp.status(), 400, "{pw}");
        let html = resp.text().await.unwrap();
        assert!(html.contains(text), "{pw}: {html}");
        assert!(
            html.contains(&format!("aria-describedby=\"{field}")),
            "{pw}: error tied to its field"
        );
        assert!(
            !html.contains(&format!("value=\"{pw}\"")) || pw.is_empty(),
            "passwords are never echoed"
        );
        assert!(html.contains(&format!("value=\"{code}\"")), "the code stays filled in");
        assert!(html.contains("autofocus"), "focus on the first error");
    }
    // None of that used up the code.
    let ok = app
        .set_password(&app.browser, ACTIVATE, &step2, &code, NEW_PASSWORD, NEW_PASSWORD)
        .await;
    assert_eq!(ok.status(), 303);
}

async fn a_new_password_ends_the_members_other_sessions_and_tokens(backend: Backend) {
    let app = TestApp::start(backend).await;
    let client = app.client().await;
    let addr = email();
    app.member(&addr).await;
    let (verifier, challenge) = pkce();
    let code = app.code_for(&app.browser, &client, &challenge, &addr).await;
    let tokens = app.redeem(&client, &code, &verifier).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(app.userinfo_status(&access).await, 200);

    // Meanwhile, in another browser, the member resets the password.
    let other = app.new_browser();
    app.reset_password(&other, FORGOT, "", &addr, 1).await;

    let (_, challenge) = pkce();
    let silent = app.authorize(&client, &challenge, &[("prompt", "none")]).await;
    assert_eq!(
        query_param(&silent, "error").as_deref(),
        Some("login_required"),
        "{silent}"
    );
    assert_eq!(app.userinfo_status(&access).await, 401);
    let r = app
        .token_request(&client, &[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["error"], "invalid_grant");
    // The new password works; the old one does not.
    assert_eq!(
        app.post_login(&app.new_browser(), "/login", &addr, PASSWORD)
            .await
            .status(),
        400
    );
    let login = app.post_login(&other, "/login", &addr, NEW_PASSWORD).await;
    assert_eq!(login.status(), 200);
    let _ = location(&login);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_send_is_retried_and_the_person_sees_nothing_different() {
    let app = TestApp::start(Backend::Embedded).await;
    let addr = email();
    app.pending_member(&addr, "Per").await;
    app.mailbox.refuse_next(2);
    let (status, html) = app.ask_code(&app.browser, ACTIVATE, "", &addr).await;
    assert_eq!(status, 200);
    assert!(html.contains("Sett nytt passord"));
    let code = app.mailbox.wait_for(&addr, 1).await.code();
    let resp = app
        .set_password(&app.browser, ACTIVATE, &html, &code, NEW_PASSWORD, NEW_PASSWORD)
        .await;
    assert_eq!(resp.status(), 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_codes_do_not_buy_more_wrong_tries_than_the_daily_limit() {
    let app = TestApp::start_with(Backend::Embedded, |f| {
        f.merge(Serialized::default("otp.max_wrong_per_day", 7))
    })
    .await;
    let addr = email();
    app.pending_member(&addr, "Per").await;
    let mut wrong_tries = 0;
    for nth in 1..=2 {
        let (_, step2) = app.ask_code(&app.browser, ACTIVATE, "", &addr).await;
        let code = app.mailbox.wait_for(&addr, nth).await.code();
        let wrong = if code == "000000" { "111111" } else { "000000" };
        for _ in 0..5 {
            if wrong_tries == 7 {
                break;
            }
            app.set_password(&app.browser, ACTIVATE, &step2, wrong, NEW_PASSWORD, NEW_PASSWORD)
                .await;
            wrong_tries += 1;
        }
    }
    // Seven wrong tries over two codes: a third code is void on arrival.
    let (_, step2) = app.ask_code(&app.browser, ACTIVATE, "", &addr).await;
    let code = app.mailbox.wait_for(&addr, 3).await.code();
    let resp = app
        .set_password(&app.browser, ACTIVATE, &step2, &code, NEW_PASSWORD, NEW_PASSWORD)
        .await;
    assert_eq!(resp.status(), 400);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("Engangskoden er ikke lenger gyldig")
    );
}
