//! The admin's bulk work over the API and the real CLI binary: CSV import
//! (summary, line numbers, idempotence), invitations (once, then only with
//! resend) and the audit trail (every kind of action, filters, paging, no
//! secrets).

use crate::helpers::{Backend, REDIRECT, TestApp, email};
use crate::on_both;
use crate::otp_helpers::{ACTIVATE, NEW_PASSWORD};
use figment::providers::Serialized;
use reqwest::Method;
use serde_json::{Value, json};

on_both!(
    import_reports_each_row_and_is_idempotent,
    cli_import_shows_the_same_summary_and_exit_code,
    invitations_go_out_once_unless_resent,
    the_audit_trail_records_every_action_without_secrets,
    a_nul_byte_in_a_key_is_bad_input_not_a_server_error,
    cli_manages_members_and_clients,
);

const ADMIN: &str = "admin-token-for-tests-0123456789";

async fn app(b: Backend) -> TestApp {
    TestApp::start_with(b, |f| f.merge(Serialized::default("admin.token", ADMIN))).await
}

async fn call(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = reqwest::Client::new().request(method, app.url(path)).bearer_auth(ADMIN);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn import(app: &TestApp, csv: Vec<u8>) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(app.url("/admin/users/import"))
        .bearer_auth(ADMIN)
        .header("content-type", "text/csv; charset=utf-8")
        .body(csv)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// A member list with good, duplicate and broken rows; `tag` keeps addresses unique per test.
fn member_list(tag: &str) -> Vec<u8> {
    let mut csv = format!(
        "email,name,org_number,org_name,extra\n\
         kari.{tag}@hk.no,Kari Nordmann,971274042,HK Norge,x\n\
         \"ola.{tag}@hk.no\",\"Nordmann, Ola\",,,\n\
         not-an-address,Nobody,,,\n\
         KARI.{tag}@HK.NO,Kari again,,,\n\
         per.{tag}@hk.no,Per,123456789,Bad org,\n\
         \n\
         lise.{tag}@blåbær.no,Lise,,,\n\
         lise.{tag}@xn--blbr-roah.no,Lise ASCII,,,\n"
    )
    .into_bytes();
    // Line 10: not UTF-8 in the name.
    csv.extend_from_slice(format!("nils.{tag}@hk.no,N\u{0}").as_bytes());
    csv.extend_from_slice(b"\xff\xfe,,,\n");
    csv.extend_from_slice(format!("anne.{tag}@hk.no\n").as_bytes());
    csv
}

fn lines_and_reasons(report: &Value) -> Vec<(u64, String)> {
    report["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r["reason"].as_str().unwrap().to_owned()))
        .collect()
}

fn check_rejections(report: &Value) {
    let rejected = lines_and_reasons(report);
    let lines: Vec<u64> = rejected.iter().map(|(l, _)| *l).collect();
    assert_eq!(lines, vec![4, 5, 6, 9, 10], "{report}");
    assert!(rejected[0].1.starts_with("email:"), "{rejected:?}");
    assert!(
        rejected[1].1.contains("line 2"),
        "a repeat names the first line: {rejected:?}"
    );
    assert!(rejected[2].1.starts_with("org_number"), "{rejected:?}");
    assert!(
        rejected[3].1.contains("line 8"),
        "one address in two spellings: {rejected:?}"
    );
    assert!(
        rejected[4].1.contains("UTF-8") || rejected[4].1.contains("control"),
        "{rejected:?}"
    );
}

async fn import_reports_each_row_and_is_idempotent(b: Backend) {
    let app = app(b).await;
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let csv = member_list(&tag);
    let (status, report) = import(&app, csv.clone()).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["created"], 4, "{report}");
    assert_eq!(report["existing"], 0, "{report}");
    check_rejections(&report);

    // The rows are there, as given, pending.
    let (status, kari) = call(&app, Method::GET, &format!("/admin/users?email=kari.{tag}@hk.no"), None).await;
    assert_eq!(status, 200);
    assert_eq!(kari["name"], "Kari Nordmann");
    assert_eq!(kari["org_number"], "971274042");
    assert_eq!(kari["status"], "pending");
    let (_, ola) = call(&app, Method::GET, &format!("/admin/users?email=ola.{tag}@hk.no"), None).await;
    assert_eq!(ola["name"], "Nordmann, Ola");
    let (status, lise) = call(
        &app,
        Method::GET,
        &format!("/admin/users?email=lise.{tag}@Blåbær.no"),
        None,
    )
    .await;
    assert_eq!(status, 200, "the Unicode spelling finds the member");
    assert_eq!(lise["email"], format!("lise.{tag}@xn--blbr-roah.no"));

    // Again: nothing new, the same rows refused.
    let (status, again) = import(&app, csv).await;
    assert_eq!(status, 200);
    assert_eq!(again["created"], 0, "{again}");
    assert_eq!(again["existing"], 4, "{again}");
    assert_eq!(again["rejected"], report["rejected"]);

    // Semicolons (a spreadsheet in Norwegian), a byte-order mark, a new row.
    let semi = format!("\u{feff}email;name\nkari.{tag}@hk.no;Kari\nny.{tag}@hk.no;Ny\n");
    let (_, r) = import(&app, semi.into_bytes()).await;
    assert_eq!(
        (r["created"].as_u64(), r["existing"].as_u64()),
        (Some(1), Some(1)),
        "{r}"
    );

    // Windows line ends (CRLF), quoted fields: the line numbers still count right.
    let crlf = format!("email,name\r\ncrlf.{tag}@hk.no,\"Crlf\"\r\nnot-an-address,X\r\n");
    let (_, r) = import(&app, crlf.into_bytes()).await;
    assert_eq!(r["created"], 1, "{r}");
    assert_eq!(r["rejected"][0]["line"], 3, "{r}");
    let (_, c) = call(&app, Method::GET, &format!("/admin/users?email=crlf.{tag}@hk.no"), None).await;
    assert_eq!(c["name"], "Crlf", "no stray carriage return");

    // A file without an email column is refused whole, saying why.
    let (status, err) = import(&app, b"name,org_number\nKari,971274042\n".to_vec()).await;
    assert_eq!(status, 400);
    assert!(
        err["error_description"].as_str().unwrap().contains("email column"),
        "{err}"
    );
    // JSON is not CSV.
    let (status, _) = call(
        &app,
        Method::POST,
        "/admin/users/import",
        Some(json!({"email": "a@hk.no"})),
    )
    .await;
    assert_eq!(status, 400);
}

async fn cli_import_shows_the_same_summary_and_exit_code(b: Backend) {
    let app = app(b).await;
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("medlemmer.csv");
    std::fs::write(&file, member_list(&tag)).unwrap();
    let path = file.display().to_string();

    let out = app.cli(&["user", "import", &path, "--json"], None).await;
    assert_eq!(out.status.code(), Some(6), "rows refused: exit code 6");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["created"], 4, "{report}");
    check_rejections(&report);
    // The server sees them at once.
    let (status, _) = call(&app, Method::GET, &format!("/admin/users?email=anne.{tag}@hk.no"), None).await;
    assert_eq!(status, 200);

    let out = app.cli(&["user", "import", &path], None).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("0 created, 4 already registered, 5 rejected"), "{text}");
    assert!(text.contains("line 4: email:"), "{text}");

    // A clean file exits 0; a missing one exits 3 with the path in the message.
    std::fs::write(&file, format!("email\nfresh.{tag}@hk.no\n")).unwrap();
    let out = app.cli(&["user", "import", &path, "--json"], None).await;
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let out = app.cli(&["user", "import", "/no/such/file.csv"], None).await;
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/no/such/file.csv"));
}

