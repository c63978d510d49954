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

pub const SESSION_COOKIE: &str = "hkid_session";
const CSRF_COOKIE: &str = "hkid_csrf";
/// Ties step 2 of activation or password reset to the browser that did step 1.
const OTP_COOKIE: &str = "hkid_otp";

fn cookie(state: &AppState, name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build((name, value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.cookie_secure())
        .path("/")
        .build()
}

pub fn session_id(jar: &CookieJar) -> Option<String> {
    jar.get(SESSION_COOKIE).map(|c| c.value().to_owned())
}

pub fn set_session(state: &AppState, jar: CookieJar, value: String) -> CookieJar {
    jar.add(cookie(state, SESSION_COOKIE, value))
}

pub fn clear_session(state: &AppState, jar: CookieJar) -> CookieJar {
    jar.remove(cookie(state, SESSION_COOKIE, String::new()))
}

pub fn otp_flow(jar: &CookieJar) -> Option<String> {
    jar.get(OTP_COOKIE).map(|c| c.value().to_owned())
}

pub fn set_otp_flow(state: &AppState, jar: CookieJar, value: String) -> CookieJar {
    jar.add(cookie(state, OTP_COOKIE, value))
}

pub fn clear_otp_flow(state: &AppState, jar: CookieJar) -> CookieJar {
    jar.remove(cookie(state, OTP_COOKIE, String::new()))
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
    match jar
        .get(CSRF_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|v| v.len() == 43)
    {
        Some(v) => {
            let t = sign(state, &v);
            (jar, t)
        }
        None => {
            let v = random_token(32);
            let t = sign(state, &v);
            (jar.add(cookie(state, CSRF_COOKIE, v)), t)
        }
    }
}

/// True if the form's `csrf_token` belongs to this browser's CSRF cookie.
pub fn csrf_ok(state: &AppState, jar: &CookieJar, form: &Params) -> bool {
    match (jar.get(CSRF_COOKIE), form.field("csrf_token")) {
        (Some(c), Some(p)) if !p.is_empty() => constant_time_eq(&sign(state, c.value()), p),
        _ => false,
    }
}
