//! Hosted pages: server-rendered askama templates, Norwegian bokmål, no
//! script, one stylesheet.

mod login;
mod logout;

use crate::state::AppState;
use askama::Template;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

const STYLESHEET: &str = include_str!("../static/hkid.css");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login::show_login).post(login::submit_login))
        .route(
            hk_idp_core::discovery::paths::END_SESSION,
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

/// A page with a heading and one message: errors, notices, "logged out".
#[derive(Template)]
#[template(path = "message.html")]
pub struct ErrorPage {
    pub lang: &'static str,
    pub title: String,
    pub message: String,
    pub is_error: bool,
    pub link: Option<(String, String)>,
}

impl ErrorPage {
    pub fn info(title: &str, message: &str) -> Self {
        Self {
            lang: "nb",
            title: title.into(),
            message: message.into(),
            is_error: false,
            link: None,
        }
    }

    fn error(message: &str) -> Self {
        Self {
            lang: "nb",
            title: "Noe gikk galt".into(),
            message: message.into(),
            is_error: true,
            link: None,
        }
    }

    pub fn bad_request(detail: &str) -> Self {
        // The detail is for the developer of the relying party; it is in English like the protocol.
        Self::error(&format!(
            "Forespørselen fra tjenesten du kom fra er ugyldig, så vi kan ikke sende deg tilbake dit. ({detail})"
        ))
    }

    pub fn expired() -> Self {
        let mut p = Self::error("Siden er utløpt. Gå tilbake til tjenesten du kom fra og prøv igjen.");
        p.title = "Siden er utløpt".into();
        p
    }

    pub fn internal() -> Self {
        Self::error("En teknisk feil oppstod. Prøv igjen om litt.")
    }
}
