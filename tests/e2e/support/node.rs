//! `hk-idp serve` as a separate process: a node as production runs it, to be
//! signalled, killed and waited for.

use crate::support::cli::BIN;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Node {
    child: Child,
    pub addr: SocketAddr,
    /// Every line the node has logged so far.
    log: Arc<Mutex<Vec<String>>>,
    _data: tempfile::TempDir,
}

impl Node {
    /// Starts a node on the embedded default in a fresh data folder, with
    /// `env` on top; returns once it listens.
    pub fn start(env: &[(&str, &str)]) -> Node {
        let data = tempfile::tempdir().unwrap();
        let dir = data.path().display().to_string();
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
            .env("RUST_LOG", "info")
            .env("IDP_LISTEN", "127.0.0.1:0")
            .env("IDP_ISSUER", "")
            .env("IDP_DATABASE_URL", format!("sqlite://{dir}/hk-idp.sqlite?mode=rwc"))
            .env("IDP_MAIL__OUTBOX_DIR", format!("{dir}/outbox"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let kept = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("server.started") {
                    let _ = tx.send(started_at(&line));
                }
                kept.lock().unwrap().push(line);
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("the node did not start: {:?}", log.lock().unwrap()));
        Node {
            child,
            addr: addr.parse().unwrap(),
            log,
            _data: data,
        }
    }

    /// Sends `signal` (`TERM`, `KILL`, …) to the node.
    pub fn signal(&self, signal: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{signal}");
    }

    /// Waits up to `limit` for the node to exit; its status and how long it took.
    pub fn wait(&mut self, limit: Duration) -> (ExitStatus, Duration) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, start.elapsed());
            }
            assert!(
                start.elapsed() < limit,
                "still running after {limit:?}: {:?}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `hk-idp args… --json` on this node's database, which must succeed; its JSON.
    pub fn cli_json(&self, args: &[&str], stdin: Option<&str>) -> serde_json::Value {
        let db = format!("sqlite://{}/hk-idp.sqlite?mode=rwc", self._data.path().display());
        let mut all = args.to_vec();
        all.push("--json");
        let out = crate::support::cli::hk_idp(&[("IDP_DATABASE_URL", db.as_str())], &all, stdin);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

/// The address in the `server.started` line, text (`addr=…`) or JSON (`"addr":"…"`).
fn started_at(line: &str) -> String {
    let rest = line
        .split("addr=")
        .nth(1)
        .or_else(|| line.split("\"addr\":\"").nth(1))
        .unwrap_or_default();
    rest.split(|c: char| c.is_whitespace() || c == '"')
        .next()
        .unwrap_or_default()
        .to_owned()
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
