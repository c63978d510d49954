//! What strangers try against the pages and endpoints themselves: huge
//! bodies, markup in every echoed field, header injection into mail, framing,
//! a planted session cookie, and every redirect parameter pointed elsewhere.

use crate::on_both;
use crate::support::otp::{ACTIVATE, NEW_PASSWORD};
use crate::support::{ADMIN, Backend, PASSWORD, TestApp, email, input_value, location, pkce, query_param};
use reqwest::Method;
use serde_json::json;

on_both!(
    huge_bodies_are_refused_in_each_endpoints_format,
    markup_in_every_echoed_field_is_escaped,
    nothing_a_person_types_reaches_a_mail_header,
    no_page_can_be_framed,
    a_planted_session_cookie_is_never_adopted,
    no_redirect_parameter_leads_anywhere_unregistered,
);

/// Markup that would run if echoed unescaped, in an attribute or in text.
const XSS: &str = "\"'><svg onload=alert(1)><script>alert(2)</script>";

fn assert_escaped(html: &str, at: &str) {
    assert!(
        !html.contains("<svg") && !html.contains("<script") && !html.contains("'>"),
        "{at}: markup echoed unescaped:\n{html}"
    );
}

async fn huge_bodies_are_refused_in_each_endpoints_format(backend: Backend) {
    let app = TestApp::start_admin(backend).await;
    let client = app.client().await;
    // Past the 64 KiB limit, small enough for loopback's buffers: the server
    // may answer before reading it all, and the client still reads the answer.
    let huge = format!("grant_type=client_credentials&x={}", "a".repeat(100 << 10));
    let http = reqwest::Client::new();
    // Protocol endpoints: the OAuth error JSON.
    for path in ["/token", "/revoke", "/introspect", "/userinfo"] {
        let resp = http
            .post(app.url(path))
            .basic_auth(&client.id, client.secret.as_deref())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(huge.clone())
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        assert!(status == 400 || status == 413, "{path}: {status}");
        let body: serde_json::Value = resp.json().await.unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(body["error"], "invalid_request", "{path}: {body}");
    }
    // JSON endpoints: the same.
    for path in ["/admin/users", "/register"] {
        let resp = http
            .post(app.url(path))
            .bearer_auth(ADMIN)
            .json(
                &json!({"email": email(), "name": "x".repeat(100 << 10), "redirect_uris": [crate::support::REDIRECT]}),
            )
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        assert!(status == 400 || status == 413, "{path}: {status} {text}");
        let body: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"));
        assert_eq!(body["error"], "invalid_request", "{path}: {body}");
    }
    // Pages: the page, in Norwegian.
    for path in ["/login", "/activate", "/forgot-password", "/consent", "/logout"] {
        let resp = app
            .browser
            .post(app.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(huge.clone())
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let html = resp.text().await.unwrap();
        assert!(status == 400 || status == 413, "{path}: {status} {html}");
        assert!(html.contains("lang=\"nb\""), "{path}: {status} {html}");
    }
    // The server is none the worse.
    let (_, ch) = pkce();
    let login = app.authorize(&client, &ch, &[]).await;
    assert!(login.starts_with("/login?req="));
}

async fn markup_in_every_echoed_field_is_escaped(backend: Backend) {
    let app = TestApp::start(backend).await;
    let client = app
        .client_with(|c| {
            c.name = XSS.into();
            c.first_party = false;
        })
        .await;
    let addr = email();
    app.member(&addr).await;
    let (_, ch) = pkce();
    // login_hint prefills the e-mail field.
    let login = app.authorize(&client, &ch, &[("login_hint", XSS)]).await;
    let html = app.page(&app.browser, &login).await;
    assert!(html.contains("name=\"email\""));
    assert_escaped(&html, "login_hint");
    // A wrong login shows the typed e-mail again.
    let r = app
        .post_login(&app.browser, &login, &format!("{XSS}@hk.no"), "feil passord her")
        .await;
    assert_escaped(&r.text().await.unwrap(), "the typed e-mail");
    // The client's name on the consent page.
    let login = app.authorize(&client, &ch, &[("state", XSS), ("nonce", XSS)]).await;
    let r = app.post_login(&app.browser, &login, &addr, PASSWORD).await;
    let consent = location(&r);
    let html = app.page(&app.browser, &consent).await;
    assert!(html.contains("Logget inn som"), "{html}");
    assert_escaped(&html, "client name on the consent page");
    // The logout page: the client's name and every parameter kept for the post.
    let logout = format!(
        "/logout?client_id={}&state={}&ui_locales={}",
        client.id,
        urlencode(XSS),
        urlencode(XSS)
    );
    let html = app.page(&app.browser, &logout).await;
    assert!(html.contains("csrf_token"), "{html}");
    assert_escaped(&html, "logout page");
    // The one-time-code pages: the e-mail and the code typed.
    let (_, step2) = app
        .ask_code(&app.new_browser(), ACTIVATE, "", &format!("{XSS}@hk.no"))
        .await;
    assert_escaped(&step2, "step 1 answer");
    let b = app.new_browser();
    let (_, step2) = app.ask_code(&b, ACTIVATE, "", &addr).await;
    let r = app
        .set_password(&b, ACTIVATE, &step2, XSS, NEW_PASSWORD, NEW_PASSWORD)
        .await;
    assert_escaped(&r.text().await.unwrap(), "the typed code");
    // Error pages that name what was wrong.
    for bad in [("redirect_uri", XSS), ("client_id", XSS)] {
        let url = app.authorize_url(&client, &ch, &[bad]);
        let html = app.browser.get(url).send().await.unwrap().text().await.unwrap();
        assert_escaped(&html, bad.0);
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn nothing_a_person_types_reaches_a_mail_header(backend: Backend) {
    let app = TestApp::start_admin(backend).await;
    // A name with a line break is refused where it comes in.
    let (status, body) = app
        .admin(
            Method::POST,
            "/admin/users",
            Some(json!({"email": email(), "name": "Kari\r\nBcc: evil@evil.example"})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    // An e-mail with a line break asks for nothing and sends nothing.
    let addr = email();
    app.member(&addr).await;
    for typed in [
        format!("{addr}\r\nBcc: evil@evil.example"),
        format!("{addr}\nBcc: evil@evil.example"),
        format!("{addr}, evil@evil.example"),
        format!("evil@evil.example <{addr}>"),
    ] {
        let (status, _) = app.ask_code(&app.new_browser(), ACTIVATE, "", &typed).await;
        assert!(status == 200 || status == 400, "{typed:?}: {status}");
    }
    // A name with every character a header cares about, allowed in a name.
    let named = email();
    app.pending_member(&named, "Kari \"Nordmann\", <evil@evil.example>; Bcc: evil@evil.example")
        .await;
    app.ask_code(&app.new_browser(), ACTIVATE, "", &named).await;
    let mail = app.mailbox.wait_for(&named, 1).await;
    assert_eq!(
        mail.to,
        std::slice::from_ref(&named),
        "the envelope names the member only"
    );
    let header_lines: Vec<&str> = mail.headers.lines().collect();
    assert!(
        !header_lines.iter().any(|l| l.to_ascii_lowercase().starts_with("bcc:")),
        "{}",
        mail.headers
    );
    let to: Vec<&&str> = header_lines
        .iter()
        .filter(|l| l.to_ascii_lowercase().starts_with("to:"))
        .collect();
    assert_eq!(to.len(), 1, "{}", mail.headers);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(app.mailbox.to("evil@evil.example").is_empty());
    assert_eq!(app.mailbox.to(&addr).len(), 0, "the typed variants sent nothing");
}

async fn no_page_can_be_framed(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (client, tokens) = app.signed_in().await;
    let (_, ch) = pkce();
    let hint = tokens["id_token"].as_str().unwrap();
    let pages = [
        app.url("/login"),
        app.url("/activate"),
        app.url("/forgot-password"),
        app.url("/consent?req=x"),
        app.url(&format!("/logout?id_token_hint={hint}")),
        app.url("/nowhere"),
        app.authorize_url(&client, &ch, &[("prompt", "login")]),
        app.authorize_url(&client, &ch, &[("redirect_uri", "https://evil.example/")]),
    ];
    for page in pages {
        let resp = app.browser.get(&page).send().await.unwrap();
        let h = resp.headers();
        let csp = h
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(csp.contains("frame-ancestors 'none'"), "{page}: {csp}");
        assert_eq!(
            h.get("x-frame-options").map(|v| v.as_bytes()),
            Some(&b"DENY"[..]),
            "{page}"
        );
    }
}

/// The value of the session cookie a response sets.
fn session_set(resp: &reqwest::Response) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("hkid_session="))
        .and_then(|c| c.split(';').next())
        .map(str::to_owned)
}

async fn a_planted_session_cookie_is_never_adopted(backend: Backend) {
    let app = TestApp::start(backend).await;
    let client = app.client().await;
    let (victim, stranger) = (email(), email());
    app.member(&victim).await;
    let stranger_id = app.member(&stranger).await;
    // The stranger's own session cookie, and a made-up one.
    let (_, ch) = pkce();
    let url = app.authorize_url(&client, &ch, &[]);
    let stranger_browser = app.new_browser();
    let login = location(&stranger_browser.get(&url).send().await.unwrap());
    let r = app.post_login(&stranger_browser, &login, &stranger, PASSWORD).await;
    let strangers = session_set(&r).expect("the stranger's session");
    for planted in [
        strangers.clone(),
        "hkid_session=planted-by-a-stranger-0123456789".to_owned(),
    ] {
        // A browser that keeps no cookies of its own: the planted one rides every request.
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let get = |u: String| browser.get(u).header("cookie", planted.as_str()).send();
        // prompt=login: with the stranger's session the form would be skipped.
        let login = location(
            &get(app.authorize_url(&client, &ch, &[("prompt", "login")]))
                .await
                .unwrap(),
        );
        let page = get(app.url(&login)).await.unwrap();
        let csrf_cookie: Vec<String> = page
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
            .collect();
        let html = page.text().await.unwrap();
        let cookies = std::iter::once(planted.clone())
            .chain(csrf_cookie)
            .collect::<Vec<_>>()
            .join("; ");
        let r = browser
            .post(app.url("/login"))
            .header("cookie", cookies)
            .form(&[
                (
                    "csrf_token",
                    input_value(&html, "csrf_token").unwrap_or_default().as_str(),
                ),
                ("req", input_value(&html, "req").unwrap_or_default().as_str()),
                ("email", victim.as_str()),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        assert!(r.status().is_redirection(), "{planted}: {}", r.status());
        let new = session_set(&r).expect("a session is set at login");
        assert_ne!(new, planted, "a new session id, never the planted one");
        // What was planted is not the victim's session: the made-up value is
        // nobody's; the stranger's ended when another login replaced it in
        // that browser, or is at most still the stranger's own.
        let (verifier, challenge) = pkce();
        let resp = get(app.authorize_url(&client, &challenge, &[("prompt", "none")]))
            .await
            .unwrap();
        let loc = location(&resp);
        match query_param(&loc, "code") {
            Some(code) => {
                assert_eq!(planted, strangers, "a made-up cookie is no session: {loc}");
                let tokens = app.redeem(&client, &code, &verifier).await;
                let claims = crate::support::jwt::decode_claims(tokens["id_token"].as_str().unwrap());
                assert_eq!(
                    claims["sub"],
                    stranger_id.as_str(),
                    "the planted session is not the victim's"
                );
            }
            None => assert_eq!(query_param(&loc, "error").as_deref(), Some("login_required"), "{loc}"),
        }
    }
}

/// Places a registered `https://rp.example/…` must not be confused with.
fn near(registered: &str) -> Vec<String> {
    let (scheme_host, path) = registered.split_at("https://rp.example".len());
    [
        "https://evil.example/".to_owned(),
        "//evil.example/".to_owned(),
        "javascript:alert(1)".to_owned(),
        format!("{registered}/../../evil"),
        format!("{registered}%2F..%2Fevil"),
        format!("{registered}?next=https://evil.example/"),
        format!("{registered}#https://evil.example/"),
        format!("{scheme_host}.evil.example{path}"),
        format!("https://rp.example@evil.example{path}"),
        format!("{scheme_host}\\@evil.example{path}"),
        format!(" {registered}"),
        format!("{registered}\u{0}"),
        format!("http://rp.example{path}"),
    ]
    .into()
}

async fn no_redirect_parameter_leads_anywhere_unregistered(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (client, tokens) = app.signed_in().await;
    let hint = tokens["id_token"].as_str().unwrap();
    let (_, ch) = pkce();
    for target in near(crate::support::REDIRECT) {
        let resp = app
            .browser
            .get(app.authorize_url(&client, &ch, &[("redirect_uri", &target)]))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "redirect_uri {target:?}");
        assert!(resp.headers().get("location").is_none(), "redirect_uri {target:?}");
    }
    for target in near("https://rp.example/logged-out") {
        for with_hint in [true, false] {
            let mut url = url::Url::parse(&app.url("/logout")).unwrap();
            if with_hint {
                url.query_pairs_mut().append_pair("id_token_hint", hint);
            } else {
                url.query_pairs_mut().append_pair("client_id", &client.id);
            }
            url.query_pairs_mut().append_pair("post_logout_redirect_uri", &target);
            let resp = app.browser.get(url.as_str()).send().await.unwrap();
            assert_eq!(resp.status(), 400, "post_logout_redirect_uri {target:?}");
            assert!(resp.headers().get("location").is_none(), "{target:?}");
        }
        // Nor through the confirmation form, posted by hand.
        let html = app
            .page(&app.browser, &format!("/logout?client_id={}", client.id))
            .await;
        let resp = app
            .browser
            .post(app.url("/logout"))
            .form(&[
                ("csrf_token", input_value(&html, "csrf_token").unwrap().as_str()),
                ("confirm", "yes"),
                ("client_id", client.id.as_str()),
                ("post_logout_redirect_uri", target.as_str()),
            ])
            .send()
            .await
            .unwrap();
        let loc = location(&resp);
        assert!(
            !loc.contains("evil") && !loc.starts_with("javascript") && !loc.starts_with("//"),
            "confirmed logout to {target:?}: {} {loc}",
            resp.status()
        );
    }
    // The pages' own `req` parameter names a waiting request, never a place:
    // anything else is refused on a page of this server.
    for req in [
        "https://evil.example/",
        "//evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
    ] {
        for page in ["/login", "/activate", "/forgot-password", "/consent"] {
            let resp = app
                .new_browser()
                .get(app.url(&format!("{page}?req={}", urlencode(req))))
                .send()
                .await
                .unwrap();
            let loc = location(&resp);
            assert!(
                loc.is_empty() || (loc.starts_with('/') && !loc.starts_with("//") && !loc.starts_with("/\\")),
                "{page}?req={req:?}: {} {loc:?}",
                resp.status()
            );
        }
    }
}
