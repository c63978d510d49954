//! Dynamic client registration (RFC 7591 §3), behind the admin token as the
//! initial access token.

use crate::error::ApiError;
use crate::extract::{Admin, json_body};
use crate::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hk_idp_core::registration::{ClientMetadata, client_information};

pub async fn register(
    State(state): State<AppState>,
    admin: Admin,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let metadata: ClientMetadata = json_body(&headers, &body, true)?;
    let new = metadata.validate()?;
    let (client, secret) = state.provider.create_client(new, &admin.actor).await?;
    let mut resp = (
        StatusCode::CREATED,
        Json(client_information(&client, secret.as_deref())),
    )
        .into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}
