//! `TestApp`: the same `App::build` as `main`, on a random port with a
//! temporary data folder, and the helpers the scenarios share.

use crate::smtp::Mailbox;
use figment::Figment;
use figment::providers::Serialized;
use hk_idp::Settings;
use hk_idp::app::Services;
use hk_idp_core::client::{AuthMethod, GrantType, NewClient};
use hk_idp_core::keys::SigningAlg;
use hk_idp_core::registry::NewMember;
use reqwest::redirect::Policy;
use sea_orm::{ConnectionTrait, Database};
use std::sync::Arc;
use tokio::sync::oneshot;

/// The storage set-ups every scenario runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite file and the in-process store: the embedded default.
    Embedded,
    /// PostgreSQL and Redis from `TEST_DATABASE_URL` / `TEST_REDIS_URL`.
    PostgresRedis,
}

/// Runs a scenario on both set-ups.
#[macro_export]
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn embedded() {
                    super::$name($crate::helpers::Backend::Embedded).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres_redis() {
                    if $crate::helpers::services_missing() {
                        return;
                    }
                    super::$name($crate::helpers::Backend::PostgresRedis).await;
                }
            }
        )*
    };
}

/// True (and says so) when PostgreSQL/Redis are not configured outside CI.
/// Under `CI=true` a missing service is a failure, never a skip.
pub fn services_missing() -> bool {
    let missing = std::env::var("TEST_DATABASE_URL").is_err() || std::env::var("TEST_REDIS_URL").is_err();
    if missing && std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but TEST_DATABASE_URL or TEST_REDIS_URL is not set: PostgreSQL and Redis are required in CI");
    }
    if missing {
        eprintln!("skipped: set TEST_DATABASE_URL and TEST_REDIS_URL to run on PostgreSQL and Redis");
    }
    missing
}

/// A fresh PostgreSQL database for one test, dropped when the guard goes.
pub struct PgDatabase {
    pub url: String,
    name: String,
    admin: String,
}

impl PgDatabase {
    pub async fn create() -> PgDatabase {
        let admin = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL");
        let db = Database::connect(&admin).await.expect("connect to TEST_DATABASE_URL");
        let name = format!("hkid_e2e_{}", uuid::Uuid::new_v4().simple());
        db.execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create test database");
        let base = admin
            .rsplit_once('/')
            .map(|(b, _)| b.to_owned())
            .unwrap_or(admin.clone());
        PgDatabase {
            url: format!("{base}/{name}"),
            name,
            admin,
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        // Drop runs inside a runtime; a thread of its own may block on another.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(db) = Database::connect(&admin).await {
                    let _ = db
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                }
            });
        })
        .join();
    }
}

pub struct TestApp {
    pub base: String,
    /// Where the server listens (the issuer may name another host).
    pub addr: std::net::SocketAddr,
    pub services: Arc<Services>,
    /// A browser: keeps cookies, does not follow redirects.
    pub browser: reqwest::Client,
    /// The SMTP listener every mail of this server goes to.
    pub mailbox: Mailbox,
    /// What the `hk-idp` binary needs to work on this server's stores.
    cli_env: Vec<(String, String)>,
    /// Kept so the temporary data folder lives as long as the server.
    _data: tempfile::TempDir,
    /// Dropped after the server stops (fields drop in order).
    _pg: Option<PgDatabase>,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// The admin token of `TestApp::start_admin`.
pub const ADMIN: &str = "admin-token-for-tests-0123456789";

pub const PASSWORD: &str = "riktig hest batteri stift 2026";

impl TestApp {
    pub async fn start(backend: Backend) -> TestApp {
        Self::start_with(backend, |f| f).await
    }

    /// Starts with the admin API on, behind `ADMIN`.
    pub async fn start_admin(backend: Backend) -> TestApp {
        Self::start_with(backend, |f| f.merge(Serialized::default("admin.token", ADMIN))).await
    }

