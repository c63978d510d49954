//! `Site`: a deployment as people and relying parties reach it — its public
//! base URL, the HTTP clients that reach it (trusting the test CA when it is
//! served over TLS), and the mailbox its mail goes to. One process
//! (`TestApp`) and a cluster behind a proxy (`Cluster`) are both sites, so
//! the browser steps in `flow` and `otp` serve both.

use crate::support::smtp::Mailbox;
use reqwest::redirect::Policy;
use std::net::SocketAddr;

pub struct Site {
    /// The issuer: `http://127.0.0.1:port`, or the proxy's `https://localhost:port`.
    pub base: String,
    /// A browser: keeps cookies, does not follow redirects.
    pub browser: reqwest::Client,
    /// The SMTP listener every mail of this site goes to.
    pub mailbox: Mailbox,
    tls: Option<Tls>,
    /// The token `admin` sends.
    admin_token: String,
}

/// How a client reaches a site served over TLS: the CA to trust and where
/// the host name resolves.
#[derive(Clone)]
struct Tls {
    ca: reqwest::Certificate,
    host: String,
    addr: SocketAddr,
}

impl Site {
    /// A site over plain HTTP at `base`.
    pub fn plain(base: String, mailbox: Mailbox) -> Site {
        Self::build(base, mailbox, None)
    }

    /// A site over HTTPS at `base`, whose certificate `ca_pem` issued and
    /// whose host name is served at `addr`.
    pub fn tls(base: String, mailbox: Mailbox, ca_pem: &str, addr: SocketAddr) -> Site {
        let host = url::Url::parse(&base).unwrap().host_str().unwrap().to_owned();
        let tls = Tls {
            ca: reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap(),
            host,
            addr,
        };
        Self::build(base, mailbox, Some(tls))
    }

    fn build(base: String, mailbox: Mailbox, tls: Option<Tls>) -> Site {
        let mut site = Site {
            base,
            browser: reqwest::Client::new(),
            mailbox,
            tls,
            admin_token: String::new(),
        };
        site.browser = site.new_browser();
        site
    }

    /// A client builder that reaches this site: no redirects followed, the
    /// test CA trusted.
    pub fn http(&self) -> reqwest::ClientBuilder {
        let mut b = reqwest::Client::builder().redirect(Policy::none());
        if let Some(t) = &self.tls {
            b = b
                .tls_built_in_root_certs(false)
                .add_root_certificate(t.ca.clone())
                .resolve(&t.host, t.addr);
        }
        b
    }

    /// A client for machine requests (token endpoint, userinfo).
    pub fn http_client(&self) -> reqwest::Client {
        self.http().build().unwrap()
    }

    /// A fresh browser without cookies.
    pub fn new_browser(&self) -> reqwest::Client {
        self.http().cookie_store(true).build().unwrap()
    }

    /// A fresh browser whose connections come from `ip` (any 127.x.y.z):
    /// another person's address as the server sees it.
    pub fn browser_from(&self, ip: &str) -> reqwest::Client {
        self.http()
            .cookie_store(true)
            .local_address(ip.parse::<std::net::IpAddr>().unwrap())
            .build()
            .unwrap()
    }

    /// A browser reached through a reverse proxy at `proxy_ip`: its requests
    /// come from that address with `X-Forwarded-For: forwarded_for`.
    pub fn browser_via(&self, proxy_ip: &str, forwarded_for: &str) -> reqwest::Client {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("x-forwarded-for", forwarded_for.parse().unwrap());
        self.http()
            .cookie_store(true)
            .local_address(proxy_ip.parse::<std::net::IpAddr>().unwrap())
            .default_headers(h)
            .build()
            .unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The body of the page at `path`, fetched with `browser`.
    pub async fn page(&self, browser: &reqwest::Client, path: &str) -> String {
        browser.get(self.url(path)).send().await.unwrap().text().await.unwrap()
    }

    /// The admin token the site's servers take.
    pub fn with_admin_token(mut self, token: &str) -> Site {
        self.admin_token = token.to_owned();
        self
    }

    /// Calls the admin API with the admin token; the status and the JSON answer (null if none).
    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut req = self
            .http_client()
            .request(method, self.url(path))
            .bearer_auth(&self.admin_token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(serde_json::Value::Null))
    }
}
