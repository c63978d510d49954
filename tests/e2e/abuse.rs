//! What strangers try (docs/ABUSE-LIMITS.md): each scenario comes from real
//! source addresses (127.0.0.x), an attacker on one, the member on another.

use crate::on_both;
use crate::support::otp::{FORGOT, NEW_PASSWORD};
use crate::support::{Backend, TestApp, email, location, pkce};
use figment::providers::Serialized;

on_both!(a_stranger_cannot_keep_a_member_from_resetting_and_logging_in,);

const STRANGER: &str = "127.0.0.2";
const MEMBER: &str = "127.0.0.3";

/// The review's scenario: a stranger's wrong passwords past the failure
/// limit, then every code request and wrong code the limits allow; the
/// member, from their own browser, still gets a code, sets a password and
/// logs in at once.
async fn a_stranger_cannot_keep_a_member_from_resetting_and_logging_in(backend: Backend) {
    let app = TestApp::start_with(backend, |f| {
        f.merge(Serialized::default("passwords.max_failed_logins", 15))
    })
    .await;
    let client = app.client().await;
    let kari = email();
    app.member(&kari).await;
    let stranger = app.browser_from(STRANGER);
    let (_, challenge) = pkce();
    let authorize = app.authorize_url(&client, &challenge, &[]);
    let login_path = location(&stranger.get(&authorize).send().await.unwrap());
    for _ in 0..15 {
        app.advance(61); // past any throttle delay: the stranger has time
        let resp = app.post_login(&stranger, &login_path, &kari, "feil passord her").await;
        assert_ne!(resp.status(), 303, "a wrong password never logs in");
    }
    let mut codes_asked = 0;
    let mut wrong_tries = 0;
    loop {
        let (status, step2) = app.ask_code(&stranger, FORGOT, "", &kari).await;
        if status == 429 {
            break;
        }
        codes_asked += 1;
        for _ in 0..6 {
            app.set_password(&stranger, FORGOT, &step2, "000000", NEW_PASSWORD, NEW_PASSWORD)
                .await;
            wrong_tries += 1;
        }
        assert!(codes_asked < 100, "the stranger's code requests are limited");
    }
    assert!(
        codes_asked >= 5 && wrong_tries >= 30,
        "{codes_asked} codes, {wrong_tries} tries"
    );
    let mails_so_far = app.mailbox.wait_for(&kari, codes_asked).await;
    drop(mails_so_far);

    // The member, in their own browser, from their own address.
    let member = app.browser_from(MEMBER);
    let (status, step2) = app.ask_code(&member, FORGOT, "", &kari).await;
    assert_eq!(status, 200, "the member gets a code: {step2}");
    let code = app.mailbox.wait_for(&kari, codes_asked + 1).await.code();
    let resp = app
        .set_password(&member, FORGOT, &step2, &code, NEW_PASSWORD, NEW_PASSWORD)
        .await;
    assert_eq!(resp.status(), 303, "{}", resp.text().await.unwrap_or_default());
    let login_path = location(&member.get(&authorize).send().await.unwrap());
    let resp = app.post_login(&member, &login_path, &kari, NEW_PASSWORD).await;
    assert_eq!(resp.status(), 303, "the member logs in at once");
    assert!(location(&resp).contains("code="), "{}", location(&resp));
}
