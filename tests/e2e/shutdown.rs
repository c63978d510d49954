//! SIGTERM, as Kubernetes sends it: readiness answers 503 at once, no new
//! connection is taken, requests in flight finish, and the process exits 0 —
//! within `server.shutdown_grace`, cutting off what takes longer.

use crate::support::node::Node;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A connection that has sent `start` of a request and waits to send the rest.
fn begun(node: &Node, start: &str) -> TcpStream {
    let mut s = TcpStream::connect(node.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(start.as_bytes()).unwrap();
    s
}

/// Sends `rest` and reads the whole answer (the server closes after it).
fn finish(mut s: TcpStream, rest: &str) -> String {
    s.write_all(rest.as_bytes()).unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer
}

const FORM: &str = "grant_type=client_credentials&client_id=nobody";

#[test]
fn sigterm_drains_requests_in_flight_then_exits_0() {
    let mut node = Node::start(&[("IDP_SERVER__SHUTDOWN_GRACE", "10")]);
    let token = begun(
        &node,
        &format!(
            "POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{}",
            FORM.len(),
            &FORM[..10]
        ),
    );
    let ready = begun(&node, "GET /readyz HTTP/1.1\r\nHost: x\r\n");
    std::thread::sleep(Duration::from_millis(300));
    node.signal("TERM");
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        TcpStream::connect(node.addr).is_err(),
        "no new connection after SIGTERM"
    );
    let answer = finish(ready, "\r\n");
    assert!(answer.starts_with("HTTP/1.1 503"), "readiness while draining: {answer}");
    assert!(answer.contains("draining"), "{answer}");
    let answer = finish(token, &FORM[10..]);
    assert!(
        answer.starts_with("HTTP/1.1 401"),
        "the request in flight is answered: {answer}"
    );
    assert!(answer.contains("invalid_client"), "{answer}");
    let (status, _) = node.wait(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{:?}", node.log());
    let log = node.log();
    assert!(log.iter().any(|l| l.contains("server.stopped")), "{log:?}");
    assert!(
        log.iter().all(|l| !l.contains('\u{1b}')),
        "no colour codes in a log that is not a terminal: {log:?}"
    );
}

#[test]
fn a_request_past_the_grace_is_cut_off_and_the_node_still_exits_0() {
    let mut node = Node::start(&[("IDP_SERVER__SHUTDOWN_GRACE", "1")]);
    let _stuck = begun(
        &node,
        "POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant",
    );
    std::thread::sleep(Duration::from_millis(300));
    node.signal("TERM");
    let (status, took) = node.wait(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{:?}", node.log());
    assert!(took < Duration::from_secs(5), "exited after {took:?}");
    assert!(
        node.log().iter().any(|l| l.contains("server.shutdown_grace_exceeded")),
        "{:?}",
        node.log()
    );
}

/// `hk-idp probe`, the container image's health check: 0 while the node
/// at `server.listen` is ready (also when it listens on every address),
/// non-zero once it is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_probe_command_says_whether_the_node_is_ready() {
    let mut node = Node::start(&[]);
    let probe = |listen: String, extra: &'static [&'static str]| {
        let mut args = vec!["probe"];
        args.extend_from_slice(extra);
        crate::support::cli::hk_idp(&[("IDP_LISTEN", listen.as_str())], &args, None)
    };
    let port = node.addr.port();
    let ready = probe(format!("0.0.0.0:{port}"), &[]);
    assert!(ready.status.success(), "{}", String::from_utf8_lossy(&ready.stderr));
    assert!(probe(node.addr.to_string(), &["--live"]).status.success());
    node.signal("KILL");
    node.wait(Duration::from_secs(5));
    let gone = probe(node.addr.to_string(), &[]);
    assert!(!gone.status.success());
    assert!(
        String::from_utf8_lossy(&gone.stderr).contains("/readyz"),
        "{}",
        String::from_utf8_lossy(&gone.stderr)
    );
}
