//! UserInfo (OIDC Core §5.3): GET or POST, bearer token in header or form.

use crate::error::ApiError;
use crate::extract::{OAuthParams, bearer_token};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

pub async fn userinfo(
    State(state): State<AppState>,
    OAuthParams(params, headers): OAuthParams,
) -> Result<Response, ApiError> {
    let token = bearer_token(&headers, &params)?;
    let claims = state.provider.userinfo(&token).await?;
    let mut resp = Json(claims).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}
