//! The audit trail, newest first, filtered and paged.

use crate::error::ApiError;
use crate::extract::Admin;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Query, State};
use hk_idp_core::audit::{AuditPage, AuditQuery, Cursor};
use hk_idp_core::error::CoreError;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    member: Option<String>,
    kind: Option<String>,
    since: Option<i64>,
    until: Option<i64>,
    cursor: Option<String>,
    limit: Option<u64>,
}

pub async fn list_events(
    State(state): State<AppState>,
    _: Admin,
    params: Result<Query<AuditParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<AuditPage>, ApiError> {
    let Query(p) = params.map_err(|e| CoreError::Invalid(e.body_text()))?;
    // `?member=` means no filter, as a form left empty would send it.
    let given = |v: Option<String>| v.filter(|s| !s.is_empty());
    let q = AuditQuery {
        member_id: given(p.member),
        kind: given(p.kind),
        since: p.since,
        until: p.until,
        after: given(p.cursor).as_deref().map(Cursor::parse).transpose()?,
        limit: p.limit.unwrap_or(100),
    };
    Ok(Json(state.provider.audit_page(q).await?))
}
