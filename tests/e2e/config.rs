//! The real binary: configuration errors name the setting, the CLI registers
//! and manages members and clients with `--json`, `--help` and exit codes, and
//! `serve` starts on the embedded default.

use crate::on_both;
use crate::support::cli::{BIN, hk_idp};
use crate::support::{Backend, PASSWORD, PgDatabase, TestApp, email};
use ::reqwest::Method;
use serde_json::{Value, json};
use std::process::{Command, Output, Stdio};

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn invalid_configuration_stops_start_up_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/x.sqlite?mode=rwc", dir.path().display());
    let cases: [(&[(&str, &str)], &str); 8] = [
        // docs/CONTRACT.md "Running in production": under 32 characters stops start-up.
        (&[("IDP_ADMIN_TOKEN", "CHANGE-ME")], "admin.token"),
        (&[("IDP_ADMIN__TOKENS", "[\"short\"]")], "admin.tokens"),
        (
            &[("IDP_TRUSTED_PROXIES", "10.0.0.0/8, nonsense")],
            "server.trusted_proxies",
        ),
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

on_both!(
    cli_registers_members_and_clients_as_json,
    cli_manages_members_and_clients
);

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

/// Every command has --help; the member and client commands work on the
/// server's own database and answer with the documented exit codes.
async fn cli_manages_members_and_clients(b: Backend) {
    let app = TestApp::start_admin(b).await;
    for cmd in [
        &["--help"][..],
        &["user", "--help"],
        &["user", "add", "--help"],
        &["user", "import", "--help"],
        &["user", "invite", "--help"],
        &["user", "show", "--help"],
        &["user", "change", "--help"],
        &["user", "remove", "--help"],
        &["client", "--help"],
        &["client", "create", "--help"],
        &["client", "list", "--help"],
        &["client", "show", "--help"],
        &["client", "delete", "--help"],
        &["keys", "rotate", "--help"],
        &["audit", "--help"],
        &["migrate", "--help"],
        &["demo", "--help"],
    ] {
        let out = app.cli(cmd, None).await;
        assert!(out.status.success(), "{cmd:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("Usage:"), "{cmd:?}");
    }
    let help = String::from_utf8_lossy(&app.cli(&["--help"], None).await.stdout).into_owned();
    assert!(help.contains("Exit codes:"), "{help}");
    assert_eq!(app.cli(&["user", "frobnicate"], None).await.status.code(), Some(2));

    let mail = email();
    let out = app
        .cli(&["user", "add", "--email", &mail, "--name", "Kari", "--json"], None)
        .await;
    assert!(out.status.success());
    let added: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(added["status"], "pending");
    assert_eq!(
        app.cli(&["user", "add", "--email", &mail.to_uppercase()], None)
            .await
            .status
            .code(),
        Some(5)
    );
    let bad = app.cli(&["user", "add", "--email", "not-an-address"], None).await;
    assert_eq!(bad.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("email"));
    let bad = app
        .cli(&["user", "add", "--email", &email(), "--org-number", "123456789"], None)
        .await;
    assert_eq!(bad.status.code(), Some(3));

    let out = app
        .cli(
            &[
                "user",
                "change",
                "--email",
                &mail,
                "--org-number",
                "971274042",
                "--disable",
                "--json",
            ],
            None,
        )
        .await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let changed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (changed["status"].as_str(), changed["org_number"].as_str()),
        (Some("disabled"), Some("971274042"))
    );
    let (_, seen) = app
        .admin(Method::GET, &format!("/admin/users?email={mail}"), None)
        .await;
    assert_eq!(seen["status"], "disabled", "the server sees the CLI's change");
    let out = app
        .cli(
            &["user", "change", "--email", &mail, "--enable", "--name", "", "--json"],
            None,
        )
        .await;
    let changed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(changed["status"], "pending");
    assert!(changed["name"].is_null());
    let out = app.cli(&["user", "show", "--email", &mail, "--json"], None).await;
    assert_eq!(serde_json::from_slice::<Value>(&out.stdout).unwrap()["id"], added["id"]);
    assert!(
        app.cli(&["user", "remove", "--email", &mail], None)
            .await
            .status
            .success()
    );
    assert_eq!(
        app.cli(&["user", "show", "--email", &mail], None).await.status.code(),
        Some(4)
    );

    let out = app
        .cli(
            &[
                "client",
                "create",
                "--name",
                "Portalen",
                "--redirect-uri",
                "https://portal.hk.no/cb",
                "--contact",
                "drift@hk.no",
                "--json",
            ],
            None,
        )
        .await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = created["client_id"].as_str().unwrap().to_owned();
    assert!(created["client_secret"].is_string() && created["registration_access_token"].is_string());
    let out = app.cli(&["client", "list", "--json"], None).await;
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let listed = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client_id"] == id.as_str())
        .unwrap();
    assert!(listed.get("client_secret").is_none() && listed.get("registration_access_token").is_none());
    assert_eq!(listed["contacts"], json!(["drift@hk.no"]));
    // The registration access token the CLI printed works at the configuration endpoint.
    let resp = ::reqwest::Client::new()
        .get(created["registration_client_uri"].as_str().unwrap())
        .bearer_auth(created["registration_access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let bad = app
        .cli(
            &[
                "client",
                "create",
                "--name",
                "X",
                "--redirect-uri",
                "http://portal.hk.no/cb",
            ],
            None,
        )
        .await;
    assert_eq!(bad.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("redirect_uris"));
    assert!(app.cli(&["client", "delete", &id], None).await.status.success());
    assert_eq!(app.cli(&["client", "show", &id], None).await.status.code(), Some(4));
    assert_eq!(app.cli(&["client", "delete", &id], None).await.status.code(), Some(4));
}
