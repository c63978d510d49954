//! The member registry over the admin API: create, look up, change, delete;
//! the admin token guards every route; disabling or deleting a member stops
//! their tokens and sessions at once.

use crate::on_both;
use crate::support::{ADMIN, Backend, TestApp, email, pkce, query_param};
use figment::providers::Serialized;
use reqwest::Method;
use serde_json::{Value, json};

on_both!(
    every_admin_route_needs_the_admin_token,
    members_are_created_found_changed_and_deleted,
    disabling_or_deleting_a_member_stops_their_tokens_at_once,
);

const SECOND: &str = "second-admin-token-for-a-script-42";

async fn app(b: Backend) -> TestApp {
    TestApp::start_with(b, |f| {
        f.merge(Serialized::default("admin.token", ADMIN))
            .merge(Serialized::default("admin.tokens", vec![SECOND]))
    })
    .await
}

async fn every_admin_route_needs_the_admin_token(b: Backend) {
    let app = app(b).await;
    let routes = [
        (Method::POST, "/admin/users"),
        (Method::GET, "/admin/users?email=a@hk.no"),
        (Method::PATCH, "/admin/users/x"),
        (Method::DELETE, "/admin/users/x"),
        (Method::POST, "/admin/users/import"),
        (Method::POST, "/admin/users/x/invite"),
        (Method::GET, "/admin/audit"),
        (Method::POST, "/register"),
    ];
    for (method, path) in routes {
        for token in [None, Some("wrong"), Some(&ADMIN[..ADMIN.len() - 1])] {
            let mut req = reqwest::Client::new()
                .request(method.clone(), app.url(path))
                .json(&json!({"email": "a@hk.no"}));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status(), 401, "{method} {path} {token:?}");
            let challenge = resp.headers()["www-authenticate"].to_str().unwrap().to_owned();
            // RFC 6750 §3.1: an error code only when a token was sent.
            match token {
                None => assert_eq!(challenge, "Bearer realm=\"hk-idp\""),
                Some(_) => assert!(challenge.contains("error=\"invalid_token\""), "{challenge}"),
            }
            let v: Value = resp.json().await.unwrap();
            assert_eq!(v["error"], "invalid_token");
        }
    }
}

