//! Unit tests of the one-time-code flow and its limits, on a manual clock.

use super::*;
use crate::account::member::MemberStatus;
use crate::ports::mailer::MailKind;

const DAY: i64 = 24 * 3600;
use crate::testing::TestProvider;

const NEW: &str = "blåbær syltetøy vaffel søndag";

async fn ask(t: &TestProvider, purpose: OtpPurpose, email: &str, ip: &str) -> OtpStart {
    t.start_otp(purpose, email, Some(ip), None, Locale::Nb).await.unwrap()
}

fn flow(start: OtpStart) -> String {
    match start {
        OtpStart::Started { flow } => flow,
        other => panic!("expected step 2, got {other:?}"),
    }
}

/// The code in the `n`-th mail (counting from 1).
async fn mailed_code(t: &TestProvider, n: usize) -> String {
    match &t.mails(n).await[n - 1].kind {
        MailKind::OneTimeCode { code, .. } => code.clone(),
        other => panic!("expected a code, got {other:?}"),
    }
}

async fn finish(t: &TestProvider, flow: &str, code: &str) -> OtpFinish {
    finish_from(t, flow, code, "192.0.2.1").await
}

async fn finish_from(t: &TestProvider, flow: &str, code: &str, ip: &str) -> OtpFinish {
    t.finish_otp(Some(flow), code, NEW, NEW, Some(ip)).await.unwrap()
}

fn is_code_problem(f: &OtpFinish, p: CodeProblem) -> bool {
    matches!(f, OtpFinish::Refused { code: Some(c), password: None } if *c == p)
}

