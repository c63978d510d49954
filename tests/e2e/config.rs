//! The real binary: configuration errors name the setting, the CLI registers
//! members and clients with `--json`, and `serve` starts on the embedded default.

use crate::helpers::{Backend, PASSWORD, PgDatabase, email};
use crate::on_both;
use serde_json::Value;
use std::io::Write;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_hk-idp");

pub fn hk_idp(env: &[(&str, &str)], args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn invalid_configuration_stops_start_up_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/x.sqlite?mode=rwc", dir.path().display());
    let cases: [(&[(&str, &str)], &str); 5] = [
        (&[("IDP_LISTEN", "not-an-address")], "listen"),
        (&[("IDP_ISSUER", "ftp://x")], "server.issuer"),
        (&[("IDP_DATABASE_URL", "mysql://x")], "database.url"),
        (&[("IDP_TOKENS__ACCESS_TOKEN_ALG", "HS256")], "tokens.access_token_alg"),
        (&[("IDP_PASSWORDS__ARGON2_MEMORY_KIB", "1024")], "passwords.argon2"),
    ];
    for (env, setting) in cases {
        let mut env = env.to_vec();
        env.push(("IDP_SOMETHING_UNKNOWN", "is only warned about"));
        if !env.iter().any(|(k, _)| *k == "IDP_DATABASE_URL") {
            env.push(("IDP_DATABASE_URL", &db));
        }
        let out = hk_idp(&env, &["migrate"], None);
        assert!(!out.status.success(), "{env:?}");
        assert!(stderr(&out).contains(setting), "{setting}: {}", stderr(&out));
    }
    let file = dir.path().join("extra.toml");
    std::fs::write(&file, "[server]\nlisn = \"127.0.0.1:1\"\n").unwrap();
    let out = hk_idp(
        &[("IDP_CONFIG", file.to_str().unwrap()), ("IDP_DATABASE_URL", &db)],
        &["migrate"],
        None,
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("lisn"), "{}", stderr(&out));
}

on_both!(cli_registers_members_and_clients_as_json);

async fn cli_registers_members_and_clients_as_json(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let pg = match b {
        Backend::Embedded => None,
        Backend::PostgresRedis => Some(PgDatabase::create().await),
    };
    let db = match &pg {
        None => format!("sqlite://{}/cli.sqlite?mode=rwc", dir.path().display()),
        Some(pg) => pg.url.clone(),
    };
    let env = [("IDP_DATABASE_URL", db.as_str())];
    let mail = email();
    let out = hk_idp(
        &env,
        &[
            "user",
            "add",
            "--email",
            &mail,
            "--name",
            "Kari",
            "--password-stdin",
            "--json",
        ],
        Some(&format!("{PASSWORD}\n")),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let member: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(member["email"], mail.as_str());
    assert_eq!(member["status"], "active");
    assert!(member["id"].is_string() && member.get("password_hash").is_none());

    let pending = email();
    let out = hk_idp(
        &env,
        &["user", "add", "--email", &pending.to_uppercase(), "--json"],
        None,
    );
    let m: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (m["status"].as_str(), m["email"].as_str()),
        (Some("pending"), Some(pending.as_str()))
    );
    let again = hk_idp(&env, &["user", "add", "--email", &pending], None);
    assert!(
        !again.status.success(),
        "an e-mail is registered once, case-insensitively"
    );
    assert!(stderr(&again).contains("already registered"));
    let short = hk_idp(
        &env,
        &["user", "add", "--email", &email(), "--password-stdin"],
        Some("short"),
    );
    assert!(!short.status.success());

    let out = hk_idp(
        &env,
        &[
            "client",
            "create",
            "--name",
            "Portal",
            "--redirect-uri",
            "https://portal.hk.no/cb",
            "--json",
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let c: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(c["client_id"].is_string() && c["client_secret"].as_str().unwrap().len() >= 43);
    let out = hk_idp(
        &env,
        &[
            "client",
            "create",
            "--name",
            "App",
            "--redirect-uri",
            "http://127.0.0.1:9000/cb",
            "--public",
            "--json",
        ],
        None,
    );
    let c: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(c["client_secret"].is_null());
    assert_eq!(c["token_endpoint_auth_method"], "none");
    let bad = hk_idp(
        &env,
        &[
            "client",
            "create",
            "--name",
            "Bad",
            "--redirect-uri",
            "http://portal.hk.no/cb",
        ],
        None,
    );
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("https"), "{}", stderr(&bad));

    let out = hk_idp(&env, &["keys", "rotate", "--json"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let k: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(k["keys"].as_array().unwrap().len(), 3);
}

#[test]
fn serve_starts_on_the_embedded_default() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let started = std::time::Instant::now();
    let mut child = Command::new(BIN)
        .current_dir(dir.path())
        .env("IDP_LISTEN", &listen)
        .env("IDP_ISSUER", format!("http://{listen}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://{listen}/readyz");
    let mut ready = false;
    for _ in 0..100 {
        if reqwest::blocking_get(&url) {
            ready = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let elapsed = started.elapsed();
    let _ = child.kill();
    let _ = child.wait();
    assert!(ready, "serve answered /readyz");
    eprintln!("start-up to ready (debug build, migrations and key generation included): {elapsed:?}");
    assert!(
        dir.path().join("data/hk-idp.sqlite").exists(),
        "SQLite file under data/"
    );
}

mod reqwest {
    /// A tiny blocking readiness probe over a raw socket (no runtime in a plain #[test]).
    pub fn blocking_get(url: &str) -> bool {
        use std::io::{Read, Write};
        let u = url::Url::parse(url).unwrap();
        let Ok(mut s) = std::net::TcpStream::connect((u.host_str().unwrap(), u.port().unwrap())) else {
            return false;
        };
        let req = format!("GET {} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", u.path());
        if s.write_all(req.as_bytes()).is_err() {
            return false;
        }
        let mut buf = String::new();
        let _ = s.read_to_string(&mut buf);
        buf.starts_with("HTTP/1.1 200")
    }
}
