//! The member registry: create, look up by e-mail, change, delete.

use crate::error::ApiError;
use crate::extract::{Admin, RawBody, has_content_type, json_body};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use hk_idp_core::account::member::MemberView;
use hk_idp_core::admin::member_registry::{MemberChanges, NewMember};
use hk_idp_core::error::CoreError;
use serde::Deserialize;
use std::collections::HashMap;

/// A member list of a few hundred thousand rows fits.
const IMPORT_LIMIT: usize = 256 * 1024 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateUser {
    email: String,
    name: Option<String>,
    org_number: Option<String>,
    org_name: Option<String>,
}

pub async fn create_user(
    State(state): State<AppState>,
    admin: Admin,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let u: CreateUser = json_body(&headers, &body, false)?;
    let new = NewMember {
        email: u.email,
        name: u.name,
        org_number: u.org_number,
        org_name: u.org_name,
        password: None,
    };
    let p = &state.provider;
    let member = p
        .create_member(new, p.settings.passwords.min_length, &admin.actor)
        .await?;
    let mut resp = (StatusCode::CREATED, Json(MemberView::from(&member))).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/admin/users/{}", member.id)) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

pub async fn find_user(
    State(state): State<AppState>,
    _: Admin,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<MemberView>, ApiError> {
    let email = q
        .get("email")
        .ok_or_else(|| CoreError::Invalid("the email query parameter is required".into()))?;
    let member = state.provider.member_by_email(email).await?;
    Ok(Json(MemberView::from(&member)))
}

/// `null` clears a field; a missing one stays as it is.
fn change(v: &serde_json::Value, field: &str) -> Result<Option<String>, CoreError> {
    match v {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::String(s) => Ok(Some(s.clone())),
        _ => Err(CoreError::Invalid(format!("{field} must be a string or null"))),
    }
}

pub async fn change_user(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Json<MemberView>, ApiError> {
    let fields: serde_json::Map<String, serde_json::Value> = json_body(&headers, &body, false)?;
    let mut changes = MemberChanges::default();
    for (k, v) in &fields {
        match k.as_str() {
            "name" => changes.name = Some(change(v, k)?),
            "org_number" => changes.org_number = Some(change(v, k)?),
            "org_name" => changes.org_name = Some(change(v, k)?),
            "disabled" => {
                changes.disabled = Some(
                    v.as_bool()
                        .ok_or_else(|| CoreError::Invalid("disabled must be true or false".into()))?,
                )
            }
            other => return Err(CoreError::Invalid(format!("{other} cannot be changed")).into()),
        }
    }
    let member = state.provider.change_member(&id, changes, &admin.actor).await?;
    Ok(Json(MemberView::from(&member)))
}

pub async fn delete_user(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.provider.remove_member(&id, &admin.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct InviteRequest {
    #[serde(default)]
    resend: bool,
}

/// Sends the invitation mail (202); a second needs `{"resend": true}`.
pub async fn invite_user(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let req: InviteRequest = if body.iter().all(u8::is_ascii_whitespace) {
        InviteRequest::default()
    } else {
        json_body(&headers, &body, false)?
    };
    let p = &state.provider;
    let member = p.find_member(&id).await?;
    let member = p.invite_member(&member, req.resend, &admin.actor).await?;
    Ok((StatusCode::ACCEPTED, Json(MemberView::from(&member))).into_response())
}

/// `text/csv` in, `{"created", "existing", "rejected": [{"line", "reason"}]}` out.
pub async fn import_users(
    State(state): State<AppState>,
    admin: Admin,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Json<hk_idp_core::admin::member_import::ImportReport>, ApiError> {
    if !has_content_type(&headers, "text/csv") {
        return Err(CoreError::Invalid("the body must be text/csv".into()).into());
    }
    // Read as a stream, not buffered: the general body limit does not apply,
    // this one does.
    let mut seen = 0usize;
    let stream = body.into_data_stream().map(move |chunk| {
        let chunk = chunk.map_err(std::io::Error::other)?;
        seen += chunk.len();
        if seen > IMPORT_LIMIT {
            return Err(std::io::Error::other("the file is larger than 256 MiB"));
        }
        Ok(chunk)
    });
    let reader = tokio_util::io::StreamReader::new(stream);
    let report = state.provider.import_csv(reader, &admin.actor).await?;
    Ok(Json(report))
}
