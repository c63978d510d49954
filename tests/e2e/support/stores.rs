//! A Redis and a PostgreSQL of a test's own, to stop and start again under
//! running nodes (the shared ones at TEST_REDIS_URL and TEST_DATABASE_URL
//! serve every other test).

use crate::support::cluster::free_port;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` on a port of its own; stopped when dropped.
pub struct OwnRedis {
    pub port: u16,
    args: Vec<String>,
    child: Option<Child>,
}

impl OwnRedis {
    /// A Redis that keeps nothing on disk, with `args` on top
    /// (`--replicaof …`).
    pub fn start(args: &[&str]) -> OwnRedis {
        let mut r = OwnRedis {
            port: free_port(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            child: None,
        };
        r.start_again();
        r
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills it (SIGKILL: all it held is gone).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again, empty, on the same port.
    pub fn start_again(&mut self) {
        let port = self.port.to_string();
        let mut args = vec![
            "--bind",
            "127.0.0.1",
            "--port",
            &port,
            "--save",
            "",
            "--appendonly",
            "no",
        ];
        args.extend(self.args.iter().map(String::as_str));
        let child = Command::new("redis-server")
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (Debian's redis-server package)");
        wait_for_port(self.port, "redis-server");
        self.child = Some(child);
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Redis Sentinels of a test's own (`redis-server --sentinel`, the program
/// Debian's redis-sentinel runs), watching one master; stopped when dropped.
pub struct OwnSentinels {
    pub ports: Vec<u16>,
    children: Vec<Child>,
    _dir: tempfile::TempDir,
}

impl OwnSentinels {
    /// `n` sentinels watching `master` as `name` (quorum: a majority), which
    /// call it down after a second, and wait until they know each other
    /// and its `replicas` replicas.
    pub fn watch(master: &OwnRedis, name: &str, n: usize, replicas: usize) -> OwnSentinels {
        let dir = tempfile::tempdir().unwrap();
        let ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
        let children = ports
            .iter()
            .map(|port| {
                let conf = dir.path().join(format!("sentinel-{port}.conf"));
                std::fs::write(
                    &conf,
                    format!(
                        "port {port}\nbind 127.0.0.1\ndir {dir}\n\
                         sentinel monitor {name} 127.0.0.1 {master} {quorum}\n\
                         sentinel down-after-milliseconds {name} 1000\n\
                         sentinel failover-timeout {name} 5000\n\
                         sentinel parallel-syncs {name} 1\n",
                        dir = dir.path().display(),
                        master = master.port,
                        quorum = n / 2 + 1,
                    ),
                )
                .unwrap();
                let child = Command::new("redis-server")
                    .arg(&conf)
                    .arg("--sentinel")
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("redis-server in sentinel mode");
                wait_for_port(*port, "redis sentinel");
                child
            })
            .collect();
        let s = OwnSentinels {
            ports,
            children,
            _dir: dir,
        };
        let start = Instant::now();
        while !s.ports.iter().all(|p| {
            count(&redis_cli(*p, &["SENTINEL", "replicas", name])) >= replicas
                && count(&redis_cli(*p, &["SENTINEL", "sentinels", name])) >= n - 1
        }) {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the sentinels did not find each other"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        s
    }

    /// `redis+sentinel://` naming every sentinel and the master `name`.
    pub fn url(&self, name: &str) -> String {
        let hosts: Vec<String> = self.ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        format!("redis+sentinel://{}/{name}", hosts.join(","))
    }

    /// The port of the master the first sentinel names.
    pub fn master_port(&self, name: &str) -> u16 {
        let out = redis_cli(self.ports[0], &["SENTINEL", "get-master-addr-by-name", name]);
        out.lines().nth(1).and_then(|p| p.trim().parse().ok()).unwrap_or(0)
    }
}

impl Drop for OwnSentinels {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `redis-cli -p port args…`: its output.
pub fn redis_cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli (Debian's redis-tools)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The entries of a `SENTINEL replicas|sentinels` answer (each has a `name`).
fn count(answer: &str) -> usize {
    answer.lines().filter(|l| *l == "name").count()
}

/// A PostgreSQL cluster made by `initdb` in a directory of its own, run as
/// the `postgres` user when the test runs as root; stopped when dropped.
pub struct OwnPostgres {
    pub port: u16,
    dir: tempfile::TempDir,
}

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

impl OwnPostgres {
    pub fn start() -> OwnPostgres {
        let dir = tempfile::tempdir().unwrap();
        if is_root() {
            let ok = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(ok.success());
        }
        let pg = OwnPostgres { port: free_port(), dir };
        let data = pg.data();
        pg.pg(
            "initdb",
            &["-D", &data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"],
        );
        pg.start_again();
        pg
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops it at once, as a crash would (`pg_ctl stop -m immediate`).
    pub fn stop(&self) {
        self.pg("pg_ctl", &["-D", &self.data(), "-m", "immediate", "-w", "stop"]);
    }

    /// Starts it again on the same port and data.
    pub fn start_again(&self) {
        let opts = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("log").display().to_string();
        self.pg("pg_ctl", &["-D", &self.data(), "-o", &opts, "-l", &log, "-w", "start"]);
        wait_for_port(self.port, "postgres");
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    /// Runs a PostgreSQL program as the `postgres` user.
    fn pg(&self, program: &str, args: &[&str]) {
        let path = PathBuf::from(PG_BIN).join(program);
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        let out = cmd.args(args).stdin(Stdio::null()).output().unwrap();
        assert!(
            out.status.success(),
            "{program}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let path = PathBuf::from(PG_BIN).join("pg_ctl");
        let data = self.data();
        let args = ["-D", data.as_str(), "-m", "immediate", "stop"];
        let _ = if is_root() {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&path)
                .args(args)
                .output()
        } else {
            Command::new(&path).args(args).output()
        };
    }
}

/// Whether the tests run as root (CI does): servers that refuse root run
/// as another user.
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

fn wait_for_port(port: u16, what: &str) {
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "{what} did not start on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
