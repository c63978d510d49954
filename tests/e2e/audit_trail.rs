//! The audit trail: every kind of action recorded with who and from where,
//! filters and paging over the API and the CLI, and no secret anywhere in it.

use crate::on_both;
use crate::support::otp::{ACTIVATE, NEW_PASSWORD};
use crate::support::{ADMIN, Backend, REDIRECT, TestApp, email};
use reqwest::Method;
use serde_json::{Value, json};

on_both!(
    the_audit_trail_records_every_action_without_secrets,
    each_event_carries_the_request_id_and_address_of_its_request,
);

/// An event found in the trail can be found in the logs and at the proxy:
/// it carries the request's `X-Request-Id` (the trusted proxy's) and the
/// person's own address, the same the response and the throttles saw.
async fn each_event_carries_the_request_id_and_address_of_its_request(b: Backend) {
    let app = TestApp::start_with(b, |f| {
        f.merge(figment::providers::Serialized::default("admin.token", ADMIN))
            .merge(figment::providers::Serialized::default(
                "server.trusted_proxies",
                "127.0.0.5",
            ))
    })
    .await;
    let mail = email();
    app.member(&mail).await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-forwarded-for", "198.51.100.7".parse().unwrap());
    headers.insert("x-request-id", "req-from-the-proxy-7".parse().unwrap());
    let proxied = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .local_address("127.0.0.5".parse::<std::net::IpAddr>().unwrap())
        .default_headers(headers)
        .build()
        .unwrap();
    let resp = app
        .post_login(&proxied, "/login", &mail, "feil passord her igjen")
        .await;
    assert_eq!(resp.headers()["x-request-id"], "req-from-the-proxy-7");
    // Straight from a person: the id the server made, as the response carried it.
    let direct = app
        .post_login(&app.new_browser(), "/login", &mail, "enda et feil passord")
        .await;
    let made = direct.headers()["x-request-id"].to_str().unwrap().to_owned();
    let (_, page) = app.admin(Method::GET, "/admin/audit?kind=login.failed", None).await;
    let events = page["events"].as_array().unwrap();
    let by_request = |id: &str| events.iter().find(|e| e["request_id"] == id).cloned();
    let proxied = by_request("req-from-the-proxy-7").unwrap_or_else(|| panic!("{page}"));
    assert_eq!(proxied["ip"], "198.51.100.7", "{proxied}");
    let direct = by_request(&made).unwrap_or_else(|| panic!("{made} in {page}"));
    assert_eq!(direct["ip"], "127.0.0.1", "{direct}");
}

async fn the_audit_trail_records_every_action_without_secrets(b: Backend) {
    let app = TestApp::start_admin(b).await;
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    // Admin actions: a member created, changed, invited; a client registered, rotated, deleted.
    let mail = email();
    let (_, m) = app
        .admin(Method::POST, "/admin/users", Some(json!({"email": mail})))
        .await;
    let id = m["id"].as_str().unwrap().to_owned();
    app.admin(
        Method::PATCH,
        &format!("/admin/users/{id}"),
        Some(json!({"name": "Kari"})),
    )
    .await;
    app.admin(Method::POST, &format!("/admin/users/{id}/invite"), None)
        .await;
    let (_, reg) = app
        .admin(Method::POST, "/register", Some(json!({"redirect_uris": [REDIRECT]})))
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
    let (verifier, challenge) = crate::support::pkce();
    let browser = app.new_browser();
    let login = crate::support::location(
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
    let code_param = crate::support::query_param(&loc, "code").unwrap_or_else(|| panic!("no code in {loc}"));
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
    app.reset_password(&app.new_browser(), crate::support::otp::FORGOT, "", &mail, 3)
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
        let (status, page) = app.admin(Method::GET, &path, None).await;
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
    let (_, mine) = app
        .admin(
            Method::GET,
            &format!("/admin/audit?member={member_id}&limit=1000"),
            None,
        )
        .await;
    let mine = mine["events"].as_array().unwrap();
    assert!(mine.iter().all(|e| e["member_id"] == member_id.as_str()));
    assert!(mine.iter().any(|e| e["kind"] == "login.succeeded"));
    let (_, logins) = app
        .admin(Method::GET, "/admin/audit?kind=login.&limit=1000", None)
        .await;
    let logins = logins["events"].as_array().unwrap();
    assert!(logins.len() >= 2 && logins.iter().all(|e| e["kind"].as_str().unwrap().starts_with("login.")));
    let (_, none) = app
        .admin(Method::GET, &format!("/admin/audit?until={started}&limit=1000"), None)
        .await;
    assert_eq!(
        none["events"].as_array().unwrap().len(),
        0,
        "nothing before the test began"
    );
    let (_, since) = app
        .admin(Method::GET, &format!("/admin/audit?since={started}&limit=1000"), None)
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
        let (status, err) = app.admin(Method::GET, &format!("/admin/audit?{bad}"), None).await;
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
