//! What every handler reaches through axum's `State`.

use crate::client_address::TrustedProxies;
use crate::metrics::Metrics;
use hk_idp_core::Provider;
use hk_idp_core::ports::store::Health;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub provider: Provider,
    /// Discovery document, rendered once at start.
    pub discovery: Arc<[u8]>,
    /// HMAC key for CSRF tokens, shared by all nodes.
    pub csrf_key: Arc<[u8]>,
    pub metrics: Arc<Metrics>,
    pub database: Arc<dyn Health>,
    /// SHA-256 of each admin token; empty: the admin API is off.
    pub admin_token_hashes: Vec<String>,
    /// Reverse proxies whose forwarding headers name the client.
    pub trusted_proxies: Arc<TrustedProxies>,
    /// How long a request may take, its body included, before 408.
    pub request_timeout: std::time::Duration,
    /// Requests served at once; more are answered 503 at once, not queued.
    pub max_in_flight: usize,
    /// Set when the node is shutting down: readiness answers 503 so the
    /// load balancer sends no more, while requests in flight finish.
    pub draining: Arc<std::sync::atomic::AtomicBool>,
    /// `/metrics` is served on a listener of its own (`metrics_app`), not
    /// on the public one.
    pub metrics_apart: bool,
    /// `Cache-Control` of the JWKS: how long relying parties keep it.
    pub jwks_cache_control: axum::http::HeaderValue,
}

impl AppState {
    pub fn new(provider: Provider, csrf_key: Vec<u8>, database: Arc<dyn Health>) -> Self {
        let doc = hk_idp_core::oauth::discovery::metadata(&provider.settings);
        let discovery: Arc<[u8]> = Arc::from(serde_json::to_vec(&doc).unwrap_or_default());
        Self {
            provider,
            discovery,
            csrf_key: Arc::from(csrf_key),
            metrics: Arc::new(Metrics::new()),
            database,
            admin_token_hashes: Vec::new(),
            trusted_proxies: Arc::default(),
            request_timeout: std::time::Duration::from_secs(30),
            max_in_flight: 1024,
            draining: Arc::default(),
            metrics_apart: false,
            jwks_cache_control: axum::http::HeaderValue::from_static("public, max-age=300"),
        }
    }

    /// Turns the admin API on with these tokens (kept only as hashes); empty ones are ignored.
    pub fn with_admin_tokens<'a>(mut self, tokens: impl IntoIterator<Item = &'a str>) -> Self {
        self.admin_token_hashes = tokens
            .into_iter()
            .filter(|t| !t.is_empty())
            .map(hk_idp_core::secret::hash_token)
            .collect();
        self
    }

    pub fn with_request_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Serves these metrics (those the provider counts into).
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    pub fn with_metrics_apart(mut self, apart: bool) -> Self {
        self.metrics_apart = apart;
        self
    }

    /// Relying parties may keep the JWKS `seconds`.
    pub fn with_jwks_max_age(mut self, seconds: u32) -> Self {
        self.jwks_cache_control =
            axum::http::HeaderValue::from_str(&format!("public, max-age={seconds}")).unwrap_or(self.jwks_cache_control);
        self
    }

    pub fn with_max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n;
        self
    }

    pub fn with_trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.trusted_proxies = Arc::new(proxies);
        self
    }

    pub fn cookie_secure(&self) -> bool {
        self.provider.settings.is_https()
    }
}
