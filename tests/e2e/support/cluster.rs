//! The production topology: several `hk-idp serve` processes on one
//! PostgreSQL database and one Redis, behind nginx terminating TLS with a
//! certificate from a CA made for the test. The issuer is the proxy's
//! `https://localhost:port`; the nodes trust the proxy's address.

use crate::support::ca::TestCa;
use crate::support::node::Node;
use crate::support::proxy::{Hit, Proxy};
use crate::support::site::Site;
use crate::support::smtp::Mailbox;
use crate::support::{PASSWORD, PgDatabase, REDIRECT, TestClient};
use std::net::SocketAddr;

pub struct Cluster {
    /// The issuer, the browser and the mailbox (`cluster.base`, …).
    pub site: Site,
    /// The nodes, in the order the proxy's round-robin visits them; a node
    /// taken out (`kill`) leaves `None`.
    pub nodes: Vec<Option<Node>>,
    pub proxy: Proxy,
    /// Every node's settings, for the `hk-idp` commands too.
    env: Vec<(String, String)>,
    _pg: Option<PgDatabase>,
}

/// The admin token every node of a cluster takes.
pub const CLUSTER_ADMIN: &str = "cluster-admin-token-0123456789abcdef";

impl std::ops::Deref for Cluster {
    type Target = Site;
    fn deref(&self) -> &Site {
        &self.site
    }
}

/// Says what a topology test needs when it is missing.
pub fn require_topology() {
    crate::support::require_services();
    assert!(
        std::path::Path::new("/usr/sbin/nginx").exists(),
        "the topology tests need nginx (Debian's nginx-light package; .ci/run installs it)"
    );
}

impl Cluster {
    /// `n` nodes with `settings` (environment variables) on top of the
    /// cluster's own; `IDP_DATABASE_URL` or `IDP_REDIS_URL` there replace
    /// the test database and Redis.
    pub async fn start(n: usize, settings: &[(&str, &str)]) -> Cluster {
        let own_db = settings.iter().any(|(k, _)| *k == "IDP_DATABASE_URL");
        let pg = if own_db { None } else { Some(PgDatabase::create().await) };
        let mailbox = Mailbox::start().await;
        let port = free_port();
        let issuer = format!("https://localhost:{port}");
        let mut env: Vec<(String, String)> = vec![
            ("IDP_ISSUER".into(), issuer.clone()),
            ("IDP_TRUSTED_PROXIES".into(), "127.0.0.1/32".into()),
            ("IDP_REDIS_URL".into(), std::env::var("TEST_REDIS_URL").unwrap()),
            (
                "IDP_REDIS__KEY_PREFIX".into(),
                format!("hkid-cluster:{}:", uuid::Uuid::new_v4().simple()),
            ),
            ("IDP_SMTP_URL".into(), mailbox.url()),
            ("IDP_MAIL__RETRY_FIRST_DELAY".into(), "1".into()),
            ("IDP_ADMIN_TOKEN".into(), CLUSTER_ADMIN.into()),
        ];
        if let Some(pg) = &pg {
            env.push(("IDP_DATABASE_URL".into(), pg.url.clone()));
        }
        for (k, v) in settings {
            env.retain(|(ek, _)| ek != k);
            env.push(((*k).into(), (*v).into()));
        }
        let nodes = tokio::task::spawn_blocking({
            let env = env.clone();
            move || {
                // All at once, as a Deployment starts them: migrations and
                // the first key set must not race.
                std::thread::scope(|s| {
                    let handles: Vec<_> = (0..n).map(|_| s.spawn(|| Node::start(&pairs(&env)))).collect();
                    handles.into_iter().map(|h| h.join().unwrap()).collect::<Vec<_>>()
                })
            }
        })
        .await
        .unwrap();
        let addrs: Vec<SocketAddr> = nodes.iter().map(|n| n.addr).collect();
        let ca = TestCa::new();
        let proxy = Proxy::start(port, &addrs, &ca);
        Cluster {
            site: Site::tls(issuer, mailbox, &ca.ca_pem, proxy.addr).with_admin_token(CLUSTER_ADMIN),
            nodes: nodes.into_iter().map(Some).collect(),
            proxy,
            env,
            _pg: pg,
        }
    }

    /// The node at `i`, which must still run.
    pub fn node(&self, i: usize) -> &Node {
        self.nodes[i].as_ref().expect("the node runs")
    }

    /// Node `i`'s address, also once it is gone.
    pub fn node_addr(&self, i: usize) -> SocketAddr {
        self.proxy.upstreams[i]
    }

