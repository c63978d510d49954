//! The logs as an operator's collector reads them: with `IDP_LOG_FORMAT=json`
//! one JSON object a line, and one access-log line per request with its
//! request id, route, status, latency and client address, and the member
//! once the request names one.

use crate::support::node::Node;
use serde_json::Value;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_give_one_access_line_per_request() {
    let node = Node::start(&[("IDP_LOG_FORMAT", "json")]);
    let http = reqwest::Client::new();
    let resp = http.get(format!("http://{}/jwks", node.addr)).send().await.unwrap();
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    let resp = http
        .post(format!("http://{}/token", node.addr))
        .form(&[
            ("grant_type", "password"),
            ("username", "kari@hk.no"),
            ("password", "hemmelig-passord"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = node.log();
    let lines: Vec<Value> = log
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let access: Vec<&Value> = lines
        .iter()
        .filter(|l| l["fields"]["message"] == "request.done")
        .collect();
    assert_eq!(access.len(), 2, "one line per request: {log:?}");
    let jwks = access
        .iter()
        .find(|l| l["span"]["request_id"] == id.as_str())
        .unwrap_or_else(|| panic!("{id}: {log:?}"));
    assert_eq!(jwks["level"], "INFO");
    assert!(jwks["timestamp"].is_string());
    assert_eq!(jwks["span"]["route"], "/jwks");
    assert_eq!(jwks["span"]["status"], 200);
    assert_eq!(jwks["span"]["client"], "127.0.0.1");
    assert!(jwks["span"]["latency_ms"].as_f64().is_some(), "{jwks}");
    assert!(
        !log.iter().any(|l| l.contains("hemmelig-passord")),
        "no password in the log"
    );
}

/// A login, a token and userinfo: each access-log line of a request that
/// names a member carries the member id; the others none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_lines_name_the_member_where_known() {
    use crate::support::{PASSWORD, REDIRECT, Site, TestClient, pkce};
    let node = Node::start(&[("IDP_LOG_FORMAT", "json")]);
    let kari = crate::support::email();
    let member = node.cli_json(&["user", "add", "--email", &kari, "--password-stdin"], Some(PASSWORD));
    let member_id = member["id"].as_str().unwrap().to_owned();
    let c = node.cli_json(
        &[
            "client",
            "create",
            "--name",
            "Portalen",
            "--redirect-uri",
            REDIRECT,
            "--first-party",
        ],
        None,
    );
    let client = TestClient {
        id: c["client_id"].as_str().unwrap().to_owned(),
        secret: c["client_secret"].as_str().map(str::to_owned),
    };
    let site = Site::plain(
        format!("http://{}", node.addr),
        crate::support::smtp::Mailbox::start().await,
    );
    let (verifier, challenge) = pkce();
    let code = site.code_for(&site.browser, &client, &challenge, &kari).await;
    let tokens = site.redeem(&client, &code, &verifier).await;
    assert_eq!(
        site.userinfo_status(tokens["access_token"].as_str().unwrap()).await,
        200
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let access: Vec<Value> = node
        .log()
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["fields"]["message"] == "request.done")
        .collect();
    let member_of = |method: &str, route: &str| {
        access
            .iter()
            .find(|l| l["span"]["route"] == route && l["span"]["method"] == method)
            .unwrap_or_else(|| panic!("{method} {route}: {access:?}"))["span"]["member_id"]
            .clone()
    };
    assert_eq!(member_of("POST", "/login"), member_id.as_str(), "the login");
    assert_eq!(member_of("POST", "/token"), member_id.as_str(), "the token");
    assert_eq!(member_of("GET", "/userinfo"), member_id.as_str(), "userinfo");
    assert_eq!(member_of("GET", "/login"), Value::Null, "no one known yet");
}

/// `IDP_OTEL_ENDPOINT`: the request spans reach an OTLP/HTTP collector
/// (here one of the test's own), protobuf-encoded, with the service name and
/// the request id of a request made; without the setting nothing is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_are_exported_over_otlp_when_an_endpoint_is_set() {
    use axum::body::Bytes;
    use axum::http::HeaderMap;
    use std::sync::{Arc, Mutex};
    type Received = Arc<Mutex<Vec<(String, String, Vec<u8>)>>>;
    let received: Received = Arc::default();
    let kept = received.clone();
    let collector = axum::Router::new().fallback(move |uri: axum::http::Uri, headers: HeaderMap, body: Bytes| {
        let kept = kept.clone();
        async move {
            let content_type = headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            kept.lock()
                .unwrap()
                .push((uri.path().to_owned(), content_type, body.to_vec()));
            ([("content-type", "application/x-protobuf")], Vec::<u8>::new())
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let at = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, collector).await });

    let endpoint = format!("http://{at}");
    let node = Node::start(&[
        ("IDP_OTEL_ENDPOINT", endpoint.as_str()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
    ]);
    let resp = reqwest::get(format!("http://{}/jwks", node.addr)).await.unwrap();
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    let start = std::time::Instant::now();
    loop {
        let got = received.lock().unwrap().clone();
        let with_id = got.iter().find(|(_, _, body)| contains(body, id.as_bytes()));
        if let Some((path, content_type, body)) = with_id {
            assert_eq!(path, "/v1/traces");
            assert_eq!(content_type, "application/x-protobuf");
            assert!(contains(body, b"hk-idp"), "the service name");
            assert!(contains(body, b"/jwks"), "the route");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "no trace with {id}: {got:?} {:?}",
            node.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    assert!(
        node.log().iter().any(|l| l.contains("traces.exporting")),
        "the node says where traces go"
    );
    drop(node);
    let quiet = Node::start(&[]);
    assert!(
        !quiet.log().iter().any(|l| l.contains("traces.")),
        "no export without the setting: {:?}",
        quiet.log()
    );
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
