//! What one node is told holds on every node: a logout, a member disabled,
//! a password reset at once (sessions and revocations live in Redis), a
//! deleted client within `clients.cache_ttl` (the nodes' client cache).

use crate::in_topology;
use crate::support::cluster::{Cluster, served_by};
use crate::support::otp::FORGOT;
use crate::support::otp::NEW_PASSWORD;
use crate::support::{PASSWORD, TestClient, email, location, pkce, query_param};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

in_topology!(
    a_logout_at_one_node_ends_the_session_at_every_node,
    a_member_disabled_at_one_node_is_refused_at_every_node,
    a_password_reset_at_one_node_voids_what_came_before_at_every_node,
    a_deleted_client_is_refused_at_every_node_within_the_client_cache_lifetime,
);

/// A person signed in through the proxy: their browser and tokens.
struct SignedIn {
    browser: reqwest::Client,
    tokens: Value,
}

async fn sign_in(c: &Cluster, client: &TestClient, mail: &str) -> SignedIn {
    let browser = c.browser_from("127.0.0.2");
    let (verifier, challenge) = pkce();
    let code = c.code_for(&browser, client, &challenge, mail).await;
    let tokens = c.redeem(client, &code, &verifier).await;
    SignedIn { browser, tokens }
}

impl SignedIn {
    fn access(&self) -> &str {
        self.tokens["access_token"].as_str().unwrap()
    }

    fn refresh(&self) -> &str {
        self.tokens["refresh_token"].as_str().unwrap()
    }
}

/// At every node: the access token is refused, the refresh token is
/// refused, and the browser's SSO session is gone (`prompt=none`).
async fn refused_everywhere(c: &Cluster, client: &TestClient, s: &SignedIn, what: &str) {
    for i in 0..3 {
        assert_eq!(
            c.userinfo_at(i, s.access()).await,
            401,
            "{what}: access token at node {i}"
        );
        let (status, body) = c
            .token_at(
                i,
                client,
                &[("grant_type", "refresh_token"), ("refresh_token", s.refresh())],
            )
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{what}: refresh at node {i}"
        );
        c.steer_to(i).await;
        let (_, challenge) = pkce();
        let silent = s
            .browser
            .get(c.authorize_url(client, &challenge, &[("prompt", "none")]))
            .send()
            .await
            .unwrap();
        assert_eq!(served_by(&silent), [c.node(i).addr]);
        assert_eq!(
            query_param(&location(&silent), "error").as_deref(),
            Some("login_required"),
            "{what}: SSO session at node {i}"
        );
    }
}

/// The status of a login with `password` whose form post node `i` answers.
async fn login_status_at(c: &Cluster, i: usize, client: &TestClient, mail: &str, password: &str) -> u16 {
    let browser = c.new_browser();
    let (_, challenge) = pkce();
    let login = location(
        &browser
            .get(c.authorize_url(client, &challenge, &[]))
            .send()
            .await
            .unwrap(),
    );
    // The login page takes one request; the post goes to node `i`.
    c.steer_to((i + 2) % 3).await;
    let r = c.post_login(&browser, &login, mail, password).await;
    assert_eq!(served_by(&r), [c.node(i).addr]);
    r.status().as_u16()
}

async fn a_logout_at_one_node_ends_the_session_at_every_node() {
    let c = Cluster::start(3, &[]).await;
    let mail = email();
    c.member(&mail).await;
    let client = c.client().await;
    let s = sign_in(&c, &client, &mail).await;
    c.steer_to(0).await;
    let hint = s.tokens["id_token"].as_str().unwrap();
    let out = s
        .browser
        .get(c.url(&format!("/logout?id_token_hint={hint}")))
        .send()
        .await
        .unwrap();
    assert_eq!(served_by(&out), [c.node(0).addr]);
    assert!(out.text().await.unwrap().contains("Du er logget ut"));
    refused_everywhere(&c, &client, &s, "logout").await;
}

async fn a_member_disabled_at_one_node_is_refused_at_every_node() {
    let c = Cluster::start(3, &[]).await;
    let mail = email();
    let id = c.member(&mail).await;
    let client = c.client().await;
    let s = sign_in(&c, &client, &mail).await;
    c.steer_to(1).await;
    let (status, _) = c
        .admin(
            Method::PATCH,
            &format!("/admin/users/{id}"),
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(status, 200);
    refused_everywhere(&c, &client, &s, "disabled").await;
    for i in 0..3 {
        assert_ne!(
            login_status_at(&c, i, &client, &mail, PASSWORD).await,
            303,
            "login at node {i}"
        );
    }
}

async fn a_password_reset_at_one_node_voids_what_came_before_at_every_node() {
    let c = Cluster::start(3, &[]).await;
    let mail = email();
    c.member(&mail).await;
    let client = c.client().await;
    let s = sign_in(&c, &client, &mail).await;
    // The reset's pages and form posts go round the nodes as they come.
    c.reset_password(&c.new_browser(), FORGOT, "", &mail, 1).await;
    refused_everywhere(&c, &client, &s, "reset").await;
    for i in 0..3 {
        assert_ne!(
            login_status_at(&c, i, &client, &mail, PASSWORD).await,
            303,
            "old password at node {i}"
        );
        assert_eq!(
            login_status_at(&c, i, &client, &mail, NEW_PASSWORD).await,
            303,
            "new password at node {i}"
        );
    }
}

async fn a_deleted_client_is_refused_at_every_node_within_the_client_cache_lifetime() {
    let c = Cluster::start(3, &[]).await;
    let mail = email();
    c.member(&mail).await;
    let client = c.client().await;
    let s = sign_in(&c, &client, &mail).await;
    let credentials = [("grant_type", "client_credentials")];
    for i in 0..3 {
        // Every node has the client in its cache.
        assert_eq!(c.token_at(i, &client, &credentials).await.0, 200);
    }
    // The operator deletes it with the command, as a change made elsewhere.
    let out = c.cli(&["client", "delete", &client.id], None).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let deleted = Instant::now();
    // What was issued to it is refused everywhere at once.
    for i in 0..3 {
        assert_eq!(c.userinfo_at(i, s.access()).await, 401, "access token at node {i}");
    }
    // The client itself, within clients.cache_ttl (5 s) on every node.
    let mut refused_after = [None; 3];
    while refused_after.iter().any(Option::is_none) {
        for (i, after) in refused_after.iter_mut().enumerate() {
            if after.is_none() && c.token_at(i, &client, &credentials).await.0 == 401 {
                *after = Some(deleted.elapsed());
            }
        }
        assert!(deleted.elapsed() < Duration::from_secs(6), "{refused_after:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for i in 0..3 {
        let (status, body) = c.token_at(i, &client, &credentials).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client")),
            "node {i}"
        );
    }
    let slowest = refused_after.iter().flatten().max().unwrap();
    assert!(
        *slowest > Duration::from_secs(3),
        "a node kept it from its cache: {refused_after:?}"
    );
}
