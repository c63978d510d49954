//! Dynamic client registration (RFC 7591 §3), behind the admin token as the
//! initial access token.

use crate::error::ApiError;
use crate::extract::Admin;
use crate::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hk_idp_core::error::{OAuthError, OAuthErrorCode};
use hk_idp_core::registration::{ClientMetadata, client_information};

pub async fn register(
    State(state): State<AppState>,
    _: Admin,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("application/json"));
    if !is_json {
        return Err(OAuthError::invalid_request("the body must be application/json").into());
    }
    let metadata: ClientMetadata = serde_json::from_slice(&body).map_err(|e| {
        OAuthError::new(
            OAuthErrorCode::InvalidClientMetadata,
            format!("the metadata is not valid JSON of the right shape: {e}"),
        )
    })?;
    let new = metadata.validate()?;
    let (client, secret) = state.provider.create_client(new, "admin").await?;
    let mut resp = (
        StatusCode::CREATED,
        Json(client_information(&client, secret.as_deref())),
    )
        .into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}
