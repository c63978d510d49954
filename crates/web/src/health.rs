//! Liveness, readiness and the metrics endpoint.

use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use serde_json::json;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(show_metrics))
}

/// Ready when the database (and the short-lived store) answer, and the node
/// is not shutting down.
async fn ready(State(state): State<AppState>) -> Response {
    if state.draining.load(std::sync::atomic::Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "draining": true }))).into_response();
    }
    let db = state.database.ping().await;
    let kv = state.provider.kv.0.ping().await;
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

/// Prometheus text format (OpenMetrics).
async fn show_metrics(State(state): State<AppState>) -> Response {
    let mut resp = state.metrics.render().into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    resp
}
