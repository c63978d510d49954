//! Bad input on every endpoint gets the protocol's error, never a 500, and
//! never changes anything.

use crate::on_both;
use crate::support::{Backend, REDIRECT, TestApp, TestClient, pkce};
use reqwest::Method;
use serde_json::{Value, json};

on_both!(
    token_endpoint_refuses_bad_input_in_oauth_format,
    no_endpoint_answers_500_to_garbage,
    repeated_authorization_parameters,
    a_nul_byte_in_a_key_is_bad_input_not_a_server_error,
);

async fn oauth_error(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not OAuth JSON: {text}"));
    assert!(v["error_description"].is_string(), "{text}");
    (status, v["error"].as_str().unwrap().to_owned())
}

async fn token_endpoint_refuses_bad_input_in_oauth_format(b: Backend) {
    let app = TestApp::start(b).await;
    let client = app.client().await;
    let big = "x".repeat(5000);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![], "invalid_request"),
        (vec![("grant_type", "authorization_code")], "invalid_request"),
        (
            vec![("grant_type", "authorization_code"), ("grant_type", "refresh_token")],
            "invalid_request",
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("code", "x"),
                ("code", "y"),
                ("redirect_uri", REDIRECT),
            ],
            "invalid_request",
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("code", &big),
                ("redirect_uri", REDIRECT),
            ],
            "invalid_request",
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("code", "nope"),
                ("redirect_uri", REDIRECT),
            ],
            "invalid_grant",
        ),
        (vec![("grant_type", "refresh_token")], "invalid_request"),
        (
            vec![("grant_type", "refresh_token"), ("refresh_token", "nope")],
            "invalid_grant",
        ),
        (
            vec![("grant_type", "urn:ietf:params:oauth:grant-type:device_code")],
            "unsupported_grant_type",
        ),
    ];
    for (form, expected) in cases {
        let (status, error) = oauth_error(app.token_request(&client, &form).await).await;
        assert_eq!((status, error.as_str()), (400, expected), "{form:?}");
    }
    let http = reqwest::Client::new();
    // Not a form.
    let r = http
        .post(app.url("/token"))
        .basic_auth(&client.id, client.secret.as_deref())
        .json(&serde_json::json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(oauth_error(r).await, (400, "invalid_request".into()));
    // No client authentication at all; malformed Basic; unknown client.
    let r = http
        .post(app.url("/token"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(oauth_error(r).await, (401, "invalid_client".into()));
    let r = http
        .post(app.url("/token"))
        .header("authorization", "Basic %%%")
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(oauth_error(r).await, (401, "invalid_client".into()));
    let ghost = TestClient {
        id: "ghost".into(),
        secret: Some("x".into()),
    };
    assert_eq!(
        oauth_error(app.token_request(&ghost, &[("grant_type", "client_credentials")]).await).await,
        (401, "invalid_client".into())
    );
    // Two authentication methods at once.
    let r = http
        .post(app.url("/token"))
        .basic_auth(&client.id, client.secret.as_deref())
        .form(&[("grant_type", "client_credentials"), ("client_secret", "also")])
        .send()
        .await
        .unwrap();
    assert_eq!(oauth_error(r).await, (400, "invalid_request".into()));
    // Oversized body.
    let huge = "a=".to_owned() + &"b".repeat(200_000);
    let r = http
        .post(app.url("/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
}

async fn no_endpoint_answers_500_to_garbage(b: Backend) {
    let app = TestApp::start(b).await;
    let client = app.client().await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let garbage = [
        "",
        "%",
        "%ZZ=%",
        "a=%FF%FE",
        "client_id=%00&redirect_uri=%00",
        "token=a.b.c&token_type_hint=x",
        "id_token_hint=eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.e30.",
        "access_token=eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
        "&&&===&&&",
    ];
    let paths = [
        "/authorize",
        "/token",
        "/userinfo",
        "/revoke",
        "/introspect",
        "/logout",
        "/login",
        "/.well-known/openid-configuration",
        "/jwks",
        "/nowhere",
    ];
    for path in paths {
        for g in garbage {
            for method in [Method::GET, Method::POST] {
                let mut req = if method == Method::GET {
                    http.get(format!("{}{path}?{g}", app.base))
                } else {
                    http.post(app.url(path))
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(g.to_owned())
                };
                if path == "/revoke" || path == "/introspect" {
                    req = req.basic_auth(&client.id, client.secret.as_deref());
                }
                let resp = req.send().await.unwrap();
                let status = resp.status().as_u16();
                let at = format!("{method} {path} {g:?} → {status}");
                assert!(status < 500, "{at}");
                let www_authenticate = resp.headers().get("www-authenticate").cloned();
                let body = resp.text().await.unwrap();
                match (path, method == Method::POST) {
                    // The protocol's error, in its format.
                    ("/token", true) => {
                        let v: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("{at}: {body}"));
                        let known = [
                            "invalid_request",
                            "invalid_client",
                            "invalid_grant",
                            "unsupported_grant_type",
                        ];
                        assert!(known.contains(&v["error"].as_str().unwrap_or("")), "{at}: {body}");
                    }
                    ("/introspect", true) => {
                        let v: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("{at}: {body}"));
                        assert!(v["active"] == false || v["error"] == "invalid_request", "{at}: {body}");
                    }
                    ("/revoke", true) => {
                        assert!(status == 200 || body.contains("invalid_request"), "{at}: {body}");
                    }
                    ("/userinfo", _) => {
                        assert_eq!(status, 401, "{at}: {body}");
                        let challenge = www_authenticate.unwrap_or_else(|| panic!("{at}: no challenge"));
                        assert!(challenge.to_str().unwrap().starts_with("Bearer"), "{at}");
                    }
                    // A page that cannot trust the request says so, in Norwegian.
                    ("/authorize", _) => {
                        assert_eq!(status, 400, "{at}");
                        assert!(body.contains("Noe gikk galt"), "{at}: {body}");
                    }
                    _ => {}
                }
            }
        }
    }
    // Values with control characters, very long and odd Unicode in the authorization request.
    let (_, ch) = pkce();
    for v in ["\u{0}", &"é".repeat(3000), "<script>alert(1)</script>", "\u{202e}x"] {
        for param in [
            "state",
            "nonce",
            "login_hint",
            "ui_locales",
            "max_age",
            "prompt",
            "scope",
        ] {
            let url = app.authorize_url(&client, &ch, &[(param, v)]);
            let resp = http.get(&url).send().await.unwrap();
            let at = format!("{param}={v:?} → {}", resp.status());
            assert!(resp.status().is_redirection(), "{at}");
            // The client is known: either the login page, or the protocol's
            // error back at the client (RFC 6749 §4.1.2.1).
            let loc = crate::support::location(&resp);
            let error = crate::support::query_param(&loc, "error");
            assert!(
                loc.starts_with("/login?req=")
                    || (loc.starts_with(REDIRECT)
                        && matches!(error.as_deref(), Some("invalid_request" | "invalid_scope"))),
                "{at}: {loc}"
            );
        }
    }
}

async fn repeated_authorization_parameters(b: Backend) {
    let app = TestApp::start(b).await;
    let client = app.client().await;
    let (_, ch) = pkce();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // A repeated client_id cannot be trusted: a page.
    let url = format!("{}&client_id=other", app.authorize_url(&client, &ch, &[]));
    assert_eq!(http.get(&url).send().await.unwrap().status(), 400);
    // Any other repeated parameter: invalid_request back to the client.
    for p in ["scope=openid", "response_type=code", "code_challenge=abc", "nonce=x"] {
        let url = format!("{}&{p}", app.authorize_url(&client, &ch, &[]));
        let resp = http.get(&url).send().await.unwrap();
        let loc = crate::support::location(&resp);
        assert!(loc.starts_with(REDIRECT), "{p}: {loc}");
        assert_eq!(
            crate::support::query_param(&loc, "error").as_deref(),
            Some("invalid_request"),
            "{p}"
        );
    }
}

/// PostgreSQL text cannot hold NUL; such keys must answer as unknown, not 5xx.
async fn a_nul_byte_in_a_key_is_bad_input_not_a_server_error(b: Backend) {
    let app = TestApp::start_admin(b).await;
    for (method, path, want) in [
        (Method::GET, "/admin/audit?member=%00", 200),
        (Method::PATCH, "/admin/users/a%00b", 404),
        (Method::DELETE, "/admin/users/a%00b", 404),
        (Method::POST, "/admin/users/a%00b/invite", 404),
        (Method::GET, "/register/a%00b", 401),
        (Method::DELETE, "/register/a%00b", 401),
    ] {
        let body = (method == Method::PATCH).then(|| json!({"name": "Kari"}));
        let (status, v) = app.admin(method.clone(), path, body).await;
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
