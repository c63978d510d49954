//! Token revocation (RFC 7009), client-authenticated.

use crate::error::ApiError;
use crate::extract::{OAuthParams, authenticated_client};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

pub async fn revoke(
    State(state): State<AppState>,
    OAuthParams(params, headers): OAuthParams,
) -> Result<Response, ApiError> {
    let client = authenticated_client(&state, &headers, &params).await?;
    let token = params.require("token")?;
    state.provider.revoke(&client, token).await?;
    Ok(StatusCode::OK.into_response())
}
