//! nginx in front of the nodes, as production runs it: TLS with the test
//! CA's certificate, round-robin over the nodes, `X-Forwarded-For` and
//! `X-Request-Id` set, a failed node skipped (`proxy_next_upstream`). Its
//! access log says which node served each request.

use crate::support::ca::TestCa;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Proxy {
    child: Child,
    pub addr: SocketAddr,
    /// The nodes, in the order round-robin visits them.
    pub upstreams: Vec<SocketAddr>,
    dir: tempfile::TempDir,
}

/// One line of the access log.
#[derive(Debug, Clone)]
pub struct Hit {
    pub method: String,
    pub uri: String,
    pub status: u16,
    /// Every node tried, in order: more than one when nginx went on to the
    /// next after a failure.
    pub upstreams: Vec<SocketAddr>,
    pub request_id: String,
}

impl Proxy {
    /// nginx on 127.0.0.1:`port` in front of `upstreams`.
    pub fn start(port: u16, upstreams: &[SocketAddr], ca: &TestCa) -> Proxy {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        std::fs::write(format!("{d}/cert.pem"), &ca.cert_pem).unwrap();
        std::fs::write(format!("{d}/key.pem"), &ca.key_pem).unwrap();
        let servers: String = upstreams
            .iter()
            .map(|a| format!("    server {a} max_fails=1 fail_timeout=30s;\n"))
            .collect();
        // One process (no master, so killing it stops it all), which keeps
        // round-robin in one order. Started by root, nginx would serve as
        // `nobody`, who may not write the temporary folder.
        let user = if crate::support::stores::is_root() {
            "user root;"
        } else {
            ""
        };
        let conf = format!(
            r#"{user}
daemon off;
master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  log_format hk '$request_method $request_uri $status [$upstream_addr] $request_id';
  access_log {d}/access.log hk;
  client_body_temp_path {d}/body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  upstream hk_idp {{
{servers}  }}
  server {{
    listen 127.0.0.1:{port} ssl;
    server_name localhost;
    ssl_certificate {d}/cert.pem;
    ssl_certificate_key {d}/key.pem;
    location / {{
      proxy_pass http://hk_idp;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto https;
      proxy_set_header X-Request-Id $request_id;
      proxy_next_upstream error timeout;
      proxy_connect_timeout 2s;
      add_header X-Upstream $upstream_addr always;
    }}
  }}
}}
"#
        );
        std::fs::write(format!("{d}/nginx.conf"), conf).unwrap();
        let child = Command::new(nginx())
            .args([
                "-p",
                &d,
                "-c",
                &format!("{d}/nginx.conf"),
                "-e",
                &format!("{d}/error.log"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx (Debian's nginx-light package)");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let start = Instant::now();
        while std::net::TcpStream::connect(addr).is_err() {
            let error_log = std::fs::read_to_string(format!("{d}/error.log")).unwrap_or_default();
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "nginx did not start: {error_log}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Proxy {
            child,
            addr,
            upstreams: upstreams.to_vec(),
            dir,
        }
    }

    /// Every request the proxy has logged so far.
    pub fn hits(&self) -> Vec<Hit> {
        let log = std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default();
        log.lines().filter_map(parse_hit).collect()
    }

    /// The node (its index in `upstreams`) a proxied address is.
    pub fn node_of(&self, addr: SocketAddr) -> usize {
        self.upstreams
            .iter()
            .position(|a| *a == addr)
            .unwrap_or_else(|| panic!("{addr} is not a node"))
    }
}

fn parse_hit(line: &str) -> Option<Hit> {
    let (head, rest) = line.split_once(" [")?;
    let (upstreams, request_id) = rest.split_once("] ")?;
    let mut words = head.split(' ');
    Some(Hit {
        method: words.next()?.to_owned(),
        uri: words.next()?.to_owned(),
        status: words.next()?.parse().ok()?,
        upstreams: upstreams.split(", ").filter_map(|a| a.parse().ok()).collect(),
        request_id: request_id.trim().to_owned(),
    })
}

fn nginx() -> &'static str {
    if std::path::Path::new("/usr/sbin/nginx").exists() {
        "/usr/sbin/nginx"
    } else {
        "nginx"
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
