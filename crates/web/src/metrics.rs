//! Prometheus metrics: requests by route and status, latency by route,
//! what the domain counts (`Telemetry`), the background clean-up, and
//! gauges read when scraped (argon2 line, mail outbox, database pool).

use hk_idp_core::ports::telemetry::{Counted, Telemetry};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TableLabels {
    pub table: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GrantLabels {
    pub grant_type: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PoolLabels {
    pub state: String,
}

fn latency_histogram() -> Histogram {
    Histogram::new([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0])
}

pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    /// Rows the background clean-up removed, by table.
    pub cleanup_removed: Family<TableLabels, Counter>,
    /// Clean-up runs: `done`, `busy` (another node was at it), `failed`.
    pub cleanup_runs: Family<OutcomeLabels, Counter>,
    /// Password logins by outcome (`succeeded`, `failed`).
    pub logins: Family<OutcomeLabels, Counter>,
    pub codes_sent: Counter,
    pub tokens_issued: Family<GrantLabels, Counter>,
    pub refresh_reuse: Counter,
    /// Mails by outcome (`sent`, `failed`: given up on).
    pub mails: Family<OutcomeLabels, Counter>,
    pub argon2_wait: Histogram,
    pub argon2_waiting: Gauge,
    pub argon2_running: Gauge,
    pub mail_queued: Gauge,
    /// Database connections by state (`idle`, `in_use`) and the pool's most.
    pub db_connections: Family<PoolLabels, Gauge>,
    pub db_connections_max: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("hkid");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        registry.register("http_requests", "HTTP requests by route and status", requests.clone());
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            latency.clone(),
        );
        let cleanup_removed = Family::<TableLabels, Counter>::default();
        registry.register(
            "cleanup_removed_rows",
            "Rows removed by the background clean-up, by table",
            cleanup_removed.clone(),
        );
        let cleanup_runs = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "cleanup_runs",
            "Background clean-up runs by outcome (done, busy: another node was cleaning up, failed)",
            cleanup_runs.clone(),
        );
        let logins = Family::<OutcomeLabels, Counter>::default();
        registry.register("logins", "Password logins by outcome", logins.clone());
        let codes_sent = Counter::default();
        registry.register("codes_sent", "One-time codes mailed", codes_sent.clone());
        let tokens_issued = Family::<GrantLabels, Counter>::default();
        registry.register("tokens_issued", "Token responses by grant type", tokens_issued.clone());
        let refresh_reuse = Counter::default();
        registry.register(
            "refresh_reuse_detected",
            "Spent refresh tokens presented again (the family was revoked)",
            refresh_reuse.clone(),
        );
        let mails = Family::<OutcomeLabels, Counter>::default();
        registry.register("mails", "Mails by outcome (sent, failed: given up)", mails.clone());
        let argon2_wait = Histogram::new([0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5]);
        registry.register(
            "argon2_wait_seconds",
            "Time a password hash waited for a place (passwords.max_concurrent)",
            argon2_wait.clone(),
        );
        let argon2_waiting = Gauge::default();
        registry.register(
            "argon2_waiting",
            "Password hashes waiting for a place",
            argon2_waiting.clone(),
        );
        let argon2_running = Gauge::default();
        registry.register("argon2_running", "Password hashes running", argon2_running.clone());
        let mail_queued = Gauge::default();
        registry.register(
            "mail_outbox",
            "Mails waiting in the outbox (all nodes)",
            mail_queued.clone(),
        );
        let db_connections = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "db_connections",
            "Database connections of this node by state",
            db_connections.clone(),
        );
        let db_connections_max = Gauge::default();
        registry.register(
            "db_connections_max",
            "The most database connections this node opens",
            db_connections_max.clone(),
        );
        registry.register(
            "build",
            "The running build",
            Info::new(vec![("version".to_owned(), env!("CARGO_PKG_VERSION").to_owned())]),
        );
        // Every known series from the start, at 0: a rate or an alert on
        // it works before the first event.
        for (family, words) in [
            (&logins, &["succeeded", "failed"][..]),
            (&mails, &["sent", "failed"][..]),
            (&cleanup_runs, &["done", "busy", "failed"][..]),
        ] {
            for w in words {
                drop(family.get_or_create(&outcome(w)));
            }
        }
        for grant in ["authorization_code", "refresh_token", "client_credentials"] {
            drop(tokens_issued.get_or_create(&GrantLabels {
                grant_type: grant.to_owned(),
            }));
        }
        Self {
            registry,
            requests,
            latency,
            cleanup_removed,
            cleanup_runs,
            logins,
            codes_sent,
            tokens_issued,
            refresh_reuse,
            mails,
            argon2_wait,
            argon2_waiting,
            argon2_running,
            mail_queued,
            db_connections,
            db_connections_max,
        }
    }

    /// Counts what a clean-up run removed and how it ended.
    pub fn record_cleanup(&self, removed: &hk_idp_core::cleanup::Removed, failed: bool) {
        for (what, n) in &removed.rows {
            self.cleanup_removed
                .get_or_create(&TableLabels {
                    table: what.table().to_owned(),
                })
                .inc_by(*n);
        }
        let word = match (failed, removed.busy) {
            (true, _) => "failed",
            (false, true) => "busy",
            (false, false) => "done",
        };
        self.cleanup_runs.get_or_create(&outcome(word)).inc();
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

fn outcome(word: &str) -> OutcomeLabels {
    OutcomeLabels {
        outcome: word.to_owned(),
    }
}

impl Telemetry for Metrics {
    fn count(&self, what: Counted) {
        match what {
            Counted::Login { ok } => {
                self.logins
                    .get_or_create(&outcome(if ok { "succeeded" } else { "failed" }))
                    .inc();
            }
            Counted::CodeSent => {
                self.codes_sent.inc();
            }
            Counted::TokensIssued { grant } => {
                self.tokens_issued
                    .get_or_create(&GrantLabels {
                        grant_type: grant.to_owned(),
                    })
                    .inc();
            }
            Counted::RefreshReused => {
                self.refresh_reuse.inc();
            }
            Counted::Mail { sent } => {
                self.mails
                    .get_or_create(&outcome(if sent { "sent" } else { "failed" }))
                    .inc();
            }
        }
    }

    fn hash_waited(&self, waited: std::time::Duration) {
        self.argon2_wait.observe(waited.as_secs_f64());
    }
}
