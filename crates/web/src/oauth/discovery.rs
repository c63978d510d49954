//! Discovery (OIDC Discovery 1.0 §4) and JWKS (RFC 7517), served from bytes
//! rendered ahead of time.

use crate::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use std::sync::Arc;

fn json_bytes(bytes: Arc<[u8]>, cache_control: HeaderValue) -> Response {
    let mut resp = Response::new(Body::from(axum::body::Bytes::from_owner(ArcBytes(bytes))));
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(header::CACHE_CONTROL, cache_control);
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    resp
}

struct ArcBytes(Arc<[u8]>);

impl AsRef<[u8]> for ArcBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

pub async fn show_discovery(State(state): State<AppState>) -> Response {
    json_bytes(
        Arc::clone(&state.discovery),
        HeaderValue::from_static("public, max-age=3600"),
    )
}

/// Short cache (`keys.jwks_max_age`): relying parties must see a new key
/// before it signs.
pub async fn show_jwks(State(state): State<AppState>) -> Response {
    json_bytes(state.provider.signer.jwks(), state.jwks_cache_control.clone())
}
