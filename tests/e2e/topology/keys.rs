//! `hk-idp keys rotate` under a running cluster: every node publishes the
//! new keys, then signs with them, and a relying party that keeps the JWKS
//! exactly as long as `Cache-Control` allows (and never fetches it again
//! for an unknown `kid`) verifies every token it is given on the way.

use crate::in_topology;
use crate::support::cluster::{Cluster, served_by};
use crate::support::email;
use crate::support::flow::pkce;
use josekit::jwk::Jwk;
use josekit::jws::{ES256, EdDSA, JwsVerifier, RS256};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

in_topology!(a_key_rotation_is_published_on_every_node_before_any_node_signs_with_it);

/// Short enough for a test: relying parties keep the JWKS 2 s, the nodes
/// reload their keys every second.
const SETTINGS: [(&str, &str); 2] = [("IDP_KEYS__JWKS_MAX_AGE", "2"), ("IDP_KEYS__RELOAD_INTERVAL", "1")];

async fn a_key_rotation_is_published_on_every_node_before_any_node_signs_with_it() {
    let c = Cluster::start(3, &SETTINGS).await;
    let mail = email();
    c.member(&mail).await;
    let client = c.client().await;
    let (verifier, challenge) = pkce();
    let code = c.code_for(&c.browser, &client, &challenge, &mail).await;
    let mut refresh = c.redeem(&client, &code, &verifier).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut rp = StrictRp::default();

    let out = c.cli(&["keys", "rotate", "--json"], None).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rotated = Instant::now();
    // The relying party takes the JWKS now, from a node that may not have
    // reloaded yet, and keeps it as long as it may.
    rp.refresh(&c).await;
    let fresh: Value = serde_json::from_slice(&out.stdout).unwrap();
    let fresh: HashSet<String> = fresh["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();

    // Published everywhere within a reload interval (and a little).
    for i in 0..3 {
        loop {
            let jwks: Value = c
                .http_client()
                .get(c.node_url(i, "/jwks"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if fresh.iter().all(|k| kids(&jwks).contains(k)) {
                break;
            }
            assert!(
                rotated.elapsed() < Duration::from_millis(2500),
                "node {i} did not publish the new keys"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    // Tokens from every node, all the while: an ES256 access token by client
    // credentials and an RS256 ID token by refresh, each verified by the
    // strict relying party with the JWKS it holds.
    let mut new_kid_from: HashSet<usize> = HashSet::new();
    while rotated.elapsed() < Duration::from_secs(8) {
        let r = c.token_request(&client, &[("grant_type", "client_credentials")]).await;
        let node = c.proxy.node_of(served_by(&r)[0]);
        let t: Value = r.json().await.unwrap();
        let kid = rp.verify(&c, t["access_token"].as_str().unwrap()).await;
        if fresh.contains(&kid) {
            new_kid_from.insert(node);
        }
        let r = c
            .token_request(&client, &[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
            .await;
        assert_eq!(r.status(), 200);
        let t: Value = r.json().await.unwrap();
        refresh = t["refresh_token"].as_str().unwrap().to_owned();
        rp.verify(&c, t["id_token"].as_str().unwrap()).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        new_kid_from.len(),
        3,
        "every node signs with the new keys: {new_kid_from:?}"
    );
    assert!(
        rp.fetches >= 3,
        "the relying party fetched the JWKS as it expired: {}",
        rp.fetches
    );
    // One key set was made, at start-up, by one of the three nodes; the
    // rotation made the second, and no node's reload added one.
    let made: usize = (0..3)
        .map(|i| {
            c.node(i)
                .log()
                .iter()
                .filter(|l| l.contains("keys.generated") && !l.contains("elsewhere"))
                .count()
        })
        .sum();
    assert_eq!(made, 3, "one first key per algorithm, by one node");
}

/// A relying party as strict as the spec allows: it keeps the JWKS for
/// `max-age` and refuses a token whose `kid` is not in what it holds.
#[derive(Default)]
struct StrictRp {
    keys: HashMap<String, Jwk>,
    until: Option<Instant>,
    fetches: usize,
}

impl StrictRp {
    /// Verifies `jwt`'s signature; its `kid`.
    async fn verify(&mut self, c: &Cluster, jwt: &str) -> String {
        if self.until.is_none_or(|u| Instant::now() >= u) {
            self.refresh(c).await;
        }
        let header = crate::support::jwt::decode_header(jwt);
        let kid = header["kid"].as_str().unwrap().to_owned();
        let jwk = self
            .keys
            .get(&kid)
            .unwrap_or_else(|| panic!("signed with {kid}, not in the JWKS the relying party holds"));
        let verifier: Box<dyn JwsVerifier> = match header["alg"].as_str().unwrap() {
            "RS256" => Box::new(RS256.verifier_from_jwk(jwk).unwrap()),
            "ES256" => Box::new(ES256.verifier_from_jwk(jwk).unwrap()),
            _ => Box::new(EdDSA.verifier_from_jwk(jwk).unwrap()),
        };
        josekit::jwt::decode_with_verifier(jwt, &*verifier).unwrap_or_else(|e| panic!("{kid}: {e}"));
        kid
    }

    /// Fetches the JWKS and keeps it for its `max-age`.
    async fn refresh(&mut self, c: &Cluster) {
        let r = c.http_client().get(c.url("/jwks")).send().await.unwrap();
        let max_age: u64 = r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .split(", ")
            .find_map(|d| d.strip_prefix("max-age="))
            .unwrap()
            .parse()
            .unwrap();
        self.until = Some(Instant::now() + Duration::from_secs(max_age));
        let jwks: Value = r.json().await.unwrap();
        self.keys = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| {
                (
                    k["kid"].as_str().unwrap().to_owned(),
                    Jwk::from_bytes(k.to_string()).unwrap(),
                )
            })
            .collect();
        self.fetches += 1;
    }
}

fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}
