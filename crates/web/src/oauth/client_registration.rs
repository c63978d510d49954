//! Dynamic client registration (RFC 7591 §3) behind the admin token as the
//! initial access token, and client configuration (RFC 7592 §2) behind the
//! registration access token.

use crate::error::ApiError;
use crate::extract::{Admin, ClientIp, RawBody, bearer_token, json_body};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hk_idp_core::error::{CoreError, OAuthError};
use hk_idp_core::oauth::client_registration::{ClientMetadata, Issued, client_information};
use hk_idp_core::oauth::params::Params;

fn answer(state: &AppState, status: StatusCode, issued: &Issued) -> Response {
    let mut resp = (
        status,
        Json(client_information(&state.provider.settings.issuer, issued)),
    )
        .into_response();
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}

/// The registration access token; any trouble with it is RFC 6750's invalid_token.
fn registration_token(headers: &HeaderMap) -> Result<String, ApiError> {
    bearer_token(headers, &Params::default()).map_err(|e| match e {
        ApiError(CoreError::Unauthenticated(_)) => {
            CoreError::Unauthenticated("a registration access token is required".into()).into()
        }
        _ => OAuthError::invalid_token("a registration access token is required").into(),
    })
}

pub async fn register(
    State(state): State<AppState>,
    admin: Admin,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let metadata: ClientMetadata = json_body(&headers, &body, true)?;
    let new = metadata.into_new_client()?;
    let issued = state.provider.create_client(new, &admin.actor).await?;
    let mut resp = answer(&state, StatusCode::CREATED, &issued);
    if let Ok(v) = HeaderValue::from_str(&hk_idp_core::oauth::client_registration::registration_client_uri(
        &state.provider.settings.issuer,
        &issued.client.id,
    )) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

pub async fn read(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let token = registration_token(&headers)?;
    let client = state.provider.registered_client(&client_id, &token).await?;
    let issued = Issued {
        client,
        secret: None,
        registration_token: token,
    };
    Ok(answer(&state, StatusCode::OK, &issued))
}

pub async fn update(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let token = registration_token(&headers)?;
    // §2.2: the token is checked before the body is looked at.
    let current = state.provider.registered_client(&client_id, &token).await?;
    let metadata: ClientMetadata = json_body(&headers, &body, true)?;
    let issued = state
        .provider
        .update_registration(current, &token, metadata, ip)
        .await?;
    Ok(answer(&state, StatusCode::OK, &issued))
}

pub async fn delete(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(client_id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let token = registration_token(&headers)?;
    state.provider.delete_registration(&client_id, &token, ip).await?;
    Ok(StatusCode::NO_CONTENT)
}
