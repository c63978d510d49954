//! Hosted pages: server-rendered askama templates, Norwegian bokmål first and
//! English second, no script, one stylesheet.

mod consent;
mod login;
mod logout;
mod otp;

use crate::error::PageError;
pub use crate::message_page::{MessagePage, render};
pub use crate::page_locale::locale;
use crate::state::AppState;
use crate::texts::{Texts, texts};
use axum::Router;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hk_idp_core::locale::Locale;
use hk_idp_core::oauth::authorize::AuthRequest;
use hk_idp_core::oauth::params::Params;
use std::future::Future;

const STYLESHEET: &str = include_str!("../static/hkid.css");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login::show_login).post(login::submit_login))
        .merge(otp::router())
        .route("/consent", get(consent::show_consent).post(consent::submit_consent))
        .route(
            hk_idp_core::oauth::discovery::paths::END_SESSION,
            get(logout::logout).post(logout::logout),
        )
        .route("/static/hkid.css", get(stylesheet))
}

async fn stylesheet() -> Response {
    let mut resp = STYLESHEET.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
    resp
}

/// `?req=…` (and `&`-joined extras) for links that carry the waiting request along.
pub fn query(req: Option<&str>, extra: &[(&str, &str)]) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    if let Some(r) = req {
        q.append_pair("req", r);
    }
    for (k, v) in extra {
        q.append_pair(k, v);
    }
    let s = q.finish();
    if s.is_empty() { s } else { format!("?{s}") }
}

/// What every page handler starts from: the language and the waiting request.
pub struct PageCtx {
    pub t: &'static Texts,
    pub locale: Locale,
    /// Id of the waiting authorization request, carried through every step.
    pub req: Option<String>,
    pub request: Option<AuthRequest>,
}

impl PageCtx {
    /// The language is the form's or query's `ui_locales`, then the waiting
    /// request's, then `Accept-Language`; errors from here on are in it.
    pub async fn load(state: &AppState, headers: &HeaderMap, p: &Params) -> Result<Self, PageError> {
        let asked = locale(headers, Some(p), None);
        let req = p
            .get("req")
            .map_err(|e| PageError::bad_request(e.description).or_locale(asked))?
            .map(str::to_owned);
        let request = match &req {
            Some(id) => Some(
                state
                    .provider
                    .find_auth_request(id)
                    .await
                    .map_err(|e| PageError::from(e).or_locale(asked))?
                    .ok_or_else(|| PageError::expired().or_locale(asked))?,
            ),
            None => None,
        };
        let locale = locale(headers, Some(p), request.as_ref());
        Ok(Self {
            t: texts(locale),
            locale,
            req,
            request,
        })
    }

    /// The e-mail the relying party suggested (`login_hint`), to fill in a form.
    pub fn login_hint(&self) -> Option<String> {
        self.request.as_ref().and_then(|r| r.login_hint.clone())
    }

    /// `?req=…` for links within the flow.
    pub fn query(&self) -> String {
        query(self.req.as_deref(), &[])
    }
}

/// Runs a page handler's body; an error it ends with is shown in `locale`
/// unless it already carries a language.
pub async fn in_locale(
    locale: Locale,
    body: impl Future<Output = Result<Response, PageError>>,
) -> Result<Response, PageError> {
    body.await.map_err(|e| e.or_locale(locale))
}
