//! A node lost mid-flow: killed outright (SIGKILL, as when a machine
//! dies), the person's next request goes to another node and the flow
//! completes, nothing lost; stopped (SIGTERM, as Kubernetes stops a pod), it
//! finishes what it is doing while the others take the rest.

use crate::in_topology;
use crate::support::cluster::{Cluster, served_by};
use crate::support::rp::RelyingParty;
use crate::support::{PASSWORD, email, input_value, location};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

in_topology!(
    a_node_killed_between_login_page_and_form_post_loses_nothing,
    a_node_stopped_with_sigterm_finishes_its_login_while_the_others_serve,
);

/// The login page of a new flow, shown through the proxy by node `i`:
/// the browser, the page's form fields, and the flow's relying party.
async fn login_page_from(
    c: &Cluster,
    i: usize,
    browser: &reqwest::Client,
) -> (String, String, RelyingParty, crate::support::rp::PendingLogin) {
    let client = c.client().await;
    let rp = RelyingParty::discover(c, &client).await;
    let pending = rp.start(&["openid"]);
    let login = location(&browser.get(&pending.url).send().await.unwrap());
    c.steer_to(i).await;
    let page = browser.get(c.url(&login)).send().await.unwrap();
    assert_eq!(served_by(&page), [c.node(i).addr]);
    let html = page.text().await.unwrap();
    (
        input_value(&html, "csrf_token").unwrap(),
        input_value(&html, "req").unwrap(),
        rp,
        pending,
    )
}

async fn post_login(c: &Cluster, browser: &reqwest::Client, csrf: &str, req: &str, mail: &str) -> reqwest::Response {
    browser
        .post(c.url("/login"))
        .form(&[
            ("csrf_token", csrf),
            ("req", req),
            ("email", mail),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap()
}

async fn a_node_killed_between_login_page_and_form_post_loses_nothing() {
    let mut c = Cluster::start(3, &[]).await;
    let mail = email();
    let sub = c.member(&mail).await;
    let browser = c.browser_from("127.0.0.2");
    let (csrf, req, rp, pending) = login_page_from(&c, 0, &browser).await;
    let dead = c.node(0).addr;
    c.kill(0);
    // Round-robin's next turn is the dead node's: the post goes there first.
    c.steer_to(0).await;
    let post = post_login(&c, &browser, &csrf, &req, &mail).await;
    assert_eq!(post.status(), 303, "{}", post.text().await.unwrap());
    let tried = served_by(&post);
    assert_eq!(tried.len(), 2, "tried the dead node, then another: {tried:?}");
    assert_eq!(tried[0], dead);
    assert_ne!(tried[1], dead);
    let callback = location(&post);
    let (_, claims) = rp.finish(&c, pending, &callback).await;
    assert_eq!(
        claims.subject().as_str(),
        sub,
        "the flow begun on the dead node completes"
    );
}

async fn a_node_stopped_with_sigterm_finishes_its_login_while_the_others_serve() {
    // A login that takes about a second to hash, so it is surely in flight.
    let mut c = Cluster::start(
        3,
        &[
            ("IDP_PASSWORDS__ARGON2_MEMORY_KIB", "131072"),
            ("IDP_PASSWORDS__ARGON2_ITERATIONS", "6"),
            ("IDP_SERVER__SHUTDOWN_GRACE", "15"),
        ],
    )
    .await;
    let c_ref = &c;
    let mail = email();
    c.member(&mail).await;
    let browser = c.browser_from("127.0.0.2");
    let (csrf, req, rp, pending) = login_page_from(&c, 0, &browser).await;

    c.steer_to(1).await;
    let login = post_login(&c, &browser, &csrf, &req, &mail);
    // Once the login is at node 1, everyone else keeps asking while it stops.
    let stop = Arc::new(AtomicBool::new(false));
    let stopping = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let load: Vec<_> = (0..4)
            .map(|k| {
                let stop = stop.clone();
                let http = c_ref.http_client();
                let url = c_ref.url(["/.well-known/openid-configuration", "/jwks"][k % 2]);
                tokio::spawn(async move {
                    let mut answers = Vec::new();
                    while !stop.load(Ordering::Relaxed) {
                        let r = http.get(&url).send().await;
                        answers.push(r.map(|r| r.status().as_u16()).map_err(|e| e.to_string()));
                    }
                    answers
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(200)).await;
        c_ref.node(1).signal("TERM");
        load
    };
    let (post, load) = tokio::join!(login, stopping);
    assert_eq!(post.status(), 303, "the login in flight is answered");
    assert_eq!(served_by(&post), [c.node(1).addr], "by the node that was stopping");
    let callback = location(&post);
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let mut answered = Vec::new();
    for l in load {
        answered.extend(l.await.unwrap());
    }
    assert!(answered.len() > 20, "{answered:?}");
    assert!(
        answered.iter().all(|s| *s == Ok(200)),
        "no request failed: {answered:?}"
    );

    let mut node = c.nodes[1].take().unwrap();
    let (status, _) = node.wait(Duration::from_secs(15));
    assert_eq!(status.code(), Some(0), "{:?}", node.log());
    let log = node.log();
    let at = |event: &str| {
        log.iter()
            .position(|l| l.contains(event))
            .unwrap_or_else(|| panic!("{event}: {log:?}"))
    };
    assert!(at("server.draining") < at("server.stopped"));
    // The flow goes on without the node.
    rp.finish(&c, pending, &callback).await;
}
