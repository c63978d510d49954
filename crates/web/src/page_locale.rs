//! Which language a page is shown in.

use axum::http::{HeaderMap, header};
use hk_idp_core::locale::Locale;
use hk_idp_core::oauth::authorize::AuthRequest;
use hk_idp_core::oauth::params::Params;

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
