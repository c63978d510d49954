//! Token introspection (RFC 7662), client-authenticated.

use crate::error::ApiError;
use crate::extract::{OAuthParams, authenticated_client};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

pub async fn introspect(
    State(state): State<AppState>,
    OAuthParams(params, headers): OAuthParams,
) -> Result<Response, ApiError> {
    let client = authenticated_client(&state, &headers, &params).await?;
    let token = params.require("token")?;
    let answer = state.provider.introspect(&client, token).await?;
    let mut resp = Json(answer).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}
