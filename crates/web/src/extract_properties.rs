//! Property tests for the client authentication and bearer headers: whatever
//! a stranger puts in `Authorization` (and the form beside it), the answer is
//! the credentials or the protocol's error — `invalid_client` or
//! `invalid_request` (RFC 6749 §5.2), `invalid_token` (RFC 6750 §3.1) —
//! never a panic. Failures found are kept beside this file
//! (`extract_properties.proptest-regressions`) and replayed first.

#![allow(clippy::unwrap_used)]

use crate::error::ApiError;
use crate::extract::{bearer_token, client_credentials};
use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hk_idp_core::error::{CoreError, OAuthErrorCode};
use hk_idp_core::oauth::params::Params;
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 512,
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}

/// An `Authorization` value: raw bytes, a scheme with junk, or Basic over
/// base64 of random text that is often `id:secret` with percent escapes.
fn authorization() -> impl Strategy<Value = Vec<u8>> {
    let scheme = prop_oneof![
        Just("Basic ".to_owned()),
        Just("basic ".to_owned()),
        Just("BASIC  ".to_owned()),
        Just("Bearer ".to_owned()),
        "[A-Za-z]{0,8} ?",
    ];
    let userpass = prop_oneof![
        "[a-zA-Z0-9%+:._~-]{0,40}",
        "\\PC{0,40}",
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ];
    let encoded = prop_oneof![
        userpass.prop_map(|u| STANDARD.encode(u)),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(|b| STANDARD.encode(b)),
        "[A-Za-z0-9+/=!* ]{0,40}",
    ];
    prop_oneof![
        3 => (scheme, encoded).prop_map(|(s, e)| format!("{s}{e}").into_bytes()),
        1 => proptest::collection::vec(any::<u8>(), 0..60),
    ]
}

fn form() -> impl Strategy<Value = Params> {
    let name = prop_oneof![
        Just("client_id".to_owned()),
        Just("client_secret".to_owned()),
        Just("access_token".to_owned()),
        "[a-z_]{0,12}",
    ];
    proptest::collection::vec((name, "\\PC{0,20}"), 0..4).prop_map(Params::new)
}

fn headers(auth: Option<&[u8]>) -> Option<HeaderMap> {
    let mut h = HeaderMap::new();
    if let Some(a) = auth {
        // What the HTTP layer could not carry never reaches the extractor.
        h.insert(header::AUTHORIZATION, HeaderValue::from_bytes(a).ok()?);
    }
    Some(h)
}

fn oauth_code(e: &ApiError) -> Option<OAuthErrorCode> {
    match &e.0 {
        CoreError::OAuth(o) => Some(o.code),
        _ => None,
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_client_authentication_is_credentials_or_the_protocols_error(
        auth in proptest::option::of(authorization()),
        p in form(),
    ) {
        let Some(h) = headers(auth.as_deref()) else { return Ok(()) };
        if let Err(e) = client_credentials(&h, &p) {
            let code = oauth_code(&e);
            prop_assert!(
                matches!(code, Some(OAuthErrorCode::InvalidClient | OAuthErrorCode::InvalidRequest)),
                "{e:?} for {auth:?} {p:?}"
            );
        }
    }

    #[test]
    fn any_bearer_header_is_a_token_or_the_protocols_error(
        auth in proptest::option::of(authorization()),
        p in form(),
    ) {
        let Some(h) = headers(auth.as_deref()) else { return Ok(()) };
        match bearer_token(&h, &p) {
            Ok(t) => prop_assert!(!t.is_empty()),
            Err(e) => prop_assert!(
                matches!(&e.0, CoreError::Unauthenticated(_))
                    || matches!(
                        oauth_code(&e),
                        Some(OAuthErrorCode::InvalidToken | OAuthErrorCode::InvalidRequest)
                    ),
                "{e:?} for {auth:?} {p:?}"
            ),
        }
    }
}