#[tokio::test]
async fn a_code_activates_once_and_the_member_can_log_in() {
    let t = TestProvider::new();
    let m = t.pending_member("per@hk.no").await;
    let f = flow(ask(&t, OtpPurpose::Activate, "per@hk.no", "192.0.2.1").await);
    let code = mailed_code(&t, 1).await;
    assert!(matches!(finish(&t, &f, &code).await, OtpFinish::PasswordSet));
    let member = t.members.find_member(&m.id).await.unwrap().unwrap();
    assert_eq!(member.status, MemberStatus::Active);
    assert!(matches!(
        t.login("per@hk.no", NEW.into(), None).await.unwrap(),
        crate::account::login::LoginOutcome::Success(_)
    ));
    assert!(
        !matches!(finish(&t, &f, &code).await, OtpFinish::PasswordSet),
        "single use"
    );
    assert!(t.db.event_kinds().contains(&"member.activated".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_submissions_of_one_code_at_once_one_sets_the_password() {
    let t = TestProvider::new();
    t.pending_member("per@hk.no").await;
    let f = flow(ask(&t, OtpPurpose::Activate, "per@hk.no", "192.0.2.1").await);
    let code = mailed_code(&t, 1).await;
    let submit = || {
        let (p, f, code) = (t.provider.clone(), f.clone(), code.clone());
        tokio::spawn(async move { p.finish_otp(Some(&f), &code, NEW, NEW, None).await.unwrap() })
    };
    let (a, b) = (submit(), submit());
    let outcomes = [a.await.unwrap(), b.await.unwrap()];
    let set = outcomes.iter().filter(|o| matches!(o, OtpFinish::PasswordSet)).count();
    assert_eq!(set, 1, "{outcomes:?}");
}

#[tokio::test]
async fn a_member_past_the_failure_limit_gets_in_again_through_a_reset() {
    let t = TestProvider::with(|s| {
        s.passwords.max_failed_logins = 3;
        s.login.account_free_failures = 100;
    });
    t.member("kari@hk.no").await;
    for _ in 0..3 {
        t.login("kari@hk.no", "feil passord".into(), None).await.unwrap();
    }
    let right = t
        .login("kari@hk.no", crate::testing::PASSWORD.into(), None)
        .await
        .unwrap();
    assert!(
        matches!(right, crate::account::login::LoginOutcome::Failed),
        "locked out"
    );
    let f = flow(ask(&t, OtpPurpose::Reset, "kari@hk.no", "192.0.2.1").await);
    let code = mailed_code(&t, 1).await;
    assert!(matches!(finish(&t, &f, &code).await, OtpFinish::PasswordSet));
    assert!(matches!(
        t.login("kari@hk.no", NEW.into(), None).await.unwrap(),
        crate::account::login::LoginOutcome::Success(_)
    ));
}

#[tokio::test]
async fn an_unknown_e_mail_gets_step_two_too_and_no_mail() {
    let t = TestProvider::new();
    let f = flow(ask(&t, OtpPurpose::Activate, "ukjent@hk.no", "192.0.2.1").await);
    assert!(t.otp_flow_alive(Some(&f)).await.unwrap());
    tokio::time::sleep(std::time::Duration::from_millis(120)).await;
    assert!(t.mail.0.lock().unwrap().is_empty());
    // The decoy opens with no code.
    assert!(is_code_problem(&finish(&t, &f, "123456").await, CodeProblem::Wrong));
}

#[tokio::test]
async fn wrong_tries_void_the_code_after_the_limit() {
    let t = TestProvider::new();
    t.pending_member("per@hk.no").await;
    let f = flow(ask(&t, OtpPurpose::Activate, "per@hk.no", "192.0.2.1").await);
    let code = mailed_code(&t, 1).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let max = t.settings.otp.max_attempts;
    for n in 1..max {
        assert!(
            is_code_problem(&finish(&t, &f, wrong).await, CodeProblem::Wrong),
            "try {n}"
        );
    }
    assert!(is_code_problem(&finish(&t, &f, wrong).await, CodeProblem::Void));
    assert!(
        is_code_problem(&finish(&t, &f, &code).await, CodeProblem::Void),
        "the right code is void now"
    );
}

#[tokio::test]
async fn a_new_code_voids_the_browsers_old_one_but_not_another_browsers() {
    let t = TestProvider::new();
    t.pending_member("per@hk.no").await;
    let ours = flow(ask(&t, OtpPurpose::Activate, "per@hk.no", "192.0.2.1").await);
    let ours_code = mailed_code(&t, 1).await;
    // Another browser asks: our code still works.
    let theirs = flow(ask(&t, OtpPurpose::Activate, "per@hk.no", "192.0.2.66").await);
    let theirs_code = mailed_code(&t, 2).await;
    if ours_code != theirs_code {
        assert!(
            is_code_problem(&finish(&t, &theirs, &ours_code).await, CodeProblem::Wrong),
            "a code opens only its own flow"
        );
    }
    // The same browser asks again: its first code is void.
    let again = t
        .start_otp(
            OtpPurpose::Activate,
            "per@hk.no",
            Some("192.0.2.1"),
            Some(&ours),
            Locale::Nb,
        )
        .await
        .unwrap();
    let again = flow(again);
    assert!(matches!(finish(&t, &ours, &ours_code).await, OtpFinish::Expired));
    let again_code = mailed_code(&t, 3).await;
    assert!(matches!(finish(&t, &again, &again_code).await, OtpFinish::PasswordSet));
}

#[tokio::test]
async fn a_code_asked_for_before_a_new_password_is_void() {
    let t = TestProvider::new();
    t.member("kari@hk.no").await;
    let early = flow(ask(&t, OtpPurpose::Reset, "kari@hk.no", "192.0.2.66").await);
    let early_code = mailed_code(&t, 1).await;
    t.clock.advance(1);
    let f = flow(ask(&t, OtpPurpose::Reset, "kari@hk.no", "192.0.2.1").await);
    let code = mailed_code(&t, 2).await;
    assert!(matches!(finish(&t, &f, &code).await, OtpFinish::PasswordSet));
    assert!(
        is_code_problem(&finish(&t, &early, &early_code).await, CodeProblem::Void),
        "the earlier code died with the reset"
    );
}

#[tokio::test]
async fn a_strangers_requests_and_guesses_do_not_stop_the_member() {
    let t = TestProvider::new();
    t.member("kari@hk.no").await;
    let stranger = "192.0.2.66";
    let mut asked = 0;
    while let OtpStart::Started { flow } = ask(&t, OtpPurpose::Reset, "kari@hk.no", stranger).await {
        asked += 1;
        for _ in 0..t.settings.otp.max_attempts + 1 {
            finish_from(&t, &flow, "000000", stranger).await;
        }
    }
    assert_eq!(asked, t.settings.otp.per_email, "the stranger's quota ends");
    t.mails(asked as usize).await; // delivered, so the next mail is the member's
    let f = flow(ask(&t, OtpPurpose::Reset, "kari@hk.no", "192.0.2.1").await);
    let code = mailed_code(&t, asked as usize + 1).await;
    let out = finish(&t, &f, &code).await;
    assert!(matches!(out, OtpFinish::PasswordSet), "{out:?}");
}

#[tokio::test]
async fn requests_refused_by_the_askers_own_quota_do_not_use_up_the_emails() {
    let t = TestProvider::new();
    t.member("kari@hk.no").await;
    let stranger = "192.0.2.66";
    // The stranger goes on asking long past their own quota, as many times
    // as the e-mail may be asked for from all addresses together.
    for _ in 0..t.settings.otp.per_email_all_addresses {
        ask(&t, OtpPurpose::Reset, "kari@hk.no", stranger).await;
    }
    let sent = t.settings.otp.per_email as usize;
    t.mails(sent).await; // delivered, so the next mail is the member's
    let f = flow(ask(&t, OtpPurpose::Reset, "kari@hk.no", "192.0.2.1").await);
    let code = mailed_code(&t, sent + 1).await;
    assert!(matches!(finish(&t, &f, &code).await, OtpFinish::PasswordSet));
}

#[tokio::test]
async fn guesses_are_blocked_per_address_over_all_e_mails_and_count_where_they_are_made() {
    let t = TestProvider::with(|s| {
        s.otp.max_wrong_per_address_per_day = 4;
        s.otp.max_wrong_per_day = 100;
    });
    for who in ["a@hk.no", "b@hk.no"] {
        t.member(who).await;
        let f = flow(ask(&t, OtpPurpose::Reset, who, "192.0.2.66").await);
        finish_from(&t, &f, "000000", "192.0.2.66").await;
        finish_from(&t, &f, "000000", "192.0.2.66").await;
    }
    // Four wrong tries from this address: a fresh code for a third e-mail is void here.
    t.member("c@hk.no").await;
    let f = flow(ask(&t, OtpPurpose::Reset, "c@hk.no", "192.0.2.66").await);
    let code = mailed_code(&t, 3).await;
    assert!(is_code_problem(
        &finish_from(&t, &f, &code, "192.0.2.66").await,
        CodeProblem::Void
    ));
    // Another address asking for c@ is not held back.
    let f = flow(ask(&t, OtpPurpose::Reset, "c@hk.no", "192.0.2.1").await);
    let code = mailed_code(&t, 4).await;
    assert!(matches!(finish(&t, &f, &code).await, OtpFinish::PasswordSet));
}

#[tokio::test]
async fn one_mailbox_gets_at_most_the_all_addresses_quota() {
    let t = TestProvider::with(|s| s.otp.per_email_all_addresses = 3);
    for n in 1..=3 {
        flow(ask(&t, OtpPurpose::Activate, "per@hk.no", &format!("192.0.2.{n}")).await);
    }
    assert!(matches!(
        ask(&t, OtpPurpose::Activate, "per@hk.no", "192.0.2.4").await,
        OtpStart::TooMany
    ));
}

#[tokio::test]
async fn a_code_expires_by_the_clock() {
    let t = TestProvider::new();
    t.pending_member("per@hk.no").await;
    let f = flow(ask(&t, OtpPurpose::Activate, "per@hk.no", "192.0.2.1").await);
    let code = mailed_code(&t, 1).await;
    t.clock.advance(t.settings.otp.ttl);
    // (Here the flow and the record expire together; on Redis, whose entries expire by
    // its own clock, the record's `expires_at` decides: tests/e2e/otp_rules.rs.)
    assert!(!matches!(finish(&t, &f, &code).await, OtpFinish::PasswordSet));
    let f = flow(ask(&t, OtpPurpose::Activate, "per@hk.no", "192.0.2.1").await);
    let code = mailed_code(&t, 2).await;
    t.clock.advance(t.settings.otp.ttl - 1);
    assert!(
        matches!(finish(&t, &f, &code).await, OtpFinish::PasswordSet),
        "valid until it expires"
    );
}

#[tokio::test]
async fn codes_are_rate_limited_per_e_mail_and_per_address() {
    let t = TestProvider::with(|s| {
        s.otp.per_email = 2;
        s.otp.per_address = 3;
    });
    for _ in 0..2 {
        flow(ask(&t, OtpPurpose::Activate, "per@hk.no", "192.0.2.1").await);
    }
    assert!(matches!(
        ask(&t, OtpPurpose::Activate, "per@hk.no", "192.0.2.1").await,
        OtpStart::TooMany
    ));
    // The address has asked three times now; a fourth e-mail from it is refused too.
    assert!(matches!(
        ask(&t, OtpPurpose::Activate, "ola@hk.no", "192.0.2.1").await,
        OtpStart::TooMany
    ));
    flow(ask(&t, OtpPurpose::Activate, "ola@hk.no", "192.0.2.9").await);
    t.clock.advance(t.settings.otp.rate_window);
    flow(ask(&t, OtpPurpose::Activate, "per@hk.no", "192.0.2.1").await);
}

#[tokio::test]
async fn new_codes_do_not_buy_more_than_the_daily_wrong_tries() {
    let t = TestProvider::with(|s| {
        s.otp.max_wrong_per_day = 3;
        s.otp.per_email = 100;
    });
    t.pending_member("per@hk.no").await;
    for n in 1..=3 {
        let f = flow(ask(&t, OtpPurpose::Activate, "per@hk.no", "192.0.2.1").await);
        let code = mailed_code(&t, n).await;
        let wrong = if code == "000000" { "111111" } else { "000000" };
        finish(&t, &f, wrong).await;
    }
    let f = flow(ask(&t, OtpPurpose::Activate, "per@hk.no", "192.0.2.1").await);
    let code = mailed_code(&t, 4).await;
    assert!(
        is_code_problem(&finish(&t, &f, &code).await, CodeProblem::Void),
        "blocked for the day"
    );
    t.clock.advance(DAY);
    let f = flow(ask(&t, OtpPurpose::Activate, "per@hk.no", "192.0.2.1").await);
    let code = mailed_code(&t, 5).await;
    assert!(matches!(finish(&t, &f, &code).await, OtpFinish::PasswordSet));
}

#[tokio::test]
async fn a_reset_is_only_for_active_members_and_ends_their_sessions() {
    let t = TestProvider::new();
    let pending = t.pending_member("per@hk.no").await;
    flow(ask(&t, OtpPurpose::Reset, "per@hk.no", "192.0.2.1").await);
    tokio::time::sleep(std::time::Duration::from_millis(120)).await;
    assert!(t.mail.0.lock().unwrap().is_empty(), "no reset mail for {}", pending.id);
    let m = t.member("kari@hk.no").await;
    let (cookie, _) = t.start_session(&m.id, None).await.unwrap();
    t.clock.advance(1);
    let f = flow(ask(&t, OtpPurpose::Reset, "kari@hk.no", "192.0.2.1").await);
    let code = mailed_code(&t, 1).await;
    assert!(matches!(finish(&t, &f, &code).await, OtpFinish::PasswordSet));
    assert!(
        t.find_session(Some(&cookie)).await.unwrap().is_none(),
        "the old session ended"
    );
}

#[tokio::test]
async fn a_weak_password_is_refused_and_the_code_stays_usable() {
    let t = TestProvider::new();
    t.pending_member("per@hk.no").await;
    let f = flow(ask(&t, OtpPurpose::Activate, "per@hk.no", "192.0.2.1").await);
    let code = mailed_code(&t, 1).await;
    let weak = t.finish_otp(Some(&f), &code, "kort", "kort", None).await.unwrap();
    assert!(matches!(
        weak,
        OtpFinish::Refused {
            code: None,
            password: Some(PasswordProblem::TooShort { .. })
        }
    ));
    assert!(matches!(finish(&t, &f, &code).await, OtpFinish::PasswordSet));
}

#[test]
fn codes_are_six_digits() {
    for _ in 0..1000 {
        let c = new_code();
        assert!(is_code_shaped(&c), "{c}");
    }
    assert!(!is_code_shaped("12345"));
    assert!(!is_code_shaped("12345a"));
    assert!(!is_code_shaped("١٢٣٤٥٦"));
}

#[test]
fn purposes_admit_the_right_members() {
    assert!(OtpPurpose::Activate.admits(MemberStatus::Pending));
    assert!(OtpPurpose::Activate.admits(MemberStatus::Active));
    assert!(!OtpPurpose::Activate.admits(MemberStatus::Disabled));
    assert!(OtpPurpose::Reset.admits(MemberStatus::Active));
    assert!(!OtpPurpose::Reset.admits(MemberStatus::Pending));
    assert!(!OtpPurpose::Reset.admits(MemberStatus::Disabled));
}

/// docs/SECURITY-RULES.md §2.2: the code itself is stored nowhere, only its
/// keyed hash; the mail is the one place it is written.
#[tokio::test]
async fn the_code_is_stored_only_as_a_keyed_hash() {
    let t = TestProvider::new();
    t.member("kari@hk.no").await;
    flow(ask(&t, OtpPurpose::Reset, "kari@hk.no", "192.0.2.1").await);
    let code = mailed_code(&t, 1).await;
    let stored: Vec<String> =
        t.kv.values()
            .iter()
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .chain(t.db.events_debug())
            .collect();
    assert!(!stored.is_empty());
    let mac = t.code_mac("kari@hk.no", &code);
    assert!(
        stored.iter().any(|v| v.contains(&mac)),
        "the keyed hash is what is kept"
    );
    for v in &stored {
        // As a six-digit run of its own (a longer number may contain it by chance).
        let runs: Vec<&str> = v.split(|c: char| !c.is_ascii_digit()).collect();
        assert!(!runs.contains(&code.as_str()), "the code is stored: {v}");
    }
}
