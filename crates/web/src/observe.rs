//! Per-request observation: request id (accepted or created, echoed back),
//! one span with method, matched route, status and latency, and metrics.
//! Also the security headers every response carries.

use crate::client_address::ClientAddr;
use crate::metrics::{RequestLabels, RouteLabels};
use crate::state::AppState;
use axum::Router;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use std::net::SocketAddr;
use std::time::Instant;
use tower_http::set_header::SetResponseHeaderLayer;
use tracing::Instrument;

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A trusted proxy's request id, else a new one: nobody else picks the id
/// the audit trail records.
fn request_id(req: &Request, from_proxy: bool) -> String {
    req.headers()
        .get(&REQUEST_ID)
        .filter(|_| from_proxy)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

pub async fn observe(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let from_proxy = peer.is_some_and(|p| state.trusted_proxies.trusts(p.ip()));
    let id = request_id(&req, from_proxy);
    let client = peer.map(|p| state.trusted_proxies.client_address(p, req.headers()));
    if let Some(ip) = client {
        req.extensions_mut().insert(ClientAddr(ip));
    }
    let client = client.map(|ip| ip.to_string()).unwrap_or_default();
    // The matched route, never the raw URI: it may carry e-mails or codes.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |m| m.as_str())
        .to_owned();
    let method = method_label(req.method()).to_owned();
    let span = tracing::info_span!("request", %method, %route, request_id = %id, %client, status = tracing::field::Empty, latency_ms = tracing::field::Empty, member_id = tracing::field::Empty);
    let (mut resp, member) = hk_idp_core::audit::with_request_id(id.clone(), next.run(req))
        .instrument(span.clone())
        .await;
    if let Some(m) = &member {
        span.record("member_id", m.as_str());
    }
    let status = resp.status().as_u16();
    let elapsed = started.elapsed();
    span.record("status", status);
    span.record("latency_ms", elapsed.as_secs_f64() * 1000.0);
    // The access log: one line a request, with the span's fields.
    span.in_scope(|| tracing::info!("request.done"));
    state
        .metrics
        .requests
        .get_or_create(&RequestLabels {
            method,
            route: route.clone(),
            status,
        })
        .inc();
    state
        .metrics
        .latency
        .get_or_create(&RouteLabels { route })
        .observe(elapsed.as_secs_f64());
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(REQUEST_ID.clone(), v);
    }
    resp
}

/// Strict CSP (no inline script or style), no framing, no sniffing, no
/// referrer; with an https issuer also HSTS (a year), on every response.
pub fn with_security_headers(router: Router<AppState>, https: bool) -> Router<AppState> {
    let set = |name, value| SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value));
    let router = router
        .layer(set(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'",
        ))
        .layer(set(header::X_FRAME_OPTIONS, "DENY"))
        .layer(set(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(set(header::REFERRER_POLICY, "no-referrer"));
    if https {
        router.layer(set(header::STRICT_TRANSPORT_SECURITY, "max-age=31536000"))
    } else {
        router
    }
}

/// The method as a metric label and span field: one of a fixed set, so a
/// stranger's made-up methods cannot create series without end.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
