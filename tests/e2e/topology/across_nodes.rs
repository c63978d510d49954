//! One person's flow spread over the nodes: the login page from one, the
//! form post to another, the token from a third — and the person's own
//! address and the proxy's request id reach the audit trail.

use crate::in_topology;
use crate::support::cluster::{Cluster, served_by};
use crate::support::rp::RelyingParty;
use crate::support::{PASSWORD, email, input_value, location};
use reqwest::Method;

in_topology!(a_code_flow_crosses_three_nodes);

async fn a_code_flow_crosses_three_nodes() {
    let c = Cluster::start(3, &[]).await;
    let mail = email();
    let sub = c.member(&mail).await;
    let client = c.client().await;
    let rp = RelyingParty::discover(&c, &client).await;
    let pending = rp.start(&["openid", "email"]);
    let browser = c.browser_from("127.0.0.2");
    let login = location(&browser.get(&pending.url).send().await.unwrap());
    assert!(login.starts_with("/login"), "{login}");

    c.steer_to(0).await;
    let page = browser.get(c.url(&login)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(served_by(&page), [c.node(0).addr], "the login page from node 0");
    let html = page.text().await.unwrap();
    let post = browser
        .post(c.url("/login"))
        .form(&[
            ("csrf_token", input_value(&html, "csrf_token").unwrap().as_str()),
            ("req", input_value(&html, "req").unwrap().as_str()),
            ("email", mail.as_str()),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 303);
    assert_eq!(served_by(&post), [c.node(1).addr], "the form post to node 1");
    let request_id = post.headers()["x-request-id"].to_str().unwrap().to_owned();
    let callback = location(&post);

    c.steer_to(2).await;
    let (tokens, claims) = rp.finish(&c, pending, &callback).await;
    assert_eq!(claims.subject().as_str(), sub);
    let token = c.hits("POST", "/token").await;
    assert_eq!(
        token.last().unwrap().upstreams,
        [c.node(2).addr],
        "the token from node 2: {token:?}"
    );
    assert_eq!(token.last().unwrap().status, 200);
    use openidconnect::OAuth2TokenResponse;
    assert_eq!(c.userinfo_status(tokens.access_token().secret()).await, 200);

    // The proxy's request id is the node's, and the audit trail has it with
    // the person's own address, not the proxy's.
    let logged = c.hits("POST", "/login").await;
    assert_eq!(logged.last().unwrap().request_id, request_id, "{logged:?}");
    let (_, trail) = c
        .admin(
            Method::GET,
            &format!("/admin/audit?member={sub}&kind=login.&limit=10"),
            None,
        )
        .await;
    let event = trail["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["request_id"] == request_id.as_str())
        .unwrap_or_else(|| panic!("{request_id} in {trail}"))
        .clone();
    assert_eq!(event["ip"], "127.0.0.2", "{event}");
}
