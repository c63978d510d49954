//! What strangers try against members' accounts from many source addresses
//! (127.0.0.x), with the limits of docs/ABUSE-LIMITS.md made small: flooding
//! one mailbox with codes, and guessing passwords and codes spread over
//! addresses.

use crate::on_both;
use crate::support::otp::{ACTIVATE, FORGOT, NEW_PASSWORD};
use crate::support::{Backend, PASSWORD, TestApp, email};
use figment::providers::Serialized;

on_both!(
    one_mailbox_gets_no_more_codes_than_the_limits_allow,
    password_guesses_spread_over_addresses_are_slowed_per_account,
    code_guesses_spread_over_addresses_are_capped_per_email,
);

/// 127.0.0.`n`.
fn address(n: u8) -> String {
    format!("127.0.0.{n}")
}

/// Lets queued mail arrive, so a count of what was received is final.
async fn settle() {
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
}

async fn one_mailbox_gets_no_more_codes_than_the_limits_allow(backend: Backend) {
    let app = TestApp::start_with(backend, |f| {
        f.merge(Serialized::default("otp.per_email", 2))
            .merge(Serialized::default("otp.per_email_all_addresses", 5))
    })
    .await;
    let victim = email();
    app.member(&victim).await;
    let unknown = email();
    for target in [&victim, &unknown] {
        let mut answered = Vec::new();
        // One address asks four times, four more ask twice each.
        for (n, times) in [(20, 4), (21, 2), (22, 2), (23, 2), (24, 2)] {
            for i in 0..times {
                let entrance = if i % 2 == 0 { ACTIVATE } else { FORGOT };
                let (status, _) = app.ask_code(&app.browser_from(&address(n)), entrance, "", target).await;
                answered.push(status);
            }
        }
        // 20: 200 200 429 429; 21: 200 200; 22: 200, then the e-mail's hour is full.
        assert_eq!(
            answered,
            [200, 200, 429, 429, 200, 200, 200, 429, 429, 429, 429, 429],
            "{target}: a member and an unknown e-mail are answered alike"
        );
    }
    app.mailbox.wait_for(&victim, 5).await;
    settle().await;
    assert_eq!(
        app.mailbox.to(&victim).len(),
        5,
        "at most per_email_all_addresses codes an hour"
    );
    assert!(app.mailbox.to(&unknown).is_empty(), "nothing to an unknown e-mail");
    // The ceiling is the mailbox's: another member asking from the same
    // addresses meanwhile gets their code.
    let other = email();
    app.member(&other).await;
    app.reset_password(&app.browser_from(&address(24)), ACTIVATE, "", &other, 1)
        .await;
    assert_eq!(
        app.post_login(&app.new_browser(), "/login", &other, NEW_PASSWORD)
            .await
            .status(),
        200
    );
}

async fn password_guesses_spread_over_addresses_are_slowed_per_account(backend: Backend) {
    let app = TestApp::start_with(backend, |f| {
        f.merge(Serialized::default("login.account_free_failures", 3))
            .merge(Serialized::default("login.account_max_delay", 30))
    })
    .await;
    let victim = email();
    app.member(&victim).await;
    let mut answered = Vec::new();
    for n in 30..40 {
        let r = app
            .post_login(
                &app.browser_from(&address(n)),
                "/login",
                &victim,
                "gjetter fra mange adresser",
            )
            .await;
        answered.push(r.status().as_u16());
    }
    // Three free failures; the fourth makes the account wait 1 s, then 2 s, …
    // and a new address buys nothing. (A wait may end between two guesses on
    // a slow machine: then one more guess is checked, and the wait doubles.)
    let checked = answered.iter().filter(|s| **s == 400).count();
    assert!(answered[..4] == [400; 4] && answered[4] == 429, "{answered:?}");
    assert!(checked <= 6, "only so many guesses are checked: {answered:?}");
    assert!(answered.iter().all(|s| *s == 400 || *s == 429), "{answered:?}");
    // The member, from their own address, waits at most the cap.
    app.advance(31);
    let r = app
        .post_login(&app.browser_from(&address(40)), "/login", &victim, PASSWORD)
        .await;
    assert_eq!(r.status(), 200);
}

async fn code_guesses_spread_over_addresses_are_capped_per_email(backend: Backend) {
    let app = TestApp::start_with(backend, |f| {
        f.merge(Serialized::default("otp.per_email_all_addresses", 3))
            .merge(Serialized::default("otp.max_attempts", 2))
    })
    .await;
    let victim = email();
    app.member(&victim).await;
    let mut flows = Vec::new();
    for n in 50..55 {
        let browser = app.browser_from(&address(n));
        let (status, step2) = app.ask_code(&browser, FORGOT, "", &victim).await;
        if status == 200 {
            // This flow's code, as a lucky guesser would have it: waited for
            // before the next request, so the mails cannot change places.
            let code = app.mailbox.wait_for(&victim, flows.len() + 1).await.code();
            flows.push((browser, step2, code));
        }
    }
    assert_eq!(flows.len(), 3, "codes for one e-mail are capped over all addresses");
    for (browser, step2, code) in &flows {
        let wrong = if code == "000000" { "111111" } else { "000000" };
        for _ in 0..2 {
            let r = app
                .set_password(browser, FORGOT, step2, wrong, NEW_PASSWORD, NEW_PASSWORD)
                .await;
            assert_eq!(r.status(), 400);
        }
        // max_attempts wrong: the flow's code is void, even when right.
        let r = app
            .set_password(browser, FORGOT, step2, code, NEW_PASSWORD, NEW_PASSWORD)
            .await;
        assert_eq!(r.status(), 400, "the code is void after max_attempts");
    }
    // Three codes × two tries: six guesses in all against a million codes;
    // nothing was set, and the member's password is untouched.
    let r = app
        .post_login(&app.new_browser(), "/login", &victim, NEW_PASSWORD)
        .await;
    assert_eq!(r.status(), 400);
    let r = app.post_login(&app.new_browser(), "/login", &victim, PASSWORD).await;
    assert_eq!(r.status(), 200);
}
