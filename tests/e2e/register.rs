//! Dynamic client registration (RFC 7591) behind the admin token; a client
//! registered this way logs a person in with the openidconnect RP.

use crate::on_both;
use crate::support::rp::RelyingParty;
use crate::support::{ADMIN, Backend, TestApp, TestClient, email};
use serde_json::{Value, json};

on_both!(
    registered_client_completes_a_login,
    registration_refuses_bad_metadata_and_bad_tokens,
    registration_is_read_replaced_and_deleted_with_its_token,
);

async fn register(app: &TestApp, token: Option<&str>, body: Value) -> reqwest::Response {
    let mut req = reqwest::Client::new().post(app.url("/register")).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

async fn registered_client_completes_a_login(b: Backend) {
    let app = TestApp::start_admin(b).await;
    let resp = register(
        &app,
        Some(ADMIN),
        json!({"client_name": "Bedriftsportalen", "redirect_uris": [crate::support::REDIRECT],
               "grant_types": ["authorization_code", "refresh_token"], "id_token_signed_response_alg": "ES256",
               "logo_uri": "https://rp.example/logo.png", "client_uri": "https://rp.example/",
               "contacts": ["drift@hk.no"], "scope": "openid email profile", "software_id": "ignored"}),
    )
    .await;
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let info: Value = resp.json().await.unwrap();
    assert_eq!(info["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(info["client_secret_expires_at"], 0);
    assert!(info["client_id_issued_at"].is_i64());
    assert_eq!(info["logo_uri"], "https://rp.example/logo.png");
    assert_eq!(info["contacts"], json!(["drift@hk.no"]));
    assert_eq!(info["scope"], "openid email profile");
    assert!(info.get("software_id").is_none(), "unknown members are ignored");
    let id = info["client_id"].as_str().unwrap();
    assert_eq!(info["registration_client_uri"], app.url(&format!("/register/{id}")));
    assert!(info["registration_access_token"].as_str().unwrap().len() >= 32);
    // Neither secret is kept in the clear.
    let stored = app.services.provider.clients.find_client(id).await.unwrap().unwrap();
    for secret in ["client_secret", "registration_access_token"] {
        let s = info[secret].as_str().unwrap();
        assert_ne!(stored.secret_hash.as_deref(), Some(s));
        assert_ne!(stored.registration_token_hash.as_deref(), Some(s));
    }
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
    let app = TestApp::start_admin(b).await;
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
        (
            json!({"redirect_uris": ["https://rp.example/cb"], "grant_types": ["authorization_code", "client_credentials"], "token_endpoint_auth_method": "none"}),
            "invalid_client_metadata",
            "grant_types",
        ),
        (
            json!({"redirect_uris": ["https://rp.example/cb"], "scope": "openid phone"}),
            "invalid_client_metadata",
            "scope",
        ),
        (
            json!({"redirect_uris": ["https://rp.example/cb"], "scope": "email"}),
            "invalid_client_metadata",
            "scope",
        ),
        (
            json!({"redirect_uris": ["https://rp.example/cb"], "contacts": ["drift at hk.no"]}),
            "invalid_client_metadata",
            "contacts",
        ),
        (
            json!({"redirect_uris": ["https://rp.example/cb"], "logo_uri": "http://rp.example/logo.png"}),
            "invalid_client_metadata",
            "logo_uri",
        ),
        (
            json!({"redirect_uris": ["https://rp.example/cb"], "client_uri": "javascript:alert(1)"}),
            "invalid_client_metadata",
            "client_uri",
        ),
        (
            json!({"redirect_uris": ["https://rp.example/cb"], "initiate_login_uri": "http://portal.example/login"}),
            "invalid_client_metadata",
            "initiate_login_uri",
        ),
        (
            json!({"redirect_uris": ["https://rp.example/cb"], "post_logout_redirect_uris": ["https://rp.example/out#x"]}),
            "invalid_client_metadata",
            "post_logout_redirect_uris",
        ),
        (
            json!({"redirect_uris": ["https://rp.example/cb"], "client_name": "a\u{7}b"}),
            "invalid_client_metadata",
            "client_name",
        ),
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

async fn registration_is_read_replaced_and_deleted_with_its_token(b: Backend) {
    let app = TestApp::start_admin(b).await;
    let info: Value = register(
        &app,
        Some(ADMIN),
        json!({"client_name": "Medlemsappen", "redirect_uris": [crate::support::REDIRECT],
               "grant_types": ["authorization_code", "refresh_token"], "scope": "openid email profile offline_access"}),
    )
    .await
    .json()
    .await
    .unwrap();
    let other: Value = register(
        &app,
        Some(ADMIN),
        json!({"redirect_uris": ["https://other.example/cb"]}),
    )
    .await
    .json()
    .await
    .unwrap();
    let uri = info["registration_client_uri"].as_str().unwrap().to_owned();
    let rat = info["registration_access_token"].as_str().unwrap().to_owned();
    let http = reqwest::Client::new();

    // Read (§2.1): the metadata, no secret; any other token is 401.
    let read = http.get(&uri).bearer_auth(&rat).send().await.unwrap();
    assert_eq!(read.status(), 200);
    assert_eq!(read.headers()["cache-control"], "no-store");
    let read: Value = read.json().await.unwrap();
    assert_eq!(read["client_name"], "Medlemsappen");
    assert_eq!(read["registration_access_token"], rat.as_str());
    assert!(read.get("client_secret").is_none());
    let other_rat = other["registration_access_token"].as_str().unwrap();
    for token in [Some(other_rat), Some(ADMIN), Some("wrong"), None] {
        let mut req = http.get(&uri);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401, "{token:?}");
        assert!(
            resp.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer")
        );
        let resp = http
            .put(&uri)
            .bearer_auth(token.unwrap_or("x"))
            .json(&read)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401);
        let resp = http
            .delete(&uri)
            .bearer_auth(token.unwrap_or("x"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401);
    }
    let unknown = app.url("/register/no-such-client");
    assert_eq!(http.get(&unknown).bearer_auth(&rat).send().await.unwrap().status(), 401);

    // A login through the client, for tokens to revoke later.
    let first = TestClient {
        id: info["client_id"].as_str().unwrap().into(),
        secret: Some(info["client_secret"].as_str().unwrap().into()),
    };
    let mail = email();
    app.member(&mail).await;
    let (verifier, challenge) = crate::support::pkce();
    let code = app.code_for(&app.new_browser(), &first, &challenge, &mail).await;
    let tokens = app.redeem(&first, &code, &verifier).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    // Update (§2.2): full replacement, a new secret on request.
    let mut update = read.clone();
    for k in [
        "registration_access_token",
        "registration_client_uri",
        "client_id_issued_at",
        "client_secret_expires_at",
    ] {
        update.as_object_mut().unwrap().remove(k);
    }
    update["client_name"] = json!("Medlemsappen 2");
    update["redirect_uris"] = json!([crate::support::REDIRECT, "https://rp.example/cb2"]);
    update["rotate_secret"] = json!(true);
    let resp = http.put(&uri).bearer_auth(&rat).json(&update).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let updated: Value = resp.json().await.unwrap();
    assert_eq!(updated["client_name"], "Medlemsappen 2");
    assert_eq!(updated["redirect_uris"].as_array().unwrap().len(), 2);
    let new_secret = updated["client_secret"].as_str().expect("a new secret").to_owned();
    assert_ne!(Some(new_secret.as_str()), first.secret.as_deref());
    // Client authentication at the token endpoint, with a refresh token that is not one.
    let refresh_with = |secret: String| {
        let client = TestClient {
            id: first.id.clone(),
            secret: Some(secret),
        };
        let app = &app;
        async move {
            app.token_request(
                &client,
                &[("grant_type", "refresh_token"), ("refresh_token", "not-a-token")],
            )
            .await
            .status()
            .as_u16()
        }
    };
    assert_eq!(
        refresh_with(first.secret.clone().unwrap()).await,
        401,
        "the old secret stops working"
    );
    assert_eq!(
        refresh_with(new_secret.clone()).await,
        400,
        "the new one works (the token is wrong)"
    );

    // Full replacement: what is left out goes back to its default.
    let mut minimal = json!({"client_id": first.id, "redirect_uris": [crate::support::REDIRECT],
                             "grant_types": ["authorization_code", "refresh_token"]});
    let replaced: Value = http
        .put(&uri)
        .bearer_auth(&rat)
        .json(&minimal)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(replaced["client_name"], "Unnamed client");
    assert_eq!(
        replaced["scope"], "openid email profile offline_access",
        "a scope left out stays as the admin set it"
    );
    assert!(replaced.get("client_secret").is_none(), "no rotation unless asked");

    // The rules hold on update too, and a token holder cannot make the client first-party.
    for (body, status, error) in [
        (
            json!({"client_id": "someone-else", "redirect_uris": [crate::support::REDIRECT]}),
            400,
            "invalid_request",
        ),
        (
            json!({"redirect_uris": [crate::support::REDIRECT]}),
            400,
            "invalid_request",
        ),
        (
            json!({"client_id": first.id, "redirect_uris": ["http://rp.example/cb"]}),
            400,
            "invalid_redirect_uri",
        ),
        (
            json!({"client_id": first.id, "redirect_uris": [crate::support::REDIRECT], "first_party": true}),
            400,
            "invalid_client_metadata",
        ),
        (
            json!({"client_id": first.id, "redirect_uris": [crate::support::REDIRECT], "client_secret": "guess"}),
            400,
            "invalid_client_metadata",
        ),
        // Not wider than the admin registered it: grant types, scopes, the portal link.
        (
            json!({"client_id": first.id, "grant_types": ["client_credentials"], "response_types": []}),
            400,
            "invalid_client_metadata",
        ),
        (
            json!({"client_id": first.id, "redirect_uris": [crate::support::REDIRECT], "scope": "openid organization"}),
            400,
            "invalid_client_metadata",
        ),
        (
            json!({"client_id": first.id, "redirect_uris": [crate::support::REDIRECT], "initiate_login_uri": "https://evil.example/login"}),
            400,
            "invalid_client_metadata",
        ),
    ] {
        let resp = http.put(&uri).bearer_auth(&rat).json(&body).send().await.unwrap();
        assert_eq!(resp.status(), status, "{body}");
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["error"], error, "{body}: {v}");
    }
    minimal["client_secret"] = json!(new_secret);
    assert_eq!(
        http.put(&uri)
            .bearer_auth(&rat)
            .json(&minimal)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // Delete (§2.3): the client's tokens stop working at once, and so does the token.
    assert_eq!(app.userinfo_status(&access).await, 200);
    let resp = http.delete(&uri).bearer_auth(&rat).send().await.unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(app.userinfo_status(&access).await, 401, "the access token is revoked");
    let introspected: Value = http
        .post(app.url("/introspect"))
        .basic_auth(other["client_id"].as_str().unwrap(), other["client_secret"].as_str())
        .form(&[("token", refresh.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(introspected["active"], false, "the refresh token is revoked");
    let family = app
        .services
        .provider
        .refresh
        .find_token(&hk_idp_core::secret::hash_token(&refresh))
        .await
        .unwrap();
    if let Some(t) = family {
        let fam = app
            .services
            .provider
            .refresh
            .find_family(&t.family_id)
            .await
            .unwrap()
            .unwrap();
        assert!(fam.revoked, "the family is revoked in the database");
    }
    assert_eq!(http.get(&uri).bearer_auth(&rat).send().await.unwrap().status(), 401);
    assert_eq!(http.delete(&uri).bearer_auth(&rat).send().await.unwrap().status(), 401);
}
