//! One authorization code sent to two nodes at the same moment: one
//! redemption wins, the other is refused as a replay, and what the winner
//! got is revoked on every node (RFC 6749 §4.1.2).

use crate::in_topology;
use crate::support::cluster::Cluster;
use crate::support::{REDIRECT, TestClient, email, pkce};

in_topology!(one_code_redeemed_at_two_nodes_at_once_succeeds_once);

async fn redeem_at(
    c: &Cluster,
    node: usize,
    client: &TestClient,
    code: &str,
    verifier: &str,
) -> (u16, serde_json::Value) {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier),
    ];
    c.token_at(node, client, &form).await
}

async fn one_code_redeemed_at_two_nodes_at_once_succeeds_once() {
    let c = Cluster::start(3, &[]).await;
    let mail = email();
    c.member(&mail).await;
    let client = c.client().await;
    let browser = c.browser_from("127.0.0.2");
    for round in 0..5 {
        let (verifier, challenge) = pkce();
        let code = c.code_for(&browser, &client, &challenge, &mail).await;
        let (a, b) = (round % 3, (round + 1) % 3);
        let (first, second) = tokio::join!(
            redeem_at(&c, a, &client, &code, &verifier),
            redeem_at(&c, b, &client, &code, &verifier)
        );
        let answers = [first, second];
        let won: Vec<_> = answers.iter().filter(|(s, _)| *s == 200).collect();
        assert_eq!(won.len(), 1, "round {round}: {answers:?}");
        let lost = answers.iter().find(|(s, _)| *s != 200).unwrap();
        assert_eq!(lost.0, 400, "{answers:?}");
        assert_eq!(lost.1["error"], "invalid_grant", "{answers:?}");
        let at = won[0].1["access_token"].as_str().unwrap();
        for node in 0..3 {
            assert_eq!(
                c.userinfo_at(node, at).await,
                401,
                "round {round}: the replayed code's token is refused at node {node}"
            );
        }
    }
}
