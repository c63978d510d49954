//! The SSO session cookie and CSRF tokens. The CSRF token of a form is an
//! HMAC of a random per-browser cookie, so a page from another site can
//! neither read nor forge it.

use crate::state::AppState;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hk_idp_core::oauth::params::Params;
use hk_idp_core::secret::{constant_time_eq, random_token};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The cookies, each named `__Host-…` with an https issuer (RFC 6265bis:
/// only with `Secure`, `Path=/` and no `Domain`, so no other host can set
/// or shadow it).
#[derive(Clone, Copy)]
enum Name {
    Session,
    Csrf,
    /// Ties step 2 of activation or password reset to the browser that did step 1.
    Otp,
}

impl Name {
    fn of(self, state: &AppState) -> &'static str {
        match (self, state.cookie_secure()) {
            (Name::Session, false) => "hkid_session",
            (Name::Session, true) => "__Host-hkid_session",
            (Name::Csrf, false) => "hkid_csrf",
            (Name::Csrf, true) => "__Host-hkid_csrf",
            (Name::Otp, false) => "hkid_otp",
            (Name::Otp, true) => "__Host-hkid_otp",
        }
    }
}

fn cookie(state: &AppState, name: Name, value: String) -> Cookie<'static> {
    Cookie::build((name.of(state), value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.cookie_secure())
        .path("/")
        .build()
}

fn value(state: &AppState, jar: &CookieJar, name: Name) -> Option<String> {
    jar.get(name.of(state)).map(|c| c.value().to_owned())
}

pub fn session_id(state: &AppState, jar: &CookieJar) -> Option<String> {
    value(state, jar, Name::Session)
}

pub fn set_session(state: &AppState, jar: CookieJar, value: String) -> CookieJar {
    jar.add(cookie(state, Name::Session, value))
}

pub fn clear_session(state: &AppState, jar: CookieJar) -> CookieJar {
    jar.remove(cookie(state, Name::Session, String::new()))
}

pub fn otp_flow(state: &AppState, jar: &CookieJar) -> Option<String> {
    value(state, jar, Name::Otp)
}

pub fn set_otp_flow(state: &AppState, jar: CookieJar, value: String) -> CookieJar {
    jar.add(cookie(state, Name::Otp, value))
}

pub fn clear_otp_flow(state: &AppState, jar: CookieJar) -> CookieJar {
    jar.remove(cookie(state, Name::Otp, String::new()))
}

fn sign(state: &AppState, value: &str) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(&state.csrf_key) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(value.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// The CSRF token for this browser, setting the cookie it derives from if needed.
pub fn csrf_token(state: &AppState, jar: CookieJar) -> (CookieJar, String) {
    match value(state, &jar, Name::Csrf).filter(|v| v.len() == 43) {
        Some(v) => {
            let t = sign(state, &v);
            (jar, t)
        }
        None => {
            let v = random_token(32);
            let t = sign(state, &v);
            (jar.add(cookie(state, Name::Csrf, v)), t)
        }
    }
}

/// True if the form's `csrf_token` belongs to this browser's CSRF cookie.
pub fn csrf_ok(state: &AppState, jar: &CookieJar, form: &Params) -> bool {
    match (value(state, jar, Name::Csrf), form.field("csrf_token")) {
        (Some(c), Some(p)) if !p.is_empty() => constant_time_eq(&sign(state, &c), p),
        _ => false,
    }
}
