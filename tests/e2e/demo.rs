//! `hk-idp demo` from a fresh folder: the portal, the invitation in the
//! outbox page, activation, login with the verified claims shown, logout.

use crate::support::input_value;
use crate::support::otp::NEW_PASSWORD;
use crate::support::smtp::six_digits;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_hk-idp");

struct Demo(Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port whose successor is free too.
fn two_free_ports() -> u16 {
    loop {
        let a = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = a.local_addr().unwrap().port();
        if port < u16::MAX && std::net::TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
}

/// GETs `url`, following redirects across both servers; returns the final URL and body.
async fn follow(b: &reqwest::Client, mut url: String) -> (String, String) {
    for _ in 0..10 {
        let resp = b.get(&url).send().await.unwrap();
        if resp.status().is_redirection() {
            let loc = resp.headers()["location"].to_str().unwrap().to_owned();
            url = url::Url::parse(&url).unwrap().join(&loc).unwrap().into();
            continue;
        }
        assert!(resp.status().is_success(), "{url}: {}", resp.status());
        return (url, resp.text().await.unwrap());
    }
    panic!("too many redirects from {url}");
}

/// Posts a form and follows where it leads.
async fn submit(b: &reqwest::Client, url: &str, form: &[(&str, &str)]) -> (String, String) {
    let resp = b.post(url).form(form).send().await.unwrap();
    assert!(resp.status().is_redirection(), "{url}: {}", resp.status());
    let loc = resp.headers()["location"].to_str().unwrap().to_owned();
    follow(b, url::Url::parse(url).unwrap().join(&loc).unwrap().into()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_walks_the_seed_flow_from_invitation_to_portal() {
    let dir = tempfile::tempdir().unwrap();
    let port = two_free_ports();
    let idp = format!("http://127.0.0.1:{port}");
    let portal = format!("http://127.0.0.1:{}", port + 1);
    let _demo = Demo(
        Command::new(BIN)
            .arg("demo")
            .current_dir(dir.path())
            .env("IDP_LISTEN", format!("127.0.0.1:{port}"))
            .env("IDP_ISSUER", &idp)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let b = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut up = false;
    for _ in 0..100 {
        if b.get(&portal).send().await.is_ok_and(|r| r.status().is_success()) {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "the demo portal answers");
    assert!(dir.path().join("data/hk-idp.sqlite").exists(), "the embedded default");

    // The invitation sits in the outbox, linking to the portal with iss and login_hint.
    let (_, outbox) = follow(&b, format!("{portal}/outbox")).await;
    let link = outbox
        .split_whitespace()
        .find(|w| w.starts_with(&format!("{portal}/login?")))
        .expect("invitation link in the outbox")
        .replace("&amp;", "&")
        .replace("&#38;", "&");
    let (login_url, login) = follow(&b, link).await;
    assert!(login_url.starts_with(&format!("{idp}/login?req=")), "{login_url}");
    assert!(
        login.contains("value=\"demo@hk.no\""),
        "login_hint fills in the e-mail: {login}"
    );
    let req = input_value(&login, "req").unwrap();

    // Activation: e-mail, code from the outbox, new password twice.
    let (_, step1) = follow(&b, format!("{idp}/activate?req={req}")).await;
    let csrf = input_value(&step1, "csrf_token").unwrap();
    let step2 = b
        .post(format!("{idp}/activate"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("req", req.as_str()),
            ("email", "demo@hk.no"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut code = None;
    for _ in 0..50 {
        let (_, outbox) = follow(&b, format!("{portal}/outbox")).await;
        if let Some(c) = outbox.find("Engangskode for").and_then(|i| six_digits(&outbox[i..])) {
            code = Some(c);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let code = code.expect("the one-time code in the outbox");
    let (to_login, page) = submit(
        &b,
        &format!("{idp}/activate/code"),
        &[
            ("csrf_token", input_value(&step2, "csrf_token").unwrap().as_str()),
            ("req", req.as_str()),
            ("code", code.as_str()),
            ("password", NEW_PASSWORD),
            ("password_confirm", NEW_PASSWORD),
        ],
    )
    .await;
    assert!(to_login.contains("password_set=1"), "{to_login}");
    assert!(page.contains("Passordet ditt er lagret."));

    // Log in: back at the portal, which shows the verified claims.
    let (home, body) = submit(
        &b,
        &format!("{idp}/login"),
        &[
            ("csrf_token", input_value(&page, "csrf_token").unwrap().as_str()),
            ("req", req.as_str()),
            ("email", "demo@hk.no"),
            ("password", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(home, format!("{portal}/"));
    assert!(body.contains("Du er logget inn"), "{body}");
    assert!(
        body.contains("&quot;email&quot;: &quot;demo@hk.no&quot;")
            || body.contains("&#34;email&#34;: &#34;demo@hk.no&#34;"),
        "{body}"
    );
    assert!(body.contains("Handel og Kontor i Norge"));

    // Logout ends the session at HK ID and comes back to the portal.
    let (back, body) = follow(&b, format!("{portal}/logout")).await;
    assert_eq!(back, format!("{portal}/"));
    assert!(body.contains("Logg inn"));
    let (again, _) = follow(&b, format!("{portal}/login")).await;
    assert!(
        again.starts_with(&format!("{idp}/login?req=")),
        "the SSO session is gone: {again}"
    );
}