async fn members_are_created_found_changed_and_deleted(b: Backend) {
    let app = app(b).await;
    let addr = email();
    let (status, m) = app
        .admin(
            Method::POST,
            "/admin/users",
            Some(json!({"email": format!("  {}  ", addr.to_uppercase()), "name": "Kari Nordmann", "org_number": "971 274 042", "org_name": "HK"})),
        )
        .await;
    assert_eq!(status, 201, "{m}");
    assert_eq!(m["email"], addr.as_str(), "trimmed and lower-cased");
    assert_eq!(m["status"], "pending");
    assert_eq!(m["org_number"], "971274042");
    assert!(m.get("password_hash").is_none());
    let id = m["id"].as_str().unwrap().to_owned();

    let (status, e) = app
        .admin(
            Method::POST,
            "/admin/users",
            Some(json!({"email": addr.to_uppercase()})),
        )
        .await;
    assert_eq!((status, e["error"].as_str()), (409, Some("invalid_request")), "{e}");
    for (body, field) in [
        (json!({"email": "not-an-email"}), "e-mail"),
        (json!({"email": email(), "org_number": "971274043"}), "org_number"),
        (json!({"email": email(), "colour": "red"}), "colour"),
        (json!({"name": "no e-mail"}), "email"),
    ] {
        let (status, e) = app.admin(Method::POST, "/admin/users", Some(body.clone())).await;
        assert_eq!(status, 400, "{body}");
        assert!(e["error_description"].as_str().unwrap().contains(field), "{body}: {e}");
    }

    let (status, found) = app
        .admin(
            Method::GET,
            &format!("/admin/users?email={}", addr.to_uppercase()),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(found["id"], id.as_str());
    let (status, _) = app
        .admin(Method::GET, &format!("/admin/users?email={}", email()), None)
        .await;
    assert_eq!(status, 404);

    let (status, changed) = app
        .admin(
            Method::PATCH,
            &format!("/admin/users/{id}"),
            Some(json!({"name": "Kari N.", "org_name": null})),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["name"], "Kari N.");
    assert_eq!(changed["org_name"], Value::Null);
    assert_eq!(changed["org_number"], "971274042", "untouched");
    let (status, e) = app
        .admin(
            Method::PATCH,
            &format!("/admin/users/{id}"),
            Some(json!({"email": "x@hk.no"})),
        )
        .await;
    assert_eq!(status, 400, "{e}");
    let (status, _) = app
        .admin(Method::PATCH, "/admin/users/nobody", Some(json!({"name": "x"})))
        .await;
    assert_eq!(status, 404);

    let (status, _) = app.admin(Method::DELETE, &format!("/admin/users/{id}"), None).await;
    assert_eq!(status, 204);
    let (status, _) = app
        .admin(Method::GET, &format!("/admin/users?email={addr}"), None)
        .await;
    assert_eq!(status, 404);
    let (status, _) = app.admin(Method::DELETE, &format!("/admin/users/{id}"), None).await;
    assert_eq!(status, 404);

    // A second token works too, and the audit trail tells the tokens apart without holding them.
    let resp = reqwest::Client::new()
        .post(app.url("/admin/users"))
        .bearer_auth(SECOND)
        .json(&json!({"email": email()}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let (status, page) = app
        .admin(Method::GET, "/admin/audit?kind=member.&limit=1000", None)
        .await;
    assert_eq!(status, 200);
    let events = page["events"].as_array().unwrap();
    let actors: std::collections::BTreeSet<&str> = events.iter().map(|e| e["actor"].as_str().unwrap()).collect();
    assert_eq!(actors.len(), 2, "{actors:?}");
    assert!(
        actors.iter().all(|a| a.starts_with("admin:") && a.len() == 14),
        "{actors:?}"
    );
    let dump = format!("{events:?}");
    assert!(
        !dump.contains(ADMIN) && !dump.contains(SECOND),
        "no token in the audit trail"
    );
}

async fn disabling_or_deleting_a_member_stops_their_tokens_at_once(b: Backend) {
    let app = app(b).await;
    let client = app.client().await;
    for action in ["disable", "delete"] {
        let addr = email();
        let id = app.member(&addr).await;
        let browser = app.new_browser();
        let (verifier, challenge) = pkce();
        let code = app.code_for(&browser, &client, &challenge, &addr).await;
        let tokens = app.redeem(&client, &code, &verifier).await;
        let access = tokens["access_token"].as_str().unwrap().to_owned();
        let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
        assert_eq!(app.userinfo_status(&access).await, 200);
        let (status, _) = match action {
            "disable" => {
                app.admin(
                    Method::PATCH,
                    &format!("/admin/users/{id}"),
                    Some(json!({"disabled": true})),
                )
                .await
            }
            _ => app.admin(Method::DELETE, &format!("/admin/users/{id}"), None).await,
        };
        assert!(status == 200 || status == 204, "{action}");
        assert_eq!(app.userinfo_status(&access).await, 401, "{action}: access token");
        let r = app
            .token_request(&client, &[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
            .await;
        assert_eq!(r.status(), 400, "{action}: refresh token");
        let (_, challenge) = pkce();
        let silent = browser
            .get(app.authorize_url(&client, &challenge, &[("prompt", "none")]))
            .send()
            .await
            .unwrap();
        let loc = crate::support::location(&silent);
        assert_eq!(
            query_param(&loc, "error").as_deref(),
            Some("login_required"),
            "{action}: SSO session"
        );
        if action == "disable" {
            // Enabling again restores the member, who logs in with the same password.
            let (status, m) = app
                .admin(
                    Method::PATCH,
                    &format!("/admin/users/{id}"),
                    Some(json!({"disabled": false})),
                )
                .await;
            assert_eq!((status, m["status"].as_str()), (200, Some("active")));
            // The member checks pass again: only the revocation itself still
            // refuses the tokens issued before the disable.
            assert_eq!(
                app.userinfo_status(&access).await,
                401,
                "the old access token stays revoked"
            );
            let r = app
                .token_request(&client, &[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
                .await;
            let body: serde_json::Value = r.json().await.unwrap();
            assert_eq!(body["error"], "invalid_grant", "the old refresh token stays revoked");
        }
    }
}
