//! Dynamic client registration (RFC 7591) behind the admin token; a client
//! registered this way logs a person in with the openidconnect RP.

use crate::helpers::{Backend, TestApp, TestClient, email};
use crate::on_both;
use crate::rp::RelyingParty;
use figment::providers::Serialized;
use serde_json::{Value, json};

on_both!(
    registered_client_completes_a_login,
    registration_refuses_bad_metadata_and_bad_tokens
);

const ADMIN: &str = "admin-token-for-tests-0123456789";

async fn app(b: Backend) -> TestApp {
    TestApp::start_with(b, |f| f.merge(Serialized::default("admin.token", ADMIN))).await
}

async fn register(app: &TestApp, token: Option<&str>, body: Value) -> reqwest::Response {
    let mut req = reqwest::Client::new().post(app.url("/register")).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

async fn registered_client_completes_a_login(b: Backend) {
    let app = app(b).await;
    let resp = register(
        &app,
        Some(ADMIN),
        json!({"client_name": "Bedriftsportalen", "redirect_uris": [crate::helpers::REDIRECT],
               "grant_types": ["authorization_code", "refresh_token"], "id_token_signed_response_alg": "ES256",
               "logo_uri": "https://ignored.example/logo.png"}),
    )
    .await;
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let info: Value = resp.json().await.unwrap();
    assert_eq!(info["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(info["client_secret_expires_at"], 0);
    assert!(info["client_id_issued_at"].is_i64());
    let client = TestClient {
        id: info["client_id"].as_str().unwrap().into(),
        secret: Some(info["client_secret"].as_str().unwrap().into()),
    };
    let mail = email();
    app.member(&mail).await;
    let rp = RelyingParty::discover(&app, &client).await;
    let pending = rp.start(&["email"]);
    let callback = app.login_via(&app.browser, &pending.url, &mail).await;
    let (_, claims) = rp.finish(&app, pending, &callback).await;
    assert_eq!(claims.email().map(|e| e.as_str()), Some(mail.as_str()));
}

async fn registration_refuses_bad_metadata_and_bad_tokens(b: Backend) {
    let app = app(b).await;
    let ok = json!({"redirect_uris": ["https://rp.example/cb"]});
    for token in [None, Some("wrong"), Some("admin-token-for-tests-012345678")] {
        let resp = register(&app, token, ok.clone()).await;
        assert_eq!(resp.status(), 401, "{token:?}");
        assert!(
            resp.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer")
        );
    }
    let cases = [
        (json!({}), "invalid_redirect_uri", "redirect_uris"),
        (
            json!({"redirect_uris": ["http://rp.example/cb"]}),
            "invalid_redirect_uri",
            "redirect_uris",
        ),
        (
            json!({"redirect_uris": ["https://rp.example/cb#x"]}),
            "invalid_redirect_uri",
            "redirect_uris",
        ),
        (
            json!({"redirect_uris": ["cb"]}),
            "invalid_redirect_uri",
            "redirect_uris",
        ),
        (
            json!({"redirect_uris": ["https://rp.example/cb"], "response_types": ["id_token"]}),
            "invalid_client_metadata",
            "response_types",
        ),
        (
            json!({"redirect_uris": ["https://rp.example/cb"], "grant_types": ["implicit"]}),
            "invalid_client_metadata",
            "grant_types",
        ),
        (
            json!({"grant_types": ["client_credentials"], "response_types": [], "token_endpoint_auth_method": "none"}),
            "invalid_client_metadata",
            "grant_types",
        ),
        (
            json!({"redirect_uris": ["https://rp.example/cb"], "token_endpoint_auth_method": "private_key_jwt_x"}),
            "invalid_client_metadata",
            "token_endpoint_auth_method",
        ),
        (
            json!({"redirect_uris": ["https://rp.example/cb"], "id_token_signed_response_alg": "none"}),
            "invalid_client_metadata",
            "id_token_signed_response_alg",
        ),
        (
            json!({"redirect_uris": "https://rp.example/cb"}),
            "invalid_client_metadata",
            "metadata",
        ),
        (json!(["not", "an", "object"]), "invalid_client_metadata", "metadata"),
    ];
    for (body, error, field) in cases {
        let resp = register(&app, Some(ADMIN), body.clone()).await;
        assert_eq!(resp.status(), 400, "{body}");
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["error"], error, "{body}");
        assert!(v["error_description"].as_str().unwrap().contains(field), "{body}: {v}");
    }
    // Without an admin token configured, registration is off.
    let off = TestApp::start(b).await;
    assert_eq!(register(&off, Some(ADMIN), ok).await.status(), 401);
}
