//! The logs as an operator's collector reads them: with `IDP_LOG_FORMAT=json`
//! one JSON object a line, and one access-log line per request with its
//! request id, route, status, latency and client address.

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