    /// Calls the admin API with `ADMIN`; the status and the JSON answer (null if none).
    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut req = reqwest::Client::new()
            .request(method, self.url(path))
            .bearer_auth(ADMIN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// Starts with settings changed by `tweak` (e.g. a short code lifetime).
    pub async fn start_with(backend: Backend, tweak: impl FnOnce(Figment) -> Figment) -> TestApp {
        let data = tempfile::tempdir().unwrap();
        let dir = data.path().display().to_string();
        let pg = match backend {
            Backend::Embedded => None,
            Backend::PostgresRedis => Some(PgDatabase::create().await),
        };
        let (db, redis) = match &pg {
            None => (format!("sqlite://{dir}/hk-idp.sqlite?mode=rwc"), String::new()),
            Some(pg) => (pg.url.clone(), std::env::var("TEST_REDIS_URL").unwrap()),
        };
        let mailbox = Mailbox::start().await;
        let prefix = format!("hkid-test:{}:", uuid::Uuid::new_v4().simple());
        let mut cli_env = vec![
            ("IDP_DATABASE_URL".to_owned(), db.clone()),
            ("IDP_REDIS_URL".to_owned(), redis.clone()),
            ("IDP_REDIS__KEY_PREFIX".to_owned(), prefix.clone()),
            ("IDP_SMTP_URL".to_owned(), mailbox.url()),
            ("IDP_MAIL__OUTBOX_DIR".to_owned(), format!("{dir}/outbox")),
        ];
        let fig = Settings::figment()
            .merge(Serialized::default("server.listen", "127.0.0.1:0"))
            .merge(Serialized::default("server.issuer", ""))
            .merge(Serialized::default("database.url", db))
            .merge(Serialized::default("redis.url", redis))
            .merge(Serialized::default("redis.key_prefix", prefix))
            .merge(Serialized::default("mail.outbox_dir", format!("{dir}/outbox")))
            .merge(Serialized::default("mail.smtp_url", mailbox.url()))
            .merge(Serialized::default("mail.retry_first_delay", 1));
        let settings = Settings::from_figment(tweak(fig)).expect("test settings");
        if std::env::var("TEST_LOG").is_ok() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter("info")
                .with_test_writer()
                .try_init();
        }
        let app = hk_idp::App::build(&settings).await.expect("app builds");
        let base = app.issuer().to_owned();
        cli_env.push(("IDP_ISSUER".to_owned(), base.clone()));
        let addr = app.addr();
        let services = app.services.clone();
        let (tx, rx) = oneshot::channel();
        tokio::spawn(app.run_until(async move {
            let _ = rx.await;
        }));
        let browser = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .build()
            .unwrap();
        TestApp {
            base,
            addr,
            services,
            browser,
            mailbox,
            cli_env,
            _data: data,
            _pg: pg,
            stop: Some(tx),
        }
    }

