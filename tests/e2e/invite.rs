//! Invitations: the mail reaches a real SMTP listener with the portal's
//! `initiate_login_uri` (with `iss` and `login_hint`), or the activation page
//! when no client has one; a member is invited once unless on purpose, over
//! the admin API and with `hk-idp user invite`.

use crate::on_both;
use crate::support::cli::hk_idp;
use crate::support::smtp::Mailbox;
use crate::support::{Backend, TestApp, email};
use reqwest::Method;
use serde_json::{Value, json};

on_both!(invitations_go_out_once_unless_resent);

async fn run(env: Vec<(String, String)>, args: Vec<String>) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        hk_idp(&env, &args, None)
    })
    .await
    .unwrap()
}

fn link_in(text: &str, prefix: &str) -> url::Url {
    let line = text
        .lines()
        .find(|l| l.trim().starts_with(prefix))
        .unwrap_or_else(|| panic!("no link {prefix} in:\n{text}"));
    url::Url::parse(line.trim()).unwrap()
}

fn param(u: &url::Url, name: &str) -> Option<String> {
    u.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_invite_mails_the_portal_link_with_iss_and_login_hint() {
    let mailbox = Mailbox::start().await;
    let dir = tempfile::tempdir().unwrap();
    let env = vec![
        (
            "IDP_DATABASE_URL".to_owned(),
            format!("sqlite://{}/hk.sqlite?mode=rwc", dir.path().display()),
        ),
        ("IDP_SMTP_URL".to_owned(), mailbox.url()),
        ("IDP_ISSUER".to_owned(), "https://id.hk.no".to_owned()),
    ];
    let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let (first, second) = (email(), email());

    // Without a portal the link goes to the activation page with the e-mail filled in.
    assert!(
        run(
            env.clone(),
            args(&["user", "add", "--email", &first, "--name", "Kari <Nordmann>"])
        )
        .await
        .status
        .success()
    );
    let out = run(env.clone(), args(&["user", "invite", "--email", &first])).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mail = mailbox.wait_for(&first, 1).await;
    let link = link_in(&mail.text, "https://id.hk.no/activate");
    assert_eq!(param(&link, "email").as_deref(), Some(first.as_str()));
    assert!(mail.subject.contains("bedriftsportalen"), "{}", mail.subject);
    assert!(
        mail.text
            .contains("Trykk på lenken nedenfor for å gå videre til bedriftsportalen.")
    );
    assert!(mail.html.contains("href=\"https://id.hk.no/activate?email="));
    assert!(!mail.html.contains("<Nordmann>"), "the name is escaped in HTML");

    // With a portal: its initiate_login_uri, iss and login_hint (OIDC Core §4).
    let out = run(
        env.clone(),
        args(&[
            "client",
            "create",
            "--name",
            "Bedriftsportalen",
            "--redirect-uri",
            "https://portal.hk.no/cb",
            "--initiate-login-uri",
            "https://portal.hk.no/login",
            "--first-party",
        ]),
    )
    .await;
    assert!(out.status.success());
    assert!(
        run(env.clone(), args(&["user", "add", "--email", &second]))
            .await
            .status
            .success()
    );
    // --all-pending invites the pending members not invited yet: the first was.
    let out = run(env.clone(), args(&["user", "invite", "--all-pending", "--json"])).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["invited"], 1, "{v}");
    let mail = mailbox.wait_for(&second, 1).await;
    let link = link_in(&mail.text, "https://portal.hk.no/login");
    assert_eq!(param(&link, "iss").as_deref(), Some("https://id.hk.no"));
    assert_eq!(param(&link, "login_hint").as_deref(), Some(second.as_str()));
    assert_eq!(mail.from, "noreply@hk.no");

    // Run again (as after a stop): nobody is invited twice.
    let out = run(env.clone(), args(&["user", "invite", "--all-pending", "--json"])).await;
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["invited"], 0, "{v}");
    assert_eq!(mailbox.to(&second).len(), 1);
    // Not by accident either: one member again needs --resend (exit code 5).
    let out = run(env.clone(), args(&["user", "invite", "--email", &first])).await;
    assert_eq!(out.status.code(), Some(5));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--resend")
            || String::from_utf8_lossy(&out.stderr).contains("resend")
    );
    let out = run(env.clone(), args(&["user", "invite", "--email", &first, "--resend"])).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    mailbox.wait_for(&first, 2).await;

    // An unknown member: a clear failure and exit code 4.
    let out = run(env, args(&["user", "invite", "--email", &email()])).await;
    assert_eq!(out.status.code(), Some(4));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not found"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn invitations_go_out_once_unless_resent(b: Backend) {
    let app = TestApp::start_admin(b).await;
    let mail = email();
    let (_, m) = app
        .admin(Method::POST, "/admin/users", Some(json!({"email": mail})))
        .await;
    let id = m["id"].as_str().unwrap().to_owned();
    assert!(m["invited_at"].is_null());
    let path = format!("/admin/users/{id}/invite");

    let (status, invited) = app.admin(Method::POST, &path, None).await;
    assert_eq!(status, 202, "{invited}");
    assert!(invited["invited_at"].is_i64());
    let received = app.mailbox.wait_for(&mail, 1).await;
    assert!(
        received.text.contains(&format!("{}/activate?email=", app.base)),
        "{}",
        received.text
    );

    let (status, err) = app.admin(Method::POST, &path, Some(json!({}))).await;
    assert_eq!(status, 409, "not twice by accident: {err}");
    assert!(err["error_description"].as_str().unwrap().contains("resend"));
    let (status, _) = app.admin(Method::POST, &path, Some(json!({"resend": true}))).await;
    assert_eq!(status, 202);
    app.mailbox.wait_for(&mail, 2).await;

    let (status, _) = app.admin(Method::POST, &path, Some(json!({"resend": "yes"}))).await;
    assert_eq!(status, 400);
    let (status, _) = app.admin(Method::POST, "/admin/users/nobody/invite", None).await;
    assert_eq!(status, 404);
    // A disabled member gets no invitation.
    app.admin(
        Method::PATCH,
        &format!("/admin/users/{id}"),
        Some(json!({"disabled": true})),
    )
    .await;
    let (status, _) = app.admin(Method::POST, &path, Some(json!({"resend": true}))).await;
    assert_eq!(status, 400);
    assert_eq!(app.mailbox.to(&mail).len(), 2);

    // --all-pending through the CLI: only those not invited yet, once.
    let (a, c) = (email(), email());
    for e in [&a, &c] {
        app.admin(Method::POST, "/admin/users", Some(json!({"email": e}))).await;
    }
    let out = app.cli(&["user", "invite", "--all-pending", "--json"], None).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["invited"], 2, "{v}");
    app.mailbox.wait_for(&a, 1).await;
    app.mailbox.wait_for(&c, 1).await;
    let out = app.cli(&["user", "invite", "--all-pending", "--json"], None).await;
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["invited"], 0, "{v}");

    // --resend with --all-pending: those whose invitation is over an hour old,
    // so a stopped resend run goes on where it ended too.
    let old = app.services.provider.member_by_email(&a).await.unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    app.services
        .provider
        .members
        .mark_invited(&old.id, now - 7200)
        .await
        .unwrap();
    let out = app
        .cli(&["user", "invite", "--all-pending", "--resend", "--json"], None)
        .await;
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["invited"], 1, "{v}");
    app.mailbox.wait_for(&a, 2).await;
    assert_eq!(app.mailbox.to(&c).len(), 1, "invited within the hour: not again");
    let out = app
        .cli(&["user", "invite", "--all-pending", "--resend", "--json"], None)
        .await;
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["invited"], 0, "run again: nobody twice");
}