async fn invitations_go_out_once_unless_resent(b: Backend) {
    let app = app(b).await;
    let mail = email();
    let (_, m) = call(&app, Method::POST, "/admin/users", Some(json!({"email": mail}))).await;
    let id = m["id"].as_str().unwrap().to_owned();
    assert!(m["invited_at"].is_null());
    let path = format!("/admin/users/{id}/invite");

    let (status, invited) = call(&app, Method::POST, &path, None).await;
    assert_eq!(status, 202, "{invited}");
    assert!(invited["invited_at"].is_i64());
    let received = app.mailbox.wait_for(&mail, 1).await;
    assert!(
        received.text.contains(&format!("{}/activate?email=", app.base)),
        "{}",
        received.text
    );

    let (status, err) = call(&app, Method::POST, &path, Some(json!({}))).await;
    assert_eq!(status, 409, "not twice by accident: {err}");
    assert!(err["error_description"].as_str().unwrap().contains("resend"));
    let (status, _) = call(&app, Method::POST, &path, Some(json!({"resend": true}))).await;
    assert_eq!(status, 202);
    app.mailbox.wait_for(&mail, 2).await;

    let (status, _) = call(&app, Method::POST, &path, Some(json!({"resend": "yes"}))).await;
    assert_eq!(status, 400);
    let (status, _) = call(&app, Method::POST, "/admin/users/nobody/invite", None).await;
    assert_eq!(status, 404);
    // A disabled member gets no invitation.
    call(
        &app,
        Method::PATCH,
        &format!("/admin/users/{id}"),
        Some(json!({"disabled": true})),
    )
    .await;
    let (status, _) = call(&app, Method::POST, &path, Some(json!({"resend": true}))).await;
    assert_eq!(status, 400);
    assert_eq!(app.mailbox.to(&mail).len(), 2);

    // --all-pending through the CLI: only those not invited yet, once.
    let (a, c) = (email(), email());
    for e in [&a, &c] {
        call(&app, Method::POST, "/admin/users", Some(json!({"email": e}))).await;
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

async fn the_audit_trail_records_every_action_without_secrets(b: Backend) {
    let app = app(b).await;
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    // Admin actions: a member created, changed, invited; a client registered, rotated, deleted.
    let mail = email();
    let (_, m) = call(&app, Method::POST, "/admin/users", Some(json!({"email": mail}))).await;
    let id = m["id"].as_str().unwrap().to_owned();
    call(
        &app,
        Method::PATCH,
        &format!("/admin/users/{id}"),
        Some(json!({"name": "Kari"})),
    )
    .await;
    call(&app, Method::POST, &format!("/admin/users/{id}/invite"), None).await;
    let (_, reg) = call(
        &app,
        Method::POST,
        "/register",
        Some(json!({"redirect_uris": [REDIRECT]})),
    )
    .await;
    let client_id = reg["client_id"].as_str().unwrap().to_owned();
    let rat = reg["registration_access_token"].as_str().unwrap().to_owned();
    let mut update = reg.clone();
    for k in [
        "registration_access_token",
        "registration_client_uri",
        "client_secret_expires_at",
        "client_id_issued_at",
        "client_secret",
    ] {
        update.as_object_mut().unwrap().remove(k);
    }
    update["rotate_secret"] = json!(true);
    let config = reqwest::Client::new();
    let rotated: Value = config
        .put(reg["registration_client_uri"].as_str().unwrap())
        .bearer_auth(&rat)
        .json(&update)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new_secret = rotated["client_secret"].as_str().unwrap().to_owned();

    // Member actions: code sent and activation (the password set).
    let browser = app.new_browser();
    let (status, step2) = app.ask_code(&browser, ACTIVATE, "", &mail).await;
    assert_eq!(status, 200);
    let code = app.mailbox.wait_for(&mail, 2).await.code();
    let resp = app
        .set_password(&browser, ACTIVATE, &step2, &code, NEW_PASSWORD, NEW_PASSWORD)
        .await;
    assert!(resp.status().is_redirection() || resp.status() == 200);
    let member_id = app.services.provider.member_by_email(&mail).await.unwrap().id;
    assert!(app.services.provider.member_by_email(&mail).await.unwrap().is_active());
    // A failed login, then a login through a client; its refresh token revoked.
    let client = app.client().await;
    let (verifier, challenge) = crate::helpers::pkce();
    let browser = app.new_browser();
    let login = crate::helpers::location(
        &browser
            .get(app.authorize_url(&client, &challenge, &[]))
            .send()
            .await
            .unwrap(),
    );
    let wrong = app
        .post_login(&browser, &login, &mail, "not the password at all, sorry")
        .await;
    assert_ne!(wrong.status(), 303);
    let loc = app.submit_login(&browser, &login, &mail, NEW_PASSWORD).await;
    let code_param = crate::helpers::query_param(&loc, "code").unwrap_or_else(|| panic!("no code in {loc}"));
    let tokens = app.redeem(&client, &code_param, &verifier).await;
    let refresh = tokens["refresh_token"].as_str().expect("a refresh token").to_owned();
    let resp = reqwest::Client::new()
        .post(app.url("/revoke"))
        .basic_auth(&client.id, client.secret.as_deref())
        .form(&[("token", refresh.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // A forgotten password, set again (the third mail to this address).
    app.reset_password(&app.new_browser(), crate::otp_helpers::FORGOT, "", &mail, 3)
        .await;
    let resp = config
        .delete(reg["registration_client_uri"].as_str().unwrap())
        .bearer_auth(&rat)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);

    // Everything, a page of 3 at a time, newest first.
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/admin/audit?limit=3&cursor={c}"),
            None => "/admin/audit?limit=3".to_owned(),
        };
        let (status, page) = call(&app, Method::GET, &path, None).await;
        assert_eq!(status, 200, "{page}");
        let events = page["events"].as_array().unwrap().clone();
        assert!(events.len() <= 3);
        all.extend(events);
        match page["next"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let ats: Vec<i64> = all.iter().map(|e| e["at"].as_i64().unwrap()).collect();
    assert!(ats.windows(2).all(|w| w[0] >= w[1]), "newest first");
    let ids: std::collections::HashSet<&str> = all.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), all.len(), "pages do not overlap");
    let kinds: std::collections::HashSet<&str> = all.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    for k in [
        "member.created",
        "member.changed",
        "member.invited",
        "client.created",
        "client.secret_rotated",
        "client.deleted",
        "otp.sent",
        "member.activated",
        "password.reset",
        "login.failed",
        "login.succeeded",
        "token.family_revoked",
    ] {
        assert!(kinds.contains(k), "{k} missing from {kinds:?}");
    }
    // Who and from where.
    let by_kind = |k: &str| all.iter().find(|e| e["kind"] == k).unwrap().clone();
    assert!(
        by_kind("member.changed")["actor"]
            .as_str()
            .unwrap()
            .starts_with("admin:")
    );
    assert_eq!(by_kind("member.changed")["ip"], "127.0.0.1");
    assert_eq!(by_kind("login.failed")["actor"], format!("member:{member_id}"));
    assert_eq!(by_kind("login.failed")["ip"], "127.0.0.1");
    assert_eq!(by_kind("client.deleted")["actor"], format!("client:{client_id}"));

    // No secret anywhere.
    let dump = serde_json::to_string(&all).unwrap();
    for secret in [
        ADMIN,
        rat.as_str(),
        new_secret.as_str(),
        refresh.as_str(),
        NEW_PASSWORD,
        "not the password at all, sorry",
        tokens["access_token"].as_str().unwrap(),
    ] {
        assert!(!dump.contains(secret), "a secret in the audit trail");
    }
    assert!(
        all.iter()
            .all(|e| !e["detail"].as_str().unwrap_or_default().contains(&code)),
        "no code"
    );

    // Filters: member, kind family, time range; bad input is refused.
    let (_, mine) = call(
        &app,
        Method::GET,
        &format!("/admin/audit?member={member_id}&limit=1000"),
        None,
    )
    .await;
    let mine = mine["events"].as_array().unwrap();
    assert!(mine.iter().all(|e| e["member_id"] == member_id.as_str()));
    assert!(mine.iter().any(|e| e["kind"] == "login.succeeded"));
    let (_, logins) = call(&app, Method::GET, "/admin/audit?kind=login.&limit=1000", None).await;
    let logins = logins["events"].as_array().unwrap();
    assert!(logins.len() >= 2 && logins.iter().all(|e| e["kind"].as_str().unwrap().starts_with("login.")));
    let (_, none) = call(
        &app,
        Method::GET,
        &format!("/admin/audit?until={started}&limit=1000"),
        None,
    )
    .await;
    assert_eq!(
        none["events"].as_array().unwrap().len(),
        0,
        "nothing before the test began"
    );
    let (_, since) = call(
        &app,
        Method::GET,
        &format!("/admin/audit?since={started}&limit=1000"),
        None,
    )
    .await;
    assert_eq!(since["events"].as_array().unwrap().len(), all.len());
    for bad in [
        "limit=0",
        "limit=5000",
        "since=yesterday",
        "cursor=nonsense",
        "kind=%25",
        "colour=blue",
    ] {
        let (status, err) = call(&app, Method::GET, &format!("/admin/audit?{bad}"), None).await;
        assert_eq!(status, 400, "{bad}: {err}");
        assert_eq!(err["error"], "invalid_request");
    }

    // The CLI reads the same trail.
    let out = app
        .cli(&["audit", "--email", &mail, "--kind", "login.", "--json"], None)
        .await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let page: Value = serde_json::from_slice(&out.stdout).unwrap();
    let kinds: Vec<&str> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"login.failed") && kinds.contains(&"login.succeeded"),
        "{kinds:?}"
    );
    let out = app.cli(&["audit", "--kind", "member."], None).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("member.created") && text.contains("admin:"), "{text}");
}

