//! The login page: e-mail and password, CSRF-protected; on success the SSO
//! session starts (new id) and the waiting authorization request resumes.

use super::{MessagePage, PageCtx, in_locale, render};
use crate::error::PageError;
use crate::extract::{ClientIp, PageParams};
use crate::session_cookie::{csrf_ok, csrf_token, session_id, set_session};
use crate::state::AppState;
use crate::texts::{Texts, with_n};
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use hk_idp_core::account::login::LoginOutcome;

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub t: &'static Texts,
    pub csrf: String,
    pub req: Option<String>,
    pub email: String,
    pub error: Option<String>,
    pub notice: Option<&'static str>,
    /// `?req=…` for the activation and forgotten-password links.
    pub query: String,
}

fn page(state: &AppState, jar: CookieJar, ctx: &PageCtx, email: String) -> (CookieJar, LoginPage) {
    let (jar, csrf) = csrf_token(state, jar);
    (
        jar,
        LoginPage {
            t: ctx.t,
            csrf,
            req: ctx.req.clone(),
            email,
            error: None,
            notice: None,
            query: ctx.query(),
        },
    )
}

pub async fn show_login(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    PageParams(p): PageParams,
) -> Result<Response, PageError> {
    let ctx = PageCtx::load(&state, &headers, &p).await?;
    in_locale(ctx.locale, async move {
        let email = ctx.login_hint().unwrap_or_default();
        let (jar, mut page) = page(&state, jar, &ctx, email);
        if p.field("password_set").is_some() {
            page.notice = Some(ctx.t.password_set);
        }
        Ok((jar, render(StatusCode::OK, &page)).into_response())
    })
    .await
}

pub async fn submit_login(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    ClientIp(ip): ClientIp,
    PageParams(p): PageParams,
) -> Result<Response, PageError> {
    let ctx = PageCtx::load(&state, &headers, &p).await?;
    in_locale(ctx.locale, async move {
        let field = |name: &str| p.field(name).map(str::to_owned);
        let email = field("email").unwrap_or_default();
        let t = ctx.t;
        if !csrf_ok(&state, &jar, &p) {
            tracing::info!("login.csrf_rejected");
            let (jar, mut page) = page(&state, jar, &ctx, email);
            page.error = Some(t.form_expired.into());
            return Ok((jar, render(StatusCode::FORBIDDEN, &page)).into_response());
        }
        let password = field("password").unwrap_or_default();
        let provider = &state.provider;
        let member = match provider.login(&email, password, ip).await? {
            LoginOutcome::Success(m) => m,
            LoginOutcome::Failed => {
                let (jar, mut page) = page(&state, jar, &ctx, email);
                page.error = Some(t.wrong_credentials.into());
                return Ok((jar, render(StatusCode::BAD_REQUEST, &page)).into_response());
            }
            LoginOutcome::Throttled { wait } => {
                let (jar, mut page) = page(&state, jar, &ctx, email);
                page.error = Some(with_n(t.throttled, wait));
                let mut resp = render(StatusCode::TOO_MANY_REQUESTS, &page);
                if let Ok(v) = wait.to_string().parse() {
                    resp.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
                }
                return Ok((jar, resp).into_response());
            }
        };
        let (cookie, session) = provider
            .start_session(&member.id, session_id(&state, &jar).as_deref())
            .await?;
        let jar = set_session(&state, jar, cookie);
        let Some(id) = ctx.req else {
            let done = MessagePage::info(t, t.logged_in_title, t.logged_in);
            return Ok((jar, render(StatusCode::OK, &done)).into_response());
        };
        Ok((jar, super::consent::after_login(&state, &id, &session).await?).into_response())
    })
    .await
}
