//! Wiring: stores chosen once from the settings, keys loaded, the router
//! built, background upkeep started.

use crate::settings::Settings;
use anyhow::Context;
use hk_idp_core::Provider;
use hk_idp_core::account::password_hashing::PasswordHasher;
use hk_idp_core::cleanup::{Cleanup, Removed};
use hk_idp_core::mail_queue::{MailQueue, RetryPolicy};
use hk_idp_core::oauth::client_cache::CachedClientStore;
use hk_idp_core::ports::clock::{Clock, SystemClock};
use hk_idp_core::ports::kv::{Kv, KvStore};
use hk_idp_core::ports::memory_kv::MemoryStore;
use hk_idp_core::ports::telemetry::Telemetry;
use hk_idp_jose::{KeyRing, KeySchedule, Reseal, Resealed, reseal_secrets, server_secret};
use hk_idp_mail::LettreMailer;
use hk_idp_store_kv::RedisStore;
use hk_idp_store_sql::SqlStore;
use hk_idp_web::AppState;
use hk_idp_web::metrics::Metrics;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// Everything the commands need: the durable store, the key ring, the provider.
pub struct Services {
    pub sql: SqlStore,
    pub keyring: Arc<KeyRing>,
    pub provider: Provider,
    /// The key of the pages' CSRF tokens, shared by every node.
    pub csrf_key: String,
    /// When new keys start signing and old ones leave the JWKS.
    pub key_schedule: KeySchedule,
    /// Removes expired rows in the background (`cleanup.interval`).
    pub cleanup: Cleanup,
    /// What the provider and the background work count; served at `/metrics`.
    pub metrics: Arc<Metrics>,
}

impl Services {
    /// Connects and migrates the database, opens the short-lived store and
    /// loads (or first creates) the signing keys.
    pub async fn open(settings: &Settings, issuer: &str, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let sql = SqlStore::connect(&settings.database.url.0)
            .await
            .context("database (database.url)")?;
        sql.migrate().await.context("database migrations")?;
        let kv: Arc<dyn KvStore> = if settings.redis.url.0.is_empty() {
            Arc::new(MemoryStore::new(clock.clone()))
        } else {
            Arc::new(
                RedisStore::connect(&settings.redis.url.0, &settings.redis.key_prefix)
                    .await
                    .context("redis (redis.url)")?,
            )
        };
        let sealer = Arc::new(settings.sealer()?);
        let sealed = reseal_secrets(&sql, &sealer, Reseal::Clear).await?;
        if sealed != Resealed::default() {
            tracing::info!(
                signing_keys = sealed.signing_keys,
                server_secrets = sealed.server_secrets,
                "secrets.encrypted"
            );
        }
        let keyring = Arc::new(KeyRing::new(sealer.clone()));
        let metrics = Arc::new(Metrics::new());
        let telemetry: Arc<dyn Telemetry> = metrics.clone();
        let passwords = PasswordHasher::new(settings.passwords.argon2())?.counted_by(telemetry.clone());
        let ps = settings.provider_settings(issuer);
        let m = &settings.mail;
        let mailer = LettreMailer::new(&m.from, &m.smtp_url.0, Path::new(&m.outbox_dir)).context("mail settings")?;
        let pepper = server_secret(&sql, &sealer, "pepper").await?;
        let csrf_key = server_secret(&sql, &sealer, "csrf").await?;
        let reload = i64::from(settings.keys.reload_interval);
        let key_schedule = KeySchedule {
            // A second more: key times are whole seconds, so a key made at
            // x.9 s would otherwise sign up to a second early.
            publish_first: i64::from(settings.keys.jwks_max_age) + reload + 1,
            keep_retired: ps.max_token_lifetime() + reload,
        };
        hk_idp_jose::ensure_keys(&sql, &keyring, clock.now(), key_schedule).await?;
        let store = Arc::new(sql.clone());
        let cleanup = Cleanup::new(store.clone(), clock.clone(), settings.cleanup_policy());
        let mail = MailQueue::new(
            store.clone(),
            sealer.clone(),
            Arc::new(mailer),
            RetryPolicy {
                attempts: m.retry_attempts,
                first_delay: Duration::from_secs(u64::from(m.retry_first_delay)),
                ..RetryPolicy::default()
            },
            clock.clone(),
        )
        .counted_by(telemetry.clone());
        let provider = Provider {
            settings: Arc::new(ps),
            members: store.clone(),
            consents: store.clone(),
            clients: Arc::new(CachedClientStore::new(
                store.clone(),
                settings.clients.cache_ttl,
                clock.clone(),
            )),
            keys: store.clone(),
            refresh: store.clone(),
            audit: store,
            kv: Kv(kv),
            signer: keyring.clone(),
            passwords,
            clock,
            mail,
            pepper: Arc::from(pepper.into_bytes()),
            telemetry,
        };
        Ok(Self {
            sql,
            keyring,
            provider,
            csrf_key,
            key_schedule,
            cleanup,
            metrics,
        })
    }

    /// Reloads the published keys (after a rotation by any node) and drops expired ones.
    pub async fn reload_keys(&self) -> anyhow::Result<()> {
        let p = &self.provider;
        hk_idp_jose::reload_keys(&self.sql, &self.keyring, p.clock.now(), self.key_schedule).await?;
        Ok(())
    }
}

