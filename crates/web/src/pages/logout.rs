//! RP-Initiated Logout 1.0. With an ID token hint naming the current session
//! the session ends at once; otherwise the person confirms with a
//! CSRF-protected form. Unknown redirect targets are refused, never followed.

use super::{ErrorPage, render};
use crate::error::PageError;
use crate::extract::PageParams;
use crate::session_cookie::{clear_session, csrf_ok, csrf_token, session_id};
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use hk_idp_core::error::CoreError;

#[derive(Template)]
#[template(path = "logout.html")]
struct ConfirmPage {
    lang: &'static str,
    title: &'static str,
    csrf: String,
    client_name: Option<String>,
    hidden: Vec<(String, String)>,
}

const PASSED_ON: [&str; 5] = [
    "id_token_hint",
    "client_id",
    "post_logout_redirect_uri",
    "state",
    "ui_locales",
];

pub async fn logout(
    State(state): State<AppState>,
    method: Method,
    jar: CookieJar,
    PageParams(p): PageParams,
) -> Result<Response, PageError> {
    let provider = &state.provider;
    let request = match provider.check_logout(&p).await {
        Ok(r) => r,
        Err(CoreError::OAuth(e)) => return Err(PageError::BadRequest(e.description)),
        Err(e) => return Err(e.into()),
    };
    let cookie = session_id(&jar);
    let session = provider.find_session(cookie.as_deref()).await?;
    let confirmed = method == Method::POST && p.get("confirm").ok().flatten() == Some("yes");
    if confirmed && !csrf_ok(&state, &jar, p.get("csrf_token").ok().flatten()) {
        return Err(PageError::BadRequest("the logout form has expired".into()));
    }
    let hint_names_session = session.as_ref().is_some_and(|s| {
        request.hint_sid.as_deref() == Some(s.sid.as_str())
            || (request.hint_sid.is_none() && request.hint_sub.as_deref() == Some(s.member_id.as_str()))
    });
    if session.is_some() && !confirmed && !hint_names_session {
        let (jar, csrf) = csrf_token(&state, jar);
        let hidden = PASSED_ON
            .iter()
            .filter_map(|k| p.get(k).ok().flatten().map(|v| ((*k).to_owned(), v.to_owned())))
            .collect();
        let page = ConfirmPage {
            lang: "nb",
            title: "Logg ut",
            csrf,
            client_name: request.client_name,
            hidden,
        };
        return Ok((jar, render(StatusCode::OK, &page)).into_response());
    }
    let jar = match cookie {
        Some(c) => {
            provider.end_session(&c).await?;
            clear_session(&state, jar)
        }
        None => jar,
    };
    match request.redirect {
        Some(url) => Ok((jar, Redirect::to(&url)).into_response()),
        None => Ok((
            jar,
            render(
                StatusCode::OK,
                &ErrorPage::info("Du er logget ut", "Du er nå logget ut av HK ID."),
            ),
        )
            .into_response()),
    }
}
