//! The authorization endpoint (OIDC Core §3.1.2): GET and POST.

use crate::error::PageError;
use crate::extract::{ClientIp, PageParams};
use crate::page_locale::locale;
use crate::session_cookie::session_id;
use crate::state::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use hk_idp_core::oauth::authorize::{AuthorizeError, AuthorizeOutcome};

pub async fn authorize(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    ClientIp(ip): ClientIp,
    PageParams(params): PageParams,
) -> Result<Response, PageError> {
    let shown_in = locale(&headers, Some(&params), None);
    redirect_or_page(&state, &jar, &params, ip.as_deref())
        .await
        .map_err(|e| e.or_locale(shown_in))
}

async fn redirect_or_page(
    state: &AppState,
    jar: &CookieJar,
    params: &hk_idp_core::oauth::params::Params,
    ip: Option<&str>,
) -> Result<Response, PageError> {
    let p = &state.provider;
    let session = p.find_session(session_id(state, jar).as_deref()).await?;
    match p.authorize(params, session, ip).await {
        Ok(AuthorizeOutcome::Redirect(url)) => Ok(Redirect::to(&url).into_response()),
        Ok(AuthorizeOutcome::Login { request_id }) => {
            Ok(Redirect::to(&format!("/login?req={request_id}")).into_response())
        }
        Ok(AuthorizeOutcome::Consent { request_id }) => {
            Ok(Redirect::to(&format!("/consent?req={request_id}")).into_response())
        }
        Err(AuthorizeError::Page(e)) => Err(PageError::bad_request(e.description)),
        Err(AuthorizeError::TooManyWaiting) => Err(PageError::too_many_waiting()),
        Err(AuthorizeError::Core(e)) => Err(PageError::from(e)),
    }
}
