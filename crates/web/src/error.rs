//! The one place errors become responses. Protocol and admin endpoints answer
//! in the OAuth error JSON; internal causes are logged here, never sent.

use crate::message_page::{MessagePage, PageFailure, render};
use crate::texts::texts;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hk_idp_core::error::{CoreError, OAuthError, OAuthErrorCode, StoreError};
use hk_idp_core::locale::Locale;
use serde_json::json;

/// An error on a JSON endpoint.
#[derive(Debug)]
pub struct ApiError(pub CoreError);

impl<E: Into<CoreError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl ApiError {
    pub fn oauth(code: OAuthErrorCode, description: impl Into<String>) -> Self {
        ApiError(CoreError::OAuth(OAuthError::new(code, description)))
    }
}

fn body(code: OAuthErrorCode, description: &str) -> Json<serde_json::Value> {
    Json(json!({ "error": code.as_str(), "error_description": description }))
}

fn bearer_challenge(code: OAuthErrorCode, description: &str) -> HeaderValue {
    let d = description.replace(['"', '\\'], "");
    HeaderValue::from_str(&format!(
        "Bearer realm=\"hk-idp\", error=\"{code}\", error_description=\"{d}\""
    ))
    .unwrap_or(HeaderValue::from_static("Bearer realm=\"hk-idp\""))
}

/// Past `server.max_in_flight`: 503 `temporarily_unavailable`, try again in a
/// second. Not a warning per request: a flood would flood the log too; the
/// request metrics count the 503s.
pub async fn overloaded(_: tower::BoxError) -> Response {
    tracing::debug!("request.shed");
    let busy = CoreError::Unavailable("too many requests at once; try again".into());
    let mut resp = ApiError(busy).into_response();
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    resp
}

/// Seconds a client is asked to wait when a store does not answer.
const RETRY_AFTER: &str = "5";

/// A store or a service we depend on does not answer: it passes, so 503.
fn is_unavailable(e: &CoreError) -> bool {
    matches!(e, CoreError::Store(StoreError::Backend(_)) | CoreError::Unavailable(_))
}

/// Logs an internal failure once, with its cause chain.
pub fn log_internal(e: &CoreError) {
    let mut causes = String::new();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        causes.push_str(&format!(": {s}"));
        src = s.source();
    }
    tracing::error!(error = %e, causes = %causes, "request.failed");
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, description) = match &self.0 {
            CoreError::OAuth(e) => {
                let status = match e.code {
                    OAuthErrorCode::InvalidClient | OAuthErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
                    OAuthErrorCode::InsufficientScope => StatusCode::FORBIDDEN,
                    OAuthErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
                    OAuthErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
                    _ => StatusCode::BAD_REQUEST,
                };
                (status, e.code, e.description.clone())
            }
            CoreError::EmailExists => (
                StatusCode::CONFLICT,
                OAuthErrorCode::InvalidRequest,
                "e-mail address already registered".into(),
            ),
            CoreError::NotFound => (
                StatusCode::NOT_FOUND,
                OAuthErrorCode::InvalidRequest,
                "not found".into(),
            ),
            CoreError::Invalid(d) => (StatusCode::BAD_REQUEST, OAuthErrorCode::InvalidRequest, d.clone()),
            CoreError::Unauthenticated(d) => (StatusCode::UNAUTHORIZED, OAuthErrorCode::InvalidToken, d.clone()),
            CoreError::Conflict(d) => (StatusCode::CONFLICT, OAuthErrorCode::InvalidRequest, d.clone()),
            CoreError::Unavailable(d) => {
                tracing::warn!(error = %d, "request.dependency_failed");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    OAuthErrorCode::TemporarilyUnavailable,
                    d.clone(),
                )
            }
            CoreError::Store(StoreError::Backend(_)) => {
                log_internal(&self.0);
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    OAuthErrorCode::TemporarilyUnavailable,
                    "a store does not answer; try again shortly".into(),
                )
            }
            other => {
                log_internal(other);
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    OAuthErrorCode::ServerError,
                    "internal error".into(),
                )
            }
        };
        let mut resp = (status, body(code, &description)).into_response();
        let headers = resp.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if is_unavailable(&self.0) {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER));
        }
        match code {
            // RFC 6749 §5.2: 401 for invalid_client carries a challenge.
            OAuthErrorCode::InvalidClient => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"hk-idp\""),
                );
            }
            // RFC 6750 §3.1: no credentials, no error code in the challenge.
            _ if matches!(self.0, CoreError::Unauthenticated(_)) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"hk-idp\""),
                );
            }
            // RFC 6750 §3.
            OAuthErrorCode::InvalidToken | OAuthErrorCode::InsufficientScope => {
                headers.insert(header::WWW_AUTHENTICATE, bearer_challenge(code, &description));
            }
            _ => {}
        }
        resp
    }
}

/// An error on a hosted page: rendered as a page in the person's language,
/// which the error carries (see `pages::PageCtx`, `pages::in_locale`).
#[derive(Debug)]
pub struct PageError {
    kind: PageErrorKind,
    locale: Option<Locale>,
}

#[derive(Debug)]
enum PageErrorKind {
    /// The request cannot be trusted or understood (unknown client, bad redirect URI, bad input).
    BadRequest(String),
    /// The step expired or its request is gone.
    Expired,
    /// Too many logins waiting from the person's address group.
    TooManyWaiting,
    Internal(CoreError),
}

impl PageError {
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::of(PageErrorKind::BadRequest(detail.into()))
    }
    pub fn expired() -> Self {
        Self::of(PageErrorKind::Expired)
    }
    pub fn too_many_waiting() -> Self {
        Self::of(PageErrorKind::TooManyWaiting)
    }
    fn of(kind: PageErrorKind) -> Self {
        Self { kind, locale: None }
    }
    /// Shown in `locale` unless a language was set already.
    pub fn or_locale(mut self, locale: Locale) -> Self {
        self.locale.get_or_insert(locale);
        self
    }
}

impl<E: Into<CoreError>> From<E> for PageError {
    fn from(e: E) -> Self {
        Self::of(PageErrorKind::Internal(e.into()))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, failure) = match self.kind {
            PageErrorKind::BadRequest(detail) => {
                tracing::info!(detail = %detail, "page.bad_request");
                (StatusCode::BAD_REQUEST, PageFailure::BadRequest(detail))
            }
            PageErrorKind::Expired => (StatusCode::BAD_REQUEST, PageFailure::Expired),
            PageErrorKind::TooManyWaiting => (StatusCode::TOO_MANY_REQUESTS, PageFailure::TooManyWaiting),
            PageErrorKind::Internal(e) => {
                log_internal(&e);
                if is_unavailable(&e) {
                    (StatusCode::SERVICE_UNAVAILABLE, PageFailure::Unavailable)
                } else {
                    (StatusCode::INTERNAL_SERVER_ERROR, PageFailure::Internal)
                }
            }
        };
        let t = texts(self.locale.unwrap_or_default());
        let mut resp = render(status, &MessagePage::failure(t, &failure));
        if status == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER));
        }
        resp
    }
}
