//! Property tests for what strangers send: the authorization query, the
//! token form, the scope and PKCE fields, a CSV import. Whatever the input,
//! no panic and no server fault — the protocol's error (or success). Failures
//! proptest finds are kept in `proptest-regressions/` and replayed first.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::admin::member_import::ImportReport;
use crate::audit::Actor;
use crate::error::{CoreError, OAuthErrorCode};
use crate::oauth::authorize::AuthorizeError;
use crate::oauth::client::Client;
use crate::oauth::params::Params;
use crate::oauth::pkce::parse_challenge;
use crate::oauth::scope::Scope;
use crate::testing::{CHALLENGE, REDIRECT, TestProvider};
use proptest::prelude::*;

/// An error a stranger's input must never cause.
fn server_fault(e: &CoreError) -> bool {
    match e {
        CoreError::OAuth(o) => o.code == OAuthErrorCode::ServerError,
        CoreError::Store(_) | CoreError::Signing(_) | CoreError::Internal(_) => true,
        _ => false,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

const NAMES: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "prompt",
    "max_age",
    "code_challenge",
    "code_challenge_method",
    "login_hint",
    "id_token_hint",
    "ui_locales",
    "response_mode",
    "request",
    "grant_type",
    "code",
    "code_verifier",
    "refresh_token",
    "client_secret",
];

/// A value: random text, or one that is nearly right, so the checks past the
/// first are reached too.
fn value(known: Vec<String>) -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,80}",
        "[a-zA-Z0-9 _.~:/?#=&%-]{0,40}",
        proptest::sample::select(known),
        "\\PC{0,600}",
    ]
}

fn pairs(known: Vec<String>) -> impl Strategy<Value = Vec<(String, String)>> {
    let name = prop_oneof![
        4 => proptest::sample::select(NAMES).prop_map(str::to_owned),
        1 => ".{0,12}",
    ];
    proptest::collection::vec((name, value(known)), 0..12)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}

fn near_values(client_id: &str, redirect: &str) -> Vec<String> {
    [
        client_id,
        redirect,
        "code",
        "openid",
        "openid email profile offline_access",
        "S256",
        "plain",
        "none",
        "login",
        "consent",
        "0",
        "-1",
        "99999999999999999999",
        "nb en",
        "query",
        "form_post",
        "authorization_code",
        "refresh_token",
        "client_credentials",
        "",
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

/// A valid authorization request, for random fields to be added to.
fn valid_request(client_id: &str) -> Vec<(String, String)> {
    [
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("scope", "openid email"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

/// A provider with one client, on its own runtime, and the nearly right values.
fn provider_with_client() -> (tokio::runtime::Runtime, TestProvider, Client, Vec<String>) {
    let rt = runtime();
    let (t, client) = rt.block_on(async {
        let t = TestProvider::new();
        let client = t.client(|_| {}).await;
        (t, client)
    });
    let known = near_values(&client.id, &client.redirect_uris[0]);
    (rt, t, client, known)
}

#[test]
fn any_authorization_query_gets_the_protocols_answer() {
    let (rt, t, client, known) = provider_with_client();
    proptest!(config(), |(p in pairs(known.clone()), base in any::<bool>())| {
        let mut all: Vec<(String, String)> = if base { valid_request(&client.id) } else { Vec::new() };
        all.extend(p);
        let params = Params::new(all);
        let outcome = rt.block_on(t.provider.authorize(&params, None, Some("127.0.0.1")));
        if let Err(AuthorizeError::Core(e)) = &outcome {
            prop_assert!(!server_fault(e), "{e:?} for {params:?}");
        }
    });
}

#[test]
fn any_token_form_gets_the_protocols_answer() {
    let (rt, t, client, known) = provider_with_client();
    proptest!(config(), |(p in pairs(known.clone()))| {
        let params = Params::new(p);
        match rt.block_on(t.provider.token(&client, &params)) {
            Ok(_) => {}
            Err(e) => prop_assert!(!server_fault(&e), "{e:?} for {params:?}"),
        }
    });
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_scope_parses_or_is_invalid_scope(raw in "\\PC{0,200}") {
        if let Err(e) = Scope::parse(&raw) {
            prop_assert_eq!(e.code, OAuthErrorCode::InvalidScope);
        }
    }

    #[test]
    fn any_pkce_pair_parses_or_is_invalid_request(c in proptest::option::of(".{0,200}"), m in proptest::option::of(".{0,12}")) {
        if let Err(e) = parse_challenge(c.as_deref(), m.as_deref()) {
            prop_assert_eq!(e.code, OAuthErrorCode::InvalidRequest);
        }
    }
}

#[test]
fn any_csv_import_reports_lines_or_refuses_the_file() {
    let rt = runtime();
    let t = rt.block_on(async { TestProvider::new() });
    let row = prop_oneof![
        "[a-z]{1,8}@[a-z]{1,6}\\.no(,[^\\n]{0,20}){0,4}",
        "[^\\n]{0,60}",
        Just("email,name,org_number,org_name".to_owned()),
        Just("email;name".to_owned()),
        Just("\"kari@hk.no\",\"Kari \"\"K\"\"\"".to_owned()),
    ];
    let file = proptest::collection::vec(row, 0..8).prop_map(|r| r.join("\n"));
    let bytes = prop_oneof![
        file.prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..200)
    ];
    proptest!(config(), |(input in bytes)| {
        let result: Result<ImportReport, CoreError> = rt.block_on(t.provider.import_csv(&input[..], &Actor::cli()));
        if let Err(e) = &result {
            prop_assert!(!server_fault(e), "{e:?} for {:?}", String::from_utf8_lossy(&input));
        }
    });
}
