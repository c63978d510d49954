//! The token endpoint (RFC 6749 §3.2): client authentication, then the grant.

use crate::error::ApiError;
use crate::extract::{OAuthParams, authenticated_client};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

pub async fn token(
    State(state): State<AppState>,
    OAuthParams(params, headers): OAuthParams,
) -> Result<Response, ApiError> {
    let client = authenticated_client(&state, &headers, &params).await?;
    let tokens = state.provider.token(&client, &params).await?;
    let mut resp = Json(tokens).into_response();
    // RFC 6749 §5.1.
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(resp)
}
