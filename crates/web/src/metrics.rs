//! Prometheus metrics: requests by route and status, latency by route.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
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
        Self {
            registry,
            requests,
            latency,
            cleanup_removed,
            cleanup_runs,
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
        let outcome = match (failed, removed.busy) {
            (true, _) => "failed",
            (false, true) => "busy",
            (false, false) => "done",
        };
        self.cleanup_runs
            .get_or_create(&OutcomeLabels {
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
