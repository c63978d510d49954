//! What strangers try (docs/ABUSE-LIMITS.md): each scenario comes from real
//! source addresses (127.0.0.x), an attacker on one, the member on another.

use crate::on_both;
use crate::support::otp::{FORGOT, NEW_PASSWORD};
use crate::support::{ADMIN, Backend, PASSWORD, TestApp, email, location, pkce};
use figment::providers::Serialized;

on_both!(
    a_stranger_cannot_keep_a_member_from_resetting_and_logging_in,
    behind_a_trusted_proxy_each_person_is_counted_by_their_own_address,
    a_stranger_cannot_park_requests_without_bound,
    a_slow_body_is_cut_off_after_the_request_timeout,
    slow_or_silent_headers_are_cut_off_after_the_header_timeout,
    past_the_in_flight_limit_requests_are_shed_not_queued,
);

const STRANGER: &str = "127.0.0.2";
const MEMBER: &str = "127.0.0.3";

/// The review's scenario: a stranger's wrong passwords past the failure
/// limit, then every code request and wrong code the limits allow; the
/// member, from their own browser, still gets a code, sets a password and
/// logs in at once.
async fn a_stranger_cannot_keep_a_member_from_resetting_and_logging_in(backend: Backend) {
    let app = TestApp::start_with(backend, |f| {
        f.merge(Serialized::default("passwords.max_failed_logins", 15))
    })
    .await;
    let client = app.client().await;
    let kari = email();
    app.member(&kari).await;
    let stranger = app.browser_from(STRANGER);
    let (_, challenge) = pkce();
    let authorize = app.authorize_url(&client, &challenge, &[]);
    let login_path = location(&stranger.get(&authorize).send().await.unwrap());
    for _ in 0..15 {
        app.advance(61); // past any throttle delay: the stranger has time
        let resp = app.post_login(&stranger, &login_path, &kari, "feil passord her").await;
        assert_ne!(resp.status(), 303, "a wrong password never logs in");
    }
    let mut codes_asked = 0;
    let mut wrong_tries = 0;
    loop {
        let (status, step2) = app.ask_code(&stranger, FORGOT, "", &kari).await;
        if status == 429 {
            break;
        }
        codes_asked += 1;
        for _ in 0..6 {
            app.set_password(&stranger, FORGOT, &step2, "000000", NEW_PASSWORD, NEW_PASSWORD)
                .await;
            wrong_tries += 1;
        }
        assert!(codes_asked < 100, "the stranger's code requests are limited");
    }
    assert!(
        codes_asked >= 5 && wrong_tries >= 30,
        "{codes_asked} codes, {wrong_tries} tries"
    );
    let mails_so_far = app.mailbox.wait_for(&kari, codes_asked).await;
    drop(mails_so_far);

    // The member, in their own browser, from their own address.
    let member = app.browser_from(MEMBER);
    let (status, step2) = app.ask_code(&member, FORGOT, "", &kari).await;
    assert_eq!(status, 200, "the member gets a code: {step2}");
    let code = app.mailbox.wait_for(&kari, codes_asked + 1).await.code();
    let resp = app
        .set_password(&member, FORGOT, &step2, &code, NEW_PASSWORD, NEW_PASSWORD)
        .await;
    assert_eq!(resp.status(), 303, "{}", resp.text().await.unwrap_or_default());
    let login_path = location(&member.get(&authorize).send().await.unwrap());
    let resp = app.post_login(&member, &login_path, &kari, NEW_PASSWORD).await;
    assert_eq!(resp.status(), 303, "the member logs in at once");
    assert!(location(&resp).contains("code="), "{}", location(&resp));
}

const PROXY: &str = "127.0.0.5";

/// The review's scenario behind a proxy: one person's wrong passwords
/// throttled another person's correct login, because both came from the
/// proxy's address. With the proxy trusted, each is counted by the address
/// the proxy forwards, and the audit trail records that address; a client
/// that is not the proxy cannot pick its address by sending the header.
async fn behind_a_trusted_proxy_each_person_is_counted_by_their_own_address(backend: Backend) {
    let app = TestApp::start_with(backend, |f| {
        f.merge(Serialized::default(
            "server.trusted_proxies",
            format!("10.0.0.0/8, {PROXY}"),
        ))
        .merge(Serialized::default("login.address_free_failures", 3))
        .merge(Serialized::default("admin.token", ADMIN))
    })
    .await;
    let client = app.client().await;
    let kari = email();
    let kari_id = app.member(&kari).await;
    let (_, challenge) = pkce();
    let authorize = app.authorize_url(&client, &challenge, &[]);
    let login = |b: reqwest::Client, who: String, password: &'static str| {
        let (app, authorize) = (&app, authorize.clone());
        async move {
            let path = location(&b.get(&authorize).send().await.unwrap());
            app.post_login(&b, &path, &who, password).await.status().as_u16()
        }
    };
    // A guesser behind the proxy, trying a fresh e-mail each time.
    let guesser = || app.browser_via(PROXY, "198.51.100.7");
    for _ in 0..4 {
        assert_ne!(login(guesser(), email(), "feil passord her").await, 303);
    }
    assert_eq!(
        login(guesser(), email(), "feil passord her").await,
        429,
        "the guesser waits"
    );
    // Kari, behind the same proxy, is not held back.
    let kari_browser = app.browser_via(PROXY, "203.0.113.9, 198.51.100.8");
    assert_eq!(login(kari_browser, kari.clone(), PASSWORD).await, 303);
    let (_, events) = app
        .admin(
            reqwest::Method::GET,
            &format!("/admin/audit?member={kari_id}&kind=login.&limit=10"),
            None,
        )
        .await;
    let ok = events["events"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["kind"] == "login.succeeded"))
        .unwrap_or_else(|| panic!("{events}"));
    assert_eq!(ok["ip"], "198.51.100.8", "the audit trail has the forwarded address");

    // Not from the proxy: the header is ignored, so changing it buys nothing.
    for n in 0..4 {
        let b = app.browser_via("127.0.0.2", &format!("192.0.2.{n}"));
        assert_ne!(login(b, email(), "feil passord her").await, 303);
    }
    let b = app.browser_via("127.0.0.2", "192.0.2.99");
    assert_eq!(login(b, email(), "feil passord her").await, 429, "counted as 127.0.0.2");
}