    /// The database every node uses.
    pub fn database_url(&self) -> &str {
        self.env
            .iter()
            .find(|(k, _)| k == "IDP_DATABASE_URL")
            .map(|(_, v)| v.as_str())
            .expect("IDP_DATABASE_URL")
    }

    /// `path` on node `i` itself, not through the proxy.
    pub fn node_url(&self, i: usize, path: &str) -> String {
        format!("http://{}{path}", self.node(i).addr)
    }

    /// Sends SIGKILL to node `i` and waits for it to be gone.
    pub fn kill(&mut self, i: usize) {
        let mut node = self.nodes[i].take().expect("the node runs");
        node.signal("KILL");
        node.wait(std::time::Duration::from_secs(10));
    }

    /// Makes the proxy send the next request to node `i`: round-robin
    /// visits the nodes in order, so probes go until one lands on the node
    /// before it. The node itself is not probed (it may be down).
    pub async fn steer_to(&self, i: usize) {
        let before = (i + self.proxy.upstreams.len() - 1) % self.proxy.upstreams.len();
        for _ in 0..=self.proxy.upstreams.len() {
            let r = self.http_client().get(self.url("/healthz")).send().await.unwrap();
            let served = served_by(&r);
            if served.last().map(|a| self.proxy.node_of(*a)) == Some(before) {
                return;
            }
        }
        panic!("round-robin did not come round to node {before}");
    }

    /// The requests the proxy logged for `uri_start`, once there is one:
    /// nginx writes a request's line after the response has gone out, so
    /// the client can be quicker than the log.
    pub async fn hits(&self, method: &str, uri_start: &str) -> Vec<Hit> {
        let start = std::time::Instant::now();
        loop {
            let hits: Vec<Hit> = self
                .proxy
                .hits()
                .into_iter()
                .filter(|h| h.method == method && h.uri.starts_with(uri_start))
                .collect();
            if !hits.is_empty() || start.elapsed() > std::time::Duration::from_secs(5) {
                return hits;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    /// A token request sent to node `i` itself, as `client`; the status
    /// and the JSON answer.
    pub async fn token_at(&self, i: usize, client: &TestClient, form: &[(&str, &str)]) -> (u16, serde_json::Value) {
        let r = reqwest::Client::new()
            .post(self.node_url(i, "/token"))
            .basic_auth(&client.id, client.secret.as_ref())
            .form(form)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    /// The status of userinfo at node `i` itself for `access_token`.
    pub async fn userinfo_at(&self, i: usize, access_token: &str) -> u16 {
        reqwest::Client::new()
            .get(self.node_url(i, "/userinfo"))
            .bearer_auth(access_token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// Runs the `hk-idp` binary with the nodes' settings.
    pub async fn cli(&self, args: &[&str], stdin: Option<&str>) -> std::process::Output {
        let env = self.env.clone();
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let stdin = stdin.map(str::to_owned);
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            crate::support::cli::hk_idp(&pairs(&env), &args, stdin.as_deref())
        })
        .await
        .unwrap()
    }

    /// `hk-idp … --json`, which must succeed; its JSON.
    async fn cli_json(&self, args: &[&str], stdin: Option<&str>) -> serde_json::Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.cli(&all, stdin).await;
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// An active member with `PASSWORD`, registered by `hk-idp user add`; its id.
    pub async fn member(&self, email: &str) -> String {
        let m = self
            .cli_json(
                &[
                    "user",
                    "add",
                    "--email",
                    email,
                    "--name",
                    "Kari Nordmann",
                    "--password-stdin",
                ],
                Some(PASSWORD),
            )
            .await;
        m["id"].as_str().unwrap().to_owned()
    }

    /// A first-party confidential client (code, refresh and client
    /// credentials) registered by `hk-idp client create`.
    pub async fn client(&self) -> TestClient {
        let c = self
            .cli_json(
                &[
                    "client",
                    "create",
                    "--name",
                    "Bedriftsportalen",
                    "--redirect-uri",
                    REDIRECT,
                    "--post-logout-redirect-uri",
                    "https://rp.example/logged-out",
                    "--first-party",
                    "--grant-type",
                    "authorization_code",
                    "--grant-type",
                    "refresh_token",
                    "--grant-type",
                    "client_credentials",
                ],
                None,
            )
            .await;
        TestClient {
            id: c["client_id"].as_str().unwrap().to_owned(),
            secret: c["client_secret"].as_str().map(str::to_owned),
        }
    }
}

/// The nodes that served a response through the proxy (its `X-Upstream`).
pub fn served_by(r: &reqwest::Response) -> Vec<SocketAddr> {
    r.headers()
        .get("x-upstream")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .split(", ")
        .filter_map(|a| a.parse().ok())
        .collect()
}

fn pairs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
