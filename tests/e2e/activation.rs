//! The person's flow (docs/USER-FLOWS.md): a registered member activates the account with a
//! one-time code by mail, sets a password, logs in and lands back at the
//! relying party; the same two steps reset a forgotten password.

use crate::on_both;
use crate::support::otp::{ACTIVATE, FORGOT, NEW_PASSWORD, STEP2_TEXTS};
use crate::support::{Backend, PASSWORD, REDIRECT, TestApp, email, input_value, location, pkce, query_param};

on_both!(
    activation_by_mail_then_login_lands_back_at_the_relying_party,
    forgotten_password_sets_a_new_one_and_the_old_stops_working,
);

async fn activation_by_mail_then_login_lands_back_at_the_relying_party(backend: Backend) {
    let app = TestApp::start(backend).await;
    let client = app.client().await;
    let addr = email();
    app.pending_member(&addr, "Kari Nordmann").await;
    let (verifier, challenge) = pkce();
    let login = app.authorize(&client, &challenge, &[]).await;
    assert!(login.starts_with("/login?req="), "{login}");
    let req = query_param(&app.url(&login), "req").unwrap();

    // The login page links to activation with the waiting request.
    let html = app.page(&app.browser, &login).await;
    assert!(html.contains("Dersom det er første gang du logger deg på må du aktivere din brukerkonto."));
    assert!(html.contains(&format!("href=\"/activate?req={req}\"")));

    let (status, step2) = app
        .ask_code(&app.browser, ACTIVATE, &format!("?req={req}"), &addr)
        .await;
    assert_eq!(status, 200);
    assert!(step2.contains("<h1>Aktiver brukerkonto</h1>"));
    for text in STEP2_TEXTS {
        assert!(step2.contains(text), "step 2 lacks {text}");
    }
    for label in [
        "Engangskode",
        "Nytt passord",
        "Bekreft nytt passord",
        "Sett nytt passord",
    ] {
        assert!(step2.contains(label), "step 2 lacks {label}");
    }
    assert!(step2.contains("autocomplete=\"one-time-code\"") && step2.contains("inputmode=\"numeric\""));

    let mail = app.mailbox.wait_for(&addr, 1).await;
    let otp = mail.code();
    assert!(mail.html.contains(&otp), "the code is in the HTML part too");
    assert!(mail.from.contains("noreply@hk.no"));
    assert!(mail.subject.contains("aktivere"), "{}", mail.subject);
    assert!(mail.text.contains("Hei Kari Nordmann,"));

    let resp = app
        .set_password(&app.browser, ACTIVATE, &step2, &otp, NEW_PASSWORD, NEW_PASSWORD)
        .await;
    assert_eq!(resp.status(), 303);
    let to_login = location(&resp);
    assert_eq!(to_login, format!("/login?req={req}&password_set=1"));
    let page = app.page(&app.browser, &to_login).await;
    assert!(page.contains("Passordet ditt er lagret. Du kan nå logge inn."));

    let back = app.submit_login(&app.browser, &to_login, &addr, NEW_PASSWORD).await;
    assert!(back.starts_with(REDIRECT), "{back}");
    assert_eq!(query_param(&back, "state").as_deref(), Some("st-123"));
    let code = query_param(&back, "code").unwrap();
    let tokens = app.redeem(&client, &code, &verifier).await;
    let claims = crate::support::jwt::decode_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["email"], addr.as_str());

    // The one-time code was for one use: the same form again does not set a password.
    let again = app
        .set_password(&app.browser, ACTIVATE, &step2, &otp, NEW_PASSWORD, NEW_PASSWORD)
        .await;
    assert_ne!(again.status(), 303);
}

async fn forgotten_password_sets_a_new_one_and_the_old_stops_working(backend: Backend) {
    let app = TestApp::start(backend).await;
    let addr = email();
    app.member(&addr).await;
    let html = app.page(&app.browser, "/login").await;
    assert!(html.contains("href=\"/forgot-password\">Glemt passord</a>"));
    let page = app.page(&app.browser, "/forgot-password").await;
    assert!(page.contains("<h1>Glemt passord</h1>"));
    assert!(page.contains("Vi må verifisere din identitet før du kan velge ditt passord. Dette skjer ved at vi sender deg en engangskode på e-post."));
    assert!(page.contains("Send engangskode"));
    let to_login = app.reset_password(&app.browser, FORGOT, "", &addr, 1).await;
    assert_eq!(to_login, "/login?password_set=1");
    let mail = app.mailbox.wait_for(&addr, 1).await;
    assert!(mail.subject.contains("nytt passord"), "{}", mail.subject);
    let old = app.post_login(&app.new_browser(), "/login", &addr, PASSWORD).await;
    assert_eq!(old.status(), 400);
    let new = app.post_login(&app.new_browser(), "/login", &addr, NEW_PASSWORD).await;
    assert_eq!(new.status(), 200, "logged in without a waiting request");
    assert!(input_value(&new.text().await.unwrap(), "csrf_token").is_none());
}
