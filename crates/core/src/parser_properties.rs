//! Property tests for what strangers send: the authorization query, the
//! token form, the scope and PKCE fields, a CSV import, registration JSON. Whatever the input,
//! no panic and no server fault — the protocol's error (or success). Failures
//! proptest finds are kept beside this file
//! (`parser_properties.proptest-regressions`) and replayed first.

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

/// A JSON value for a metadata member: the right type or not, nearly right
/// values (RFC 7591 §2) and junk.
fn metadata_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::{Value, json};
    let text = prop_oneof![
        proptest::sample::select(vec![
            "https://rp.example/cb",
            "http://127.0.0.1:9/cb",
            "http://localhost/cb",
            "http://rp.example/cb",
            "https://rp.example/cb#frag",
            "javascript:alert(1)",
            "https://",
            "code",
            "token",
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "implicit",
            "none",
            "client_secret_post",
            "client_secret_basic",
            "private_key_jwt",
            "RS256",
            "ES256",
            "HS256",
            "openid email offline_access",
            "",
        ])
        .prop_map(str::to_owned),
        "\\PC{0,60}",
    ];
    let scalar = prop_oneof![
        text.clone().prop_map(Value::String),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        Just(Value::Null),
    ];
    prop_oneof![
        2 => scalar,
        2 => proptest::collection::vec(text.prop_map(Value::String), 0..4).prop_map(Value::Array),
        1 => proptest::collection::vec(any::<u8>(), 0..3).prop_map(|b| json!({ "x": b })),
    ]
}

fn metadata() -> impl Strategy<Value = serde_json::Value> {
    const MEMBERS: &[&str] = &[
        "redirect_uris",
        "post_logout_redirect_uris",
        "grant_types",
        "response_types",
        "token_endpoint_auth_method",
        "id_token_signed_response_alg",
        "client_name",
        "client_uri",
        "logo_uri",
        "contacts",
        "initiate_login_uri",
        "scope",
        "first_party",
        "client_secret",
        "rotate_secret",
        "client_id",
        "software_statement",
    ];
    let member = prop_oneof![
        6 => proptest::sample::select(MEMBERS).prop_map(str::to_owned),
        1 => ".{0,10}",
    ];
    // Half the time over a valid registration, so the checks past the first are reached.
    let valid = proptest::option::of(Just(("redirect_uris".to_owned(), serde_json::json!([REDIRECT]))));
    (valid, proptest::collection::vec((member, metadata_value()), 0..4))
        .prop_map(|(valid, members)| serde_json::Value::Object(valid.into_iter().chain(members).collect()))
}

/// RFC 7591 §3.2.2 and RFC 7592 §2.2: what a registration or an update may
/// be refused with.
fn registration_refusal(e: &CoreError) -> bool {
    matches!(e, CoreError::OAuth(o) if matches!(
        o.code,
        OAuthErrorCode::InvalidClientMetadata | OAuthErrorCode::InvalidRedirectUri | OAuthErrorCode::InvalidRequest
    ))
}

#[test]
fn any_registration_json_registers_a_client_or_names_the_bad_metadata() {
    use crate::oauth::client_registration::ClientMetadata;
    let rt = runtime();
    let t = rt.block_on(async { TestProvider::new() });
    proptest!(config(), |(first in metadata(), mut second in metadata(), own_id in any::<bool>())| {
        // Not of the right shape: the web layer answers invalid_client_metadata.
        let Ok(meta) = serde_json::from_value::<ClientMetadata>(first.clone()) else { return Ok(()) };
        let created = meta
            .into_new_client()
            .map_err(CoreError::from)
            .and_then(|new| rt.block_on(t.provider.create_client(new, &Actor::cli())));
        let issued = match created {
            Err(e) => {
                prop_assert!(registration_refusal(&e), "{e:?} for {first}");
                return Ok(());
            }
            Ok(issued) => issued,
        };
        // RFC 7592 §2.2: the update of what was just registered.
        if own_id {
            second["client_id"] = issued.client.id.clone().into();
        }
        let Ok(meta) = serde_json::from_value::<ClientMetadata>(second.clone()) else { return Ok(()) };
        let updated = rt.block_on(t.provider.update_registration(
            issued.client,
            &issued.registration_token,
            meta,
            None,
        ));
        if let Err(e) = &updated {
            prop_assert!(registration_refusal(e), "{e:?} for {second}");
        }
    });
}