/// PostgreSQL text cannot hold NUL; such keys must answer as unknown, not 5xx.
async fn a_nul_byte_in_a_key_is_bad_input_not_a_server_error(b: Backend) {
    let app = app(b).await;
    for (method, path, want) in [
        (Method::GET, "/admin/audit?member=%00", 200),
        (Method::PATCH, "/admin/users/a%00b", 404),
        (Method::DELETE, "/admin/users/a%00b", 404),
        (Method::POST, "/admin/users/a%00b/invite", 404),
        (Method::GET, "/register/a%00b", 401),
        (Method::DELETE, "/register/a%00b", 401),
    ] {
        let body = (method == Method::PATCH).then(|| json!({"name": "Kari"}));
        let (status, v) = call(&app, method.clone(), path, body).await;
        assert_eq!(status, want, "{method} {path}: {v}");
    }
    let resp = app
        .browser
        .get(app.url("/authorize?client_id=a%00b&response_type=code&redirect_uri=https://rp.example/cb&scope=openid"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400, "an unknown client, said on a page");
    let resp = reqwest::Client::new()
        .post(app.url("/token"))
        .basic_auth("a\0b", Some("x"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

/// Every command has --help; the member and client commands work on the
/// server's own database and answer with the documented exit codes.
async fn cli_manages_members_and_clients(b: Backend) {
    let app = app(b).await;
    for cmd in [
        &["--help"][..],
        &["user", "--help"],
        &["user", "add", "--help"],
        &["user", "import", "--help"],
        &["user", "invite", "--help"],
        &["user", "show", "--help"],
        &["user", "change", "--help"],
        &["user", "remove", "--help"],
        &["client", "--help"],
        &["client", "create", "--help"],
        &["client", "list", "--help"],
        &["client", "show", "--help"],
        &["client", "delete", "--help"],
        &["keys", "rotate", "--help"],
        &["audit", "--help"],
        &["migrate", "--help"],
        &["demo", "--help"],
    ] {
        let out = app.cli(cmd, None).await;
        assert!(out.status.success(), "{cmd:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("Usage:"), "{cmd:?}");
    }
    let help = String::from_utf8_lossy(&app.cli(&["--help"], None).await.stdout).into_owned();
    assert!(help.contains("Exit codes:"), "{help}");
    assert_eq!(app.cli(&["user", "frobnicate"], None).await.status.code(), Some(2));

    let mail = email();
    let out = app
        .cli(&["user", "add", "--email", &mail, "--name", "Kari", "--json"], None)
        .await;
    assert!(out.status.success());
    let added: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(added["status"], "pending");
    assert_eq!(
        app.cli(&["user", "add", "--email", &mail.to_uppercase()], None)
            .await
            .status
            .code(),
        Some(5)
    );
    let bad = app.cli(&["user", "add", "--email", "not-an-address"], None).await;
    assert_eq!(bad.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("email"));
    let bad = app
        .cli(&["user", "add", "--email", &email(), "--org-number", "123456789"], None)
        .await;
    assert_eq!(bad.status.code(), Some(3));

    let out = app
        .cli(
            &[
                "user",
                "change",
                "--email",
                &mail,
                "--org-number",
                "971274042",
                "--disable",
                "--json",
            ],
            None,
        )
        .await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let changed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (changed["status"].as_str(), changed["org_number"].as_str()),
        (Some("disabled"), Some("971274042"))
    );
    let (_, seen) = call(&app, Method::GET, &format!("/admin/users?email={mail}"), None).await;
    assert_eq!(seen["status"], "disabled", "the server sees the CLI's change");
    let out = app
        .cli(
            &["user", "change", "--email", &mail, "--enable", "--name", "", "--json"],
            None,
        )
        .await;
    let changed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(changed["status"], "pending");
    assert!(changed["name"].is_null());
    let out = app.cli(&["user", "show", "--email", &mail, "--json"], None).await;
    assert_eq!(serde_json::from_slice::<Value>(&out.stdout).unwrap()["id"], added["id"]);
    assert!(
        app.cli(&["user", "remove", "--email", &mail], None)
            .await
            .status
            .success()
    );
    assert_eq!(
        app.cli(&["user", "show", "--email", &mail], None).await.status.code(),
        Some(4)
    );

    let out = app
        .cli(
            &[
                "client",
                "create",
                "--name",
                "Portalen",
                "--redirect-uri",
                "https://portal.hk.no/cb",
                "--contact",
                "drift@hk.no",
                "--json",
            ],
            None,
        )
        .await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = created["client_id"].as_str().unwrap().to_owned();
    assert!(created["client_secret"].is_string() && created["registration_access_token"].is_string());
    let out = app.cli(&["client", "list", "--json"], None).await;
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let listed = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client_id"] == id.as_str())
        .unwrap();
    assert!(listed.get("client_secret").is_none() && listed.get("registration_access_token").is_none());
    assert_eq!(listed["contacts"], json!(["drift@hk.no"]));
    // The registration access token the CLI printed works at the configuration endpoint.
    let resp = reqwest::Client::new()
        .get(created["registration_client_uri"].as_str().unwrap())
        .bearer_auth(created["registration_access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let bad = app
        .cli(
            &[
                "client",
                "create",
                "--name",
                "X",
                "--redirect-uri",
                "http://portal.hk.no/cb",
            ],
            None,
        )
        .await;
    assert_eq!(bad.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("redirect_uris"));
    assert!(app.cli(&["client", "delete", &id], None).await.status.success());
    assert_eq!(app.cli(&["client", "show", &id], None).await.status.code(), Some(4));
    assert_eq!(app.cli(&["client", "delete", &id], None).await.status.code(), Some(4));
}
