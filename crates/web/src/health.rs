//! Liveness, readiness and the metrics endpoint.

use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use serde_json::json;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
}

/// `/metrics`, on the main listener or on `server.metrics_listen`.
pub fn metrics_router() -> Router<AppState> {
    Router::new().route("/metrics", get(show_metrics))
}

/// Ready when the database (and the short-lived store) answer, and the node
/// is not shutting down.
async fn ready(State(state): State<AppState>) -> Response {
    if state.draining.load(std::sync::atomic::Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "draining": true }))).into_response();
    }
    // Both at once, each bounded: a probe must answer within its own
    // timeout (Kubernetes: 1 s) even when a store does not answer at all.
    let (db, kv) = tokio::join!(bounded(state.database.ping()), bounded(state.provider.kv.0.ping()));
    if let Err(e) = &db {
        tracing::warn!(error = %e, "readyz.database_down");
    }
    if let Err(e) = &kv {
        tracing::warn!(error = %e, "readyz.store_down");
    }
    let status = if db.is_ok() && kv.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let word = |ok: bool| if ok { "ok" } else { "down" };
    (
        status,
        Json(json!({ "database": word(db.is_ok()), "store": word(kv.is_ok()) })),
    )
        .into_response()
}

/// A store's ping, given up after `PING_TIMEOUT`.
async fn bounded<E: std::fmt::Display>(ping: impl std::future::Future<Output = Result<(), E>>) -> Result<(), String> {
    match tokio::time::timeout(PING_TIMEOUT, ping).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err(format!("no answer within {PING_TIMEOUT:?}")),
    }
}

const PING_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(800);

/// The gauges that are read when scraped: the argon2 line, the outbox (a
/// count in the database, bounded like a readiness ping) and the pool.
async fn read_gauges(state: &AppState) {
    let m = &state.metrics;
    let passwords = &state.provider.passwords;
    m.argon2_waiting.set(passwords.waiting() as i64);
    m.argon2_running.set(passwords.running() as i64);
    if let Ok(Ok(n)) = tokio::time::timeout(PING_TIMEOUT, state.provider.mail.waiting()).await {
        m.mail_queued.set(i64::try_from(n).unwrap_or(i64::MAX));
    }
    if let Some(p) = state.database.pool() {
        let gauge = |word: &str| {
            m.db_connections
                .get_or_create(&crate::metrics::PoolLabels { state: word.to_owned() })
                .clone()
        };
        gauge("in_use").set(i64::from(p.in_use));
        gauge("idle").set(i64::from(p.idle));
        m.db_connections_max.set(i64::from(p.max));
    }
}

/// OpenMetrics, as Prometheus asks for it; the older text format
/// (`text/plain; version=0.0.4`) to a scraper that asks only for that.
async fn show_metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let plain = !accept.contains("application/openmetrics-text") && accept.contains("text/plain");
    read_gauges(&state).await;
    let open_metrics = state.metrics.render();
    let (body, content_type) = if plain {
        // The same samples; the text format has no `# EOF` and no `# UNIT`,
        // and names a counter's HELP and TYPE by its samples' `_total` name.
        let counters: Vec<&str> = open_metrics
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
            .collect();
        let text: String = open_metrics
            .lines()
            .filter(|l| *l != "# EOF" && !l.starts_with("# UNIT "))
            .map(|l| {
                for kind in ["# TYPE ", "# HELP "] {
                    if let Some(rest) = l.strip_prefix(kind)
                        && let Some(name) = counters.iter().find(|c| rest.split(' ').next() == Some(**c))
                    {
                        return format!("{kind}{name}_total{}\n", &rest[name.len()..]);
                    }
                }
                format!("{l}\n")
            })
            .collect();
        (text, "text/plain; version=0.0.4; charset=utf-8")
    } else {
        (
            open_metrics,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )
    };
    let mut resp = body.into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}
