//! The login page: e-mail and password, CSRF-protected; on success the SSO
//! session starts (new id) and the waiting authorization request resumes.

use super::{ErrorPage, render};
use crate::error::PageError;
use crate::extract::{ClientIp, PageParams};
use crate::session_cookie::{csrf_ok, csrf_token, session_id, set_session};
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub lang: &'static str,
    pub title: &'static str,
    pub csrf: String,
    pub req: Option<String>,
    pub email: String,
    pub error: Option<String>,
    pub notice: Option<String>,
    /// `?req=…` for the activation and forgotten-password links.
    pub query: String,
}

const WRONG_CREDENTIALS: &str = "Feil e-post eller passord.";
const FORM_EXPIRED: &str = "Skjemaet er utløpt eller ugyldig. Prøv igjen.";

fn page(state: &AppState, jar: CookieJar, req: Option<String>, email: String) -> (CookieJar, LoginPage) {
    let (jar, csrf) = csrf_token(state, jar);
    let query = req.as_ref().map(|r| format!("?req={r}")).unwrap_or_default();
    (
        jar,
        LoginPage {
            lang: "nb",
            title: "Innlogging",
            csrf,
            req,
            email,
            error: None,
            notice: None,
            query,
        },
    )
}

pub async fn show_login(
    State(state): State<AppState>,
    jar: CookieJar,
    PageParams(p): PageParams,
) -> Result<Response, PageError> {
    let req = p
        .get("req")
        .map_err(|e| PageError::BadRequest(e.description))?
        .map(str::to_owned);
    let mut email = String::new();
    if let Some(id) = &req {
        let request = state.provider.find_auth_request(id).await?.ok_or(PageError::Expired)?;
        email = request.login_hint.unwrap_or_default();
    }
    let (jar, page) = page(&state, jar, req, email);
    Ok((jar, render(StatusCode::OK, &page)).into_response())
}

pub async fn submit_login(
    State(state): State<AppState>,
    jar: CookieJar,
    ClientIp(ip): ClientIp,
    PageParams(p): PageParams,
) -> Result<Response, PageError> {
    let field = |name: &str| p.get(name).ok().flatten().map(str::to_owned);
    let req = field("req");
    let email = field("email").unwrap_or_default();
    if !csrf_ok(&state, &jar, field("csrf_token").as_deref()) {
        tracing::info!("login.csrf_rejected");
        let (jar, mut page) = page(&state, jar, req, email);
        page.error = Some(FORM_EXPIRED.into());
        return Ok((jar, render(StatusCode::FORBIDDEN, &page)).into_response());
    }
    let password = field("password").unwrap_or_default();
    let provider = &state.provider;
    let Some(member) = provider.login(&email, password, ip).await? else {
        let (jar, mut page) = page(&state, jar, req, email);
        page.error = Some(WRONG_CREDENTIALS.into());
        return Ok((jar, render(StatusCode::BAD_REQUEST, &page)).into_response());
    };
    let (cookie, session) = provider.start_session(&member.id, session_id(&jar).as_deref()).await?;
    let jar = set_session(&state, jar, cookie);
    let Some(id) = req else {
        let done = ErrorPage::info("Du er logget inn", "Du er nå logget inn i HK ID.");
        return Ok((jar, render(StatusCode::OK, &done)).into_response());
    };
    match provider.resume_authorization(&id, &session).await? {
        Some(url) => Ok((jar, Redirect::to(&url)).into_response()),
        None => Ok((jar, PageError::Expired).into_response()),
    }
}
