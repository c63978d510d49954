//! Hosted pages: server-rendered askama templates, Norwegian bokmål first and
//! English second, no script, one stylesheet.

mod consent;
mod login;
mod logout;
mod otp;

use crate::state::AppState;
use crate::texts::{Texts, texts};
use askama::Template;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use hk_idp_core::locale::Locale;
use hk_idp_core::oauth::authorize::AuthRequest;
use hk_idp_core::oauth::params::Params;

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

/// Renders a page; pages are never cached (they carry CSRF tokens).
pub fn render<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(html) => {
            let mut resp = (status, Html(html)).into_response();
            resp.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            resp
        }
        Err(e) => {
            tracing::error!(error = %e, "page.render_failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "Intern feil").into_response()
        }
    }
}

/// The language of a page: an explicit `ui_locales` parameter, then the
/// waiting authorization request's `ui_locales`, then `Accept-Language`.
pub fn locale(headers: &HeaderMap, params: Option<&Params>, request: Option<&AuthRequest>) -> Locale {
    let explicit = params.and_then(|p| p.field("ui_locales"));
    explicit
        .and_then(Locale::from_ui_locales)
        .or_else(|| {
            request
                .and_then(|r| r.ui_locales.as_deref())
                .and_then(Locale::from_ui_locales)
        })
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Locale::from_accept_language)
        })
        .unwrap_or_default()
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

/// A page with a heading and one message: errors, notices, "logged out".
#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub t: &'static Texts,
    pub title: String,
    pub message: String,
    pub is_error: bool,
    pub link: Option<(String, String)>,
}

/// What went wrong on a page, for the error page in the person's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageFailure {
    /// With a detail for the relying party's developer, in English like the protocol.
    BadRequest(String),
    Expired,
    Internal,
}

impl MessagePage {
    pub fn info(t: &'static Texts, title: &str, message: &str) -> Self {
        Self {
            t,
            title: title.into(),
            message: message.into(),
            is_error: false,
            link: None,
        }
    }

    pub fn failure(t: &'static Texts, kind: &PageFailure) -> Self {
        let (title, message) = match kind {
            PageFailure::BadRequest(detail) => (t.error_title, format!("{} ({detail})", t.bad_request)),
            PageFailure::Expired => (t.expired_title, t.expired.to_owned()),
            PageFailure::Internal => (t.error_title, t.internal.to_owned()),
        };
        let link = (kind == &PageFailure::Expired).then(|| ("/login".to_owned(), t.back_to_login.to_owned()));
        Self {
            is_error: true,
            link,
            ..Self::info(t, title, &message)
        }
    }
}

/// Error pages are rendered in Norwegian where the error is mapped
/// (`error.rs`); this re-renders them in the language the request asked for.
pub async fn localize_errors(req: Request, next: Next) -> Response {
    let wanted = {
        let params = Params::new(
            url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
                .into_owned()
                .collect(),
        );
        locale(req.headers(), Some(&params), None)
    };
    let resp = next.run(req).await;
    match (wanted, resp.extensions().get::<PageFailure>()) {
        (Locale::En, Some(kind)) => render(resp.status(), &MessagePage::failure(texts(Locale::En), kind)),
        _ => resp,
    }
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
    pub async fn load(state: &AppState, headers: &HeaderMap, p: &Params) -> Result<Self, crate::error::PageError> {
        use crate::error::PageError;
        let req = p
            .get("req")
            .map_err(|e| PageError::BadRequest(e.description))?
            .map(str::to_owned);
        let request = match &req {
            Some(id) => Some(state.provider.find_auth_request(id).await?.ok_or(PageError::Expired)?),
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
