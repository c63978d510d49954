//! RP-Initiated Logout 1.0. With an ID token hint naming the current session
//! the session ends at once; otherwise the person confirms with a
//! CSRF-protected form. Unknown redirect targets are refused, never followed.

use super::{MessagePage, in_locale, render};
use crate::error::PageError;
use crate::extract::PageParams;
use crate::session_cookie::{clear_session, csrf_ok, csrf_token, session_id};
use crate::state::AppState;
use crate::texts::Texts;
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use hk_idp_core::error::CoreError;

#[derive(Template)]
#[template(path = "logout.html")]
struct ConfirmPage {
    t: &'static Texts,
    question: String,
    csrf: String,
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
    headers: HeaderMap,
    PageParams(p): PageParams,
) -> Result<Response, PageError> {
    let locale = super::locale(&headers, Some(&p), None);
    in_locale(locale, async move {
        let t = crate::texts::texts(locale);
        let provider = &state.provider;
        let request = match provider.check_logout(&p).await {
            Ok(r) => r,
            Err(CoreError::OAuth(e)) => return Err(PageError::bad_request(e.description)),
            Err(e) => return Err(e.into()),
        };
        let cookie = session_id(&state, &jar);
        let session = provider.find_session(cookie.as_deref()).await?;
        let confirmed = method == Method::POST && p.field("confirm") == Some("yes");
        if confirmed && !csrf_ok(&state, &jar, &p) {
            return Err(PageError::bad_request("the logout form has expired"));
        }
        let hint_names_session = session.as_ref().is_some_and(|s| {
            request.hint_sid.as_deref() == Some(s.sid.as_str())
                || (request.hint_sid.is_none() && request.hint_sub.as_deref() == Some(s.member_id.as_str()))
        });
        if session.is_some() && !confirmed && !hint_names_session {
            let (jar, csrf) = csrf_token(&state, jar);
            let hidden = PASSED_ON
                .iter()
                .filter_map(|k| p.field(k).map(|v| ((*k).to_owned(), v.to_owned())))
                .collect();
            let question = match request.client_name {
                Some(c) => t.logout_asked_by.replace("{client}", &c),
                None => t.logout_question.to_owned(),
            };
            let page = ConfirmPage {
                t,
                question,
                csrf,
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
                render(StatusCode::OK, &MessagePage::info(t, t.logged_out_title, t.logged_out)),
            )
                .into_response()),
        }
    })
    .await
}
