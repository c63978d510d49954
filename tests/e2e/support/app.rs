//! `TestApp`: the same `App::build` as `main`, on a random port with a
//! temporary data folder, and the ways a scenario sets up members and clients.

use crate::support::backend::Backend;
use crate::support::pg::PgDatabase;
use crate::support::site::Site;
use crate::support::smtp::Mailbox;
use figment::Figment;
use figment::providers::Serialized;
use hk_idp::Settings;
use hk_idp::app::Services;
use hk_idp_core::admin::member_registry::NewMember;
use hk_idp_core::oauth::client::{AuthMethod, GrantType, NewClient};
use hk_idp_core::oauth::signing_key::SigningAlg;
use hk_idp_core::ports::clock::ShiftedClock;
use std::sync::Arc;
use tokio::sync::oneshot;

pub struct TestApp {
    /// The base URL, the browser and the mailbox (`app.base`, `app.browser`, …).
    pub site: Site,
    /// Where the server listens (the issuer may name another host).
    pub addr: std::net::SocketAddr,
    /// Where `/metrics` is served apart (`server.metrics_listen`), if it is.
    pub metrics_addr: Option<std::net::SocketAddr>,
    pub services: Arc<Services>,
    /// The server's clock: the system's, moved forward by `advance`.
    pub clock: ShiftedClock,
    /// What the `hk-idp` binary needs to work on this server's stores.
    cli_env: Vec<(String, String)>,
    /// Kept so the temporary data folder lives as long as the server.
    _data: tempfile::TempDir,
    /// Dropped after the server stops (fields drop in order).
    _pg: Option<PgDatabase>,
    stop: Option<oneshot::Sender<()>>,
}

impl std::ops::Deref for TestApp {
    type Target = Site;
    fn deref(&self) -> &Site {
        &self.site
    }
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
        let clock = ShiftedClock::new();
        let app = hk_idp::App::build_on(&settings, Arc::new(clock.clone()))
            .await
            .expect("app builds");
        let base = app.issuer().to_owned();
        cli_env.push(("IDP_ISSUER".to_owned(), base.clone()));
        let addr = app.addr();
        let metrics_addr = app.metrics_addr();
        let services = app.services.clone();
        let (tx, rx) = oneshot::channel();
        tokio::spawn(app.run_until(async move {
            let _ = rx.await;
        }));
        TestApp {
            site: Site::plain(base, mailbox).with_admin_token(ADMIN),
            addr,
            metrics_addr,
            services,
            clock,
            cli_env,
            _data: data,
            _pg: pg,
            stop: Some(tx),
        }
    }

    /// Runs the `hk-idp` binary on this server's database, cache and mail relay.
    pub async fn cli(&self, args: &[&str], stdin: Option<&str>) -> std::process::Output {
        self.cli_with(&[], args, stdin).await
    }

    /// The same with more settings, e.g. `("IDP_KEYS__ENCRYPTION_KEY", k)`.
    pub async fn cli_with(&self, extra: &[(&str, &str)], args: &[&str], stdin: Option<&str>) -> std::process::Output {
        let mut env = self.cli_env.clone();
        env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let stdin = stdin.map(str::to_owned);
        tokio::task::spawn_blocking(move || {
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            crate::support::cli::hk_idp(&env, &args, stdin.as_deref())
        })
        .await
        .unwrap()
    }

    /// A setting the `hk-idp` binary is given, e.g. `IDP_REDIS__KEY_PREFIX`.
    pub fn cli_setting(&self, name: &str) -> Option<&str> {
        self.cli_env.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Moves the server's time forward: expiry and throttling without sleeping.
    pub fn advance(&self, seconds: i64) {
        self.clock.advance(seconds);
    }

    /// An active member with `PASSWORD`; returns its id (the `sub`).
    pub async fn member(&self, email: &str) -> String {
        let new = NewMember {
            email: email.into(),
            name: Some("Kari Nordmann".into()),
            password: Some(PASSWORD.into()),
            ..Default::default()
        };
        self.create_member(new).await
    }

    /// Registers `new` as the CLI would; returns its id.
    pub async fn create_member(&self, new: NewMember) -> String {
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
