//! The consent page: a third-party client asks for scopes the member has not
//! yet allowed it. First-party clients never show it.

use super::{PageCtx, in_locale, render};
use crate::error::PageError;
use crate::extract::PageParams;
use crate::session_cookie::{csrf_ok, csrf_token, session_id};
use crate::state::AppState;
use crate::texts::Texts;
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use hk_idp_core::account::session::Session;
use hk_idp_core::oauth::consent::Resume;
use hk_idp_core::oauth::scope::Scope;

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage {
    t: &'static Texts,
    csrf: String,
    req: String,
    intro: String,
    scopes: Vec<&'static str>,
    /// Whose consent this is: the member's name, or e-mail without one.
    who: String,
}

fn describe(t: &'static Texts, scope: &str) -> Option<&'static str> {
    match scope {
        "openid" => Some(t.scope_openid),
        "email" => Some(t.scope_email),
        "profile" => Some(t.scope_profile),
        "organization" => Some(t.scope_organization),
        "offline_access" => Some(t.scope_offline),
        _ => None,
    }
}

/// Where the person goes once logged in with a waiting request.
pub async fn after_login(state: &AppState, req: &str, session: &Session) -> Result<Response, PageError> {
    match state.provider.resume_authorization(req, session).await? {
        Resume::Redirect(url) => Ok(Redirect::to(&url).into_response()),
        Resume::AskConsent => Ok(Redirect::to(&format!("/consent{}", super::query(Some(req), &[]))).into_response()),
        Resume::Login => Ok(Redirect::to(&format!("/login{}", super::query(Some(req), &[]))).into_response()),
        Resume::Expired => Err(PageError::expired()),
    }
}

async fn current_session(state: &AppState, jar: &CookieJar) -> Result<Session, PageError> {
    state
        .provider
        .find_session(session_id(state, jar).as_deref())
        .await?
        .ok_or_else(PageError::expired)
}

pub async fn show_consent(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    PageParams(p): PageParams,
) -> Result<Response, PageError> {
    let ctx = PageCtx::load(&state, &headers, &p).await?;
    in_locale(ctx.locale, async move {
        let session = current_session(&state, &jar).await?;
        let req = ctx.req.clone().ok_or_else(PageError::expired)?;
        let member = state
            .provider
            .members
            .find_member(&session.member_id)
            .await?
            .ok_or_else(PageError::expired)?;
        let (request, client) = state
            .provider
            .consent_subject(&req)
            .await?
            .ok_or_else(PageError::expired)?;
        let scope = Scope::parse(&request.scope).unwrap_or_default();
        let (jar, csrf) = csrf_token(&state, jar);
        let page = ConsentPage {
            t: ctx.t,
            csrf,
            req,
            intro: ctx.t.consent_intro.replace("{client}", &client.name),
            // In the order of SUPPORTED: who you are first, then what more.
            scopes: hk_idp_core::oauth::scope::SUPPORTED
                .iter()
                .filter(|s| scope.contains(s))
                .filter_map(|s| describe(ctx.t, s))
                .collect(),
            who: member.name.unwrap_or_else(|| member.email.to_string()),
        };
        Ok((jar, render(StatusCode::OK, &page)).into_response())
    })
    .await
}

pub async fn submit_consent(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    PageParams(p): PageParams,
) -> Result<Response, PageError> {
    let ctx = PageCtx::load(&state, &headers, &p).await?;
    in_locale(ctx.locale, async move {
        let session = current_session(&state, &jar).await?;
        let req = ctx.req.clone().ok_or_else(PageError::expired)?;
        if !csrf_ok(&state, &jar, &p) {
            tracing::info!("consent.csrf_rejected");
            // Shown again with a fresh token; nothing was decided.
            let mut resp = show_consent(State(state), jar, headers, PageParams(p)).await?;
            *resp.status_mut() = StatusCode::FORBIDDEN;
            return Ok(resp);
        }
        let allow = p.field("decision") == Some("allow");
        match state.provider.decide_consent(&req, &session, allow).await? {
            Resume::Redirect(url) => Ok(Redirect::to(&url).into_response()),
            // What the request demanded (a new login) comes first.
            Resume::Login => Ok(Redirect::to(&format!("/login{}", super::query(Some(&req), &[]))).into_response()),
            Resume::AskConsent | Resume::Expired => Err(PageError::expired()),
        }
    })
    .await
}