/// Every `/authorize` that needs a login parks the request for the login
/// page. From one address group only `session.parked_per_address` are
/// parked per `session.login_request_ttl`; the next gets a 429 page in the
/// person's language, and other addresses are not held back.
async fn a_stranger_cannot_park_requests_without_bound(backend: Backend) {
    let app = TestApp::start_with(backend, |f| {
        f.merge(Serialized::default("session.parked_per_address", 20))
    })
    .await;
    let client = app.client().await;
    let (_, challenge) = pkce();
    let stranger = app.browser_from(STRANGER);
    let big = "x".repeat(4000);
    let authorize = app.authorize_url(&client, &challenge, &[("state", &big), ("nonce", &big)]);
    for n in 0..20 {
        let resp = stranger.get(&authorize).send().await.unwrap();
        assert_eq!(resp.status(), 303, "request {n} is parked");
    }
    let resp = stranger.get(&authorize).send().await.unwrap();
    assert_eq!(resp.status(), 429, "the 21st is not parked");
    // The count is not a waiting request: naming it gets the expired page.
    let count = stranger
        .get(app.url(&format!("/login?req=ip:{STRANGER}")))
        .send()
        .await
        .unwrap();
    assert_eq!(count.status(), 400);
    let page = resp.text().await.unwrap();
    assert!(page.contains("For mange innlogginger"), "{page}");
    let english = app.authorize_url(&client, &challenge, &[("ui_locales", "en")]);
    let page = stranger.get(&english).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Too many logins"), "{page}");

    // Someone else is not held back, and logs in.
    let kari = email();
    app.member(&kari).await;
    let member = app.browser_from(MEMBER);
    let resp = member.get(&authorize).send().await.unwrap();
    assert_eq!(resp.status(), 303);
    let resp = app.post_login(&member, &location(&resp), &kari, PASSWORD).await;
    assert!(location(&resp).contains("code="), "{}", location(&resp));
    // The window's end is the unit test's (Redis keeps real time, not the
    // test's shifted clock): one_address_group_parks_only_so_many_requests_per_lifetime.
}

/// A client that sends its body a byte at a time (or stops half way) is
/// answered 408 after `server.request_timeout` and holds nothing after.
async fn a_slow_body_is_cut_off_after_the_request_timeout(backend: Backend) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::start_with(backend, |f| f.merge(Serialized::default("server.request_timeout", 1))).await;
    let started = std::time::Instant::now();
    let mut slow = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = "POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant_type=";
    slow.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), slow.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(read.is_ok(), "the server closed the connection: {answer}");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // Everyone else is served as before.
    let resp = reqwest::get(app.url("/.well-known/openid-configuration"))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

/// Slowloris: connections that send headers a byte at a time, or nothing at
/// all, are closed after `server.header_timeout`, so they cannot pile up.
async fn slow_or_silent_headers_are_cut_off_after_the_header_timeout(backend: Backend) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::start_with(backend, |f| f.merge(Serialized::default("server.header_timeout", 1))).await;
    let started = std::time::Instant::now();
    let mut trickle = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    trickle
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut silent = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    // One request answered, then the connection kept open and idle.
    let mut idle = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut first = [0u8; 15];
    idle.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"HTTP/1.1 200 OK");
    for (which, conn) in [("trickle", &mut trickle), ("silent", &mut silent), ("idle", &mut idle)] {
        let mut answer = Vec::new();
        let read = tokio::time::timeout(std::time::Duration::from_secs(10), conn.read_to_end(&mut answer)).await;
        assert!(read.is_ok(), "the server closed the {which} connection");
        let answer = String::from_utf8_lossy(&answer);
        assert!(!answer.contains("200 OK") || which == "idle", "{answer}");
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // Everyone else is served as before.
    let resp = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(resp.status(), 200);
}

/// Past `server.max_in_flight` a request is answered 503 at once (the
/// protocol's error, with Retry-After), and served again when a slot frees.
async fn past_the_in_flight_limit_requests_are_shed_not_queued(backend: Backend) {
    use tokio::io::AsyncWriteExt;
    let app = TestApp::start_with(backend, |f| f.merge(Serialized::default("server.max_in_flight", 1))).await;
    // One request in flight, its body still coming.
    let mut slow = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = "POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant_type=";
    slow.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let started = std::time::Instant::now();
    let resp = reqwest::get(app.url("/jwks")).await.unwrap();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "answered at once"
    );
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["retry-after"], "1");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    drop(slow);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(reqwest::get(app.url("/jwks")).await.unwrap().status(), 200);
}