    /// Runs the `hk-idp` binary on this server's database, cache and mail relay.
    pub async fn cli(&self, args: &[&str], stdin: Option<&str>) -> std::process::Output {
        let env = self.cli_env.clone();
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let stdin = stdin.map(str::to_owned);
        tokio::task::spawn_blocking(move || {
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            crate::config::hk_idp(&env, &args, stdin.as_deref())
        })
        .await
        .unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The body of the page at `path`, fetched with `browser`.
    pub async fn page(&self, browser: &reqwest::Client, path: &str) -> String {
        browser.get(self.url(path)).send().await.unwrap().text().await.unwrap()
    }

    /// A fresh browser without cookies.
    pub fn new_browser(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .build()
            .unwrap()
    }

    /// An active member with `PASSWORD`; returns its id (the `sub`).
    pub async fn member(&self, email: &str) -> String {
        let new = NewMember {
            email: email.into(),
            name: Some("Kari Nordmann".into()),
            password: Some(PASSWORD.into()),
            ..Default::default()
        };
        self.services
            .provider
            .create_member(new, 15, &hk_idp_core::audit::Actor::cli())
            .await
            .unwrap()
            .id
    }

    /// A confidential client (Basic auth, code + refresh) with redirect `https://rp.example/cb`.
    pub async fn client(&self) -> TestClient {
        self.client_with(|_| {}).await
    }

    pub async fn client_with(&self, tweak: impl FnOnce(&mut NewClient)) -> TestClient {
        let mut new = NewClient {
            name: "Bedriftsportalen".into(),
            redirect_uris: vec![REDIRECT.into()],
            post_logout_redirect_uris: vec!["https://rp.example/logged-out".into()],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            auth_method: AuthMethod::ClientSecretBasic,
            id_token_alg: SigningAlg::RS256,
            initiate_login_uri: None,
            first_party: true,
            ..Default::default()
        };
        tweak(&mut new);
        let issued = self
            .services
            .provider
            .create_client(new, &hk_idp_core::audit::Actor::cli())
            .await
            .unwrap();
        TestClient {
            id: issued.client.id,
            secret: issued.secret,
        }
    }
}

pub const REDIRECT: &str = "https://rp.example/cb";

#[derive(Debug, Clone)]
pub struct TestClient {
    pub id: String,
    pub secret: Option<String>,
}

/// Unique e-mail per test, so scenarios can share one database.
pub fn email() -> String {
    format!("kari.{}@hk.no", uuid::Uuid::new_v4().simple())
}

/// The value of a hidden (or any) input named `name` in a page.
pub fn input_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(
        html[start..end]
            .replace("&amp;", "&")
            .replace("&#x2f;", "/")
            .replace("&#x3d;", "="),
    )
}

/// A query parameter of a URL.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

pub fn location(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// PKCE pair: (verifier, S256 challenge).
pub fn pkce() -> (String, String) {
    use base64::Engine;
    use sha2::Digest;
    let verifier = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

impl TestApp {
    /// An authorization URL for `client` with PKCE; `extra` adds or overrides parameters.
    pub fn authorize_url(&self, client: &TestClient, challenge: &str, extra: &[(&str, &str)]) -> String {
        let mut url = url::Url::parse(&self.url("/authorize")).unwrap();
        {
            let mut q = url.query_pairs_mut();
            let defaults = [
                ("response_type", "code"),
                ("client_id", client.id.as_str()),
                ("redirect_uri", REDIRECT),
                ("scope", "openid email profile"),
                ("state", "st-123"),
                ("nonce", "n-456"),
                ("code_challenge", challenge),
                ("code_challenge_method", "S256"),
            ];
            for (k, v) in defaults {
                if !extra.iter().any(|(ek, _)| *ek == k) {
                    q.append_pair(k, v);
                }
            }
            for (k, v) in extra {
                if !v.is_empty() {
                    q.append_pair(k, v);
                }
            }
        }
        url.into()
    }

    /// Sends an authorization request with the shared browser; returns where it redirects.
    pub async fn authorize(&self, client: &TestClient, challenge: &str, extra: &[(&str, &str)]) -> String {
        location(
            &self
                .browser
                .get(self.authorize_url(client, challenge, extra))
                .send()
                .await
                .unwrap(),
        )
    }

    /// Follows an authorization request through the login form with `browser`;
    /// returns the final redirect to the client.
    pub async fn login_via(&self, browser: &reqwest::Client, authorize_url: &str, email: &str) -> String {
        let resp = browser.get(authorize_url).send().await.unwrap();
        let mut loc = location(&resp);
        if loc.starts_with("/login") {
            loc = self.submit_login(browser, &loc, email, PASSWORD).await;
        }
        if loc.starts_with("/consent") {
            loc = self.answer_consent(browser, &loc, "allow").await;
        }
        loc
    }

    /// Answers the consent page at `path` with `decision` (`allow`, `deny`); returns the redirect.
    pub async fn answer_consent(&self, browser: &reqwest::Client, path: &str, decision: &str) -> String {
        let html = self.page(browser, path).await;
        let csrf = input_value(&html, "csrf_token").expect("csrf token on the consent page");
        let req = input_value(&html, "req").expect("req on the consent page");
        let resp = browser
            .post(self.url("/consent"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("req", req.as_str()),
                ("decision", decision),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 303, "consent answered");
        location(&resp)
    }

    /// Shows the login page at `login_path`, submits it, returns the redirect.
    pub async fn submit_login(
        &self,
        browser: &reqwest::Client,
        login_path: &str,
        email: &str,
        password: &str,
    ) -> String {
        let resp = self.post_login(browser, login_path, email, password).await;
        assert_eq!(resp.status(), 303, "login should redirect");
        location(&resp)
    }

    /// Shows the login page at `login_path` and submits it; returns the raw response.
    pub async fn post_login(
        &self,
        browser: &reqwest::Client,
        login_path: &str,
        email: &str,
        password: &str,
    ) -> reqwest::Response {
        let page = browser.get(self.url(login_path)).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        let csrf = input_value(&html, "csrf_token").expect("csrf token in the login form");
        let req = input_value(&html, "req").unwrap_or_default();
        browser
            .post(self.url("/login"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("req", req.as_str()),
                ("email", email),
                ("password", password),
            ])
            .send()
            .await
            .unwrap()
    }

    /// Logs in and returns an authorization code for `client`.
    pub async fn code_for(
        &self,
        browser: &reqwest::Client,
        client: &TestClient,
        challenge: &str,
        email: &str,
    ) -> String {
        let loc = self
            .login_via(browser, &self.authorize_url(client, challenge, &[]), email)
            .await;
        query_param(&loc, "code").unwrap_or_else(|| panic!("no code in {loc}"))
    }

    /// Posts to the token endpoint with Basic authentication of `client`.
    pub async fn token_request(&self, client: &TestClient, form: &[(&str, &str)]) -> reqwest::Response {
        let http = reqwest::Client::new();
        let mut req = http.post(self.url("/token")).form(form);
        if let Some(s) = &client.secret {
            req = req.basic_auth(&client.id, Some(s));
        }
        req.send().await.unwrap()
    }

    /// Redeems `code` and returns the token response JSON (status asserted 200).
    pub async fn redeem(&self, client: &TestClient, code: &str, verifier: &str) -> serde_json::Value {
        let resp = self
            .token_request(
                client,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("redirect_uri", REDIRECT),
                    ("code_verifier", verifier),
                ],
            )
            .await;
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap()
    }

    pub async fn userinfo_status(&self, access_token: &str) -> u16 {
        let r = reqwest::Client::new()
            .get(self.url("/userinfo"))
            .bearer_auth(access_token)
            .send()
            .await
            .unwrap();
        r.status().as_u16()
    }
}