/// A bound, ready server.
pub struct App {
    pub services: Arc<Services>,
    pub state: AppState,
    listener: TcpListener,
    /// `server.metrics_listen`, bound: `/metrics` is served there only.
    metrics_listener: Option<TcpListener>,
    reload_interval: Duration,
    cleanup_interval: Duration,
    header_timeout: Duration,
    shutdown_grace: Duration,
}

impl App {
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        Self::build_on(settings, Arc::new(SystemClock)).await
    }

    /// The same, on a given clock (tests move time by hand).
    pub async fn build_on(settings: &Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(settings.server.listen).await.with_context(|| {
            format!(
                "cannot listen on {} (server.listen, IDP_LISTEN)",
                settings.server.listen
            )
        })?;
        let metrics_listener = match settings.metrics_listen()? {
            Some(at) => Some(
                TcpListener::bind(at)
                    .await
                    .with_context(|| format!("cannot listen on {at} (server.metrics_listen)"))?,
            ),
            None => None,
        };
        let addr = listener.local_addr()?;
        let issuer = if settings.server.issuer.is_empty() {
            format!("http://{addr}")
        } else {
            settings.server.issuer.trim_end_matches('/').to_owned()
        };
        let services = Arc::new(Services::open(settings, &issuer, clock).await?);
        let state = AppState::new(
            services.provider.clone(),
            services.csrf_key.clone().into_bytes(),
            Arc::new(services.sql.clone()),
        )
        .with_admin_tokens(
            std::iter::once(&settings.admin.token)
                .chain(&settings.admin.tokens)
                .map(|t| t.0.as_str()),
        )
        .with_trusted_proxies(settings.trusted_proxies()?)
        .with_request_timeout(Duration::from_secs(u64::from(settings.server.request_timeout)))
        .with_max_in_flight(settings.server.max_in_flight as usize)
        .with_metrics(services.metrics.clone())
        .with_metrics_apart(metrics_listener.is_some())
        .with_jwks_max_age(settings.keys.jwks_max_age);
        Ok(Self {
            services,
            state,
            listener,
            metrics_listener,
            reload_interval: Duration::from_secs(u64::from(settings.keys.reload_interval)),
            cleanup_interval: Duration::from_secs(u64::from(settings.cleanup.interval)),
            header_timeout: Duration::from_secs(u64::from(settings.server.header_timeout)),
            shutdown_grace: Duration::from_secs(u64::from(settings.server.shutdown_grace)),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Where `/metrics` is served apart from the rest, if it is.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener.as_ref().and_then(|l| l.local_addr().ok())
    }

    pub fn issuer(&self) -> &str {
        &self.state.provider.settings.issuer
    }

    /// Serves until `shutdown` resolves, with background upkeep alongside;
    /// then readiness answers 503, no new connection is taken, and requests
    /// in flight get `server.shutdown_grace` to finish.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let upkeep = tokio::spawn(upkeep(self.services.clone(), self.reload_interval));
        let cleanup = tokio::spawn(clean_up(
            self.services.cleanup.clone(),
            self.services.metrics.clone(),
            self.cleanup_interval,
        ));
        // Only a serving node drains the outbox: a command that ends at once
        // must not take mail it would not finish.
        let mail = self.services.provider.mail.spawn_worker();
        let draining = self.state.draining.clone();
        let shutdown = async move {
            shutdown.await;
            draining.store(true, std::sync::atomic::Ordering::SeqCst);
        };
        let timing = crate::serve::Timing {
            header_timeout: self.header_timeout,
            shutdown_grace: self.shutdown_grace,
        };
        let metrics = self.metrics_listener.map(|l| {
            let app = hk_idp_web::metrics_app(self.state.clone());
            tokio::spawn(crate::serve::serve(l, app, timing, std::future::pending()))
        });
        let router = hk_idp_web::app(self.state);
        tracing::info!(addr = %self.listener.local_addr()?, "server.started");
        crate::serve::serve(self.listener, router, timing, shutdown).await;
        if let Some(m) = metrics {
            m.abort();
        }
        upkeep.abort();
        cleanup.abort();
        mail.abort();
        Ok(())
    }

    /// Serves until Ctrl-C or SIGTERM.
    pub async fn run(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }
}

/// Key reloads, so a rotation by any node reaches this one.
async fn upkeep(services: Arc<Services>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tick.tick().await;
        if let Err(e) = services.reload_keys().await {
            tracing::error!(error = %e, "keys.reload_failed");
        }
    }
}

/// Clean-up of expired rows every `every`, so the database does not grow
/// with history; counted in the metrics, logged when it removed something.
async fn clean_up(cleanup: Cleanup, metrics: Arc<Metrics>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        let mut removed = Removed::default();
        let outcome = cleanup.run(&mut removed).await;
        metrics.record_cleanup(&removed, outcome.is_err());
        let rows = removed.total();
        match outcome {
            Err(e) => tracing::error!(error = %e, rows, "cleanup.failed"),
            Ok(()) if rows > 0 => {
                let by_table: Vec<String> = removed.rows.iter().map(|(w, n)| format!("{}={n}", w.table())).collect();
                tracing::info!(rows, removed = %by_table.join(","), "cleanup.done");
            }
            Ok(()) => {}
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("server.stopping");
}
