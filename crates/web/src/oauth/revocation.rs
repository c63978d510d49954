//! Token revocation (RFC 7009), client-authenticated.

use crate::error::ApiError;
use crate::extract::{OAuthParams, client_credentials};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

pub async fn revoke(
    State(state): State<AppState>,
    OAuthParams(params, headers): OAuthParams,
) -> Result<Response, ApiError> {
    let creds = client_credentials(&headers, &params)?;
    let client = state.provider.authenticate_client(&creds).await?;
    let token = params.require("token")?;
    state.provider.revoke(&client, token).await?;
    Ok(StatusCode::OK.into_response())
}
