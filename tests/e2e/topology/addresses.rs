//! Each person's own address, as nginx forwards it, reaches the throttles
//! of every node (the counters are in Redis) and the audit trail; an
//! `X-Forwarded-For` a person sends themselves buys nothing.

use crate::in_topology;
use crate::support::cluster::{Cluster, served_by};
use crate::support::{PASSWORD, TestClient, email, location, pkce};
use reqwest::Method;
use std::collections::HashSet;

in_topology!(each_persons_own_address_reaches_the_throttles_of_every_node);

/// A login from `browser` through the proxy: its status and the node that
/// answered the form post.
async fn login(c: &Cluster, client: &TestClient, browser: &reqwest::Client, who: &str, password: &str) -> (u16, usize) {
    let (_, challenge) = pkce();
    let path = location(
        &browser
            .get(c.authorize_url(client, &challenge, &[]))
            .send()
            .await
            .unwrap(),
    );
    let r = c.post_login(browser, &path, who, password).await;
    (r.status().as_u16(), c.proxy.node_of(served_by(&r)[0]))
}

async fn each_persons_own_address_reaches_the_throttles_of_every_node() {
    let c = Cluster::start(3, &[("IDP_LOGIN__ADDRESS_FREE_FAILURES", "3")]).await;
    let client = c.client().await;
    let kari = email();
    let kari_id = c.member(&kari).await;

    // A guesser at 127.0.0.2, a fresh e-mail each time, whose tries go
    // round the three nodes, and who names another address each time.
    let mut nodes = HashSet::new();
    for n in 0..4 {
        let guesser = c.browser_via("127.0.0.2", &format!("192.0.2.{n}"));
        c.steer_to(n % 3).await;
        let (status, node) = login(&c, &client, &guesser, &email(), "feil passord her").await;
        assert_ne!(status, 303);
        nodes.insert(node);
    }
    assert_eq!(nodes.len(), 3, "the tries were spread over every node");
    let mut refused_at = HashSet::new();
    for n in 0..3 {
        let guesser = c.browser_via("127.0.0.2", &format!("198.51.100.{n}"));
        c.steer_to(n).await;
        let (status, node) = login(&c, &client, &guesser, &email(), "feil passord her").await;
        assert_eq!(status, 429, "the guesser waits, at node {node} too");
        refused_at.insert(node);
    }
    assert_eq!(refused_at.len(), 3, "refused by every node");

    // Kari at 127.0.0.3 is not held back, and the audit trail has her address.
    let (status, _) = login(&c, &client, &c.browser_from("127.0.0.3"), &kari, PASSWORD).await;
    assert_eq!(status, 303);
    let (_, trail) = c
        .admin(
            Method::GET,
            &format!("/admin/audit?member={kari_id}&kind=login.&limit=10"),
            None,
        )
        .await;
    let ok = trail["events"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["kind"] == "login.succeeded"))
        .unwrap_or_else(|| panic!("{trail}"));
    assert_eq!(ok["ip"], "127.0.0.3", "{ok}");
}
