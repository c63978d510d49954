//! Rendering a page, and the page with one message (notices, "logged out",
//! errors). Shared by the page handlers and the error mapping.

use crate::texts::Texts;
use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

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
    TooManyWaiting,
    /// The database or the short-lived store does not answer; it passes.
    Unavailable,
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
            PageFailure::TooManyWaiting => (t.too_many_waiting_title, t.too_many_waiting.to_owned()),
            PageFailure::Unavailable => (t.unavailable_title, t.unavailable.to_owned()),
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
