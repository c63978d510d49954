//! The code flow as a browser walks it: authorization URL with PKCE, login
//! form, consent, token endpoint, userinfo.

use crate::support::app::{PASSWORD, REDIRECT, TestApp, TestClient};
use crate::support::http::{input_value, location, query_param};
use crate::support::site::Site;

/// PKCE pair: (verifier, S256 challenge).
pub fn pkce() -> (String, String) {
    use base64::Engine;
    use sha2::Digest;
    let verifier = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

impl Site {
    /// An authorization URL for `client` with PKCE; `extra` adds or overrides parameters.
    pub fn authorize_url(&self, client: &TestClient, challenge: &str, extra: &[(&str, &str)]) -> String {
        let mut url = url::Url::parse(&self.url("/authorize")).unwrap();
        {
            let mut q = url.query_pairs_mut();
            let defaults = [
                ("response_type", "code"),
                ("client_id", client.id.as_str()),
                ("redirect_uri", REDIRECT),
                ("scope", "openid email profile"),
                ("state", "st-123"),
                ("nonce", "n-456"),
                ("code_challenge", challenge),
                ("code_challenge_method", "S256"),
            ];
            for (k, v) in defaults {
                if !extra.iter().any(|(ek, _)| *ek == k) {
                    q.append_pair(k, v);
                }
            }
            for (k, v) in extra {
                if !v.is_empty() {
                    q.append_pair(k, v);
                }
            }
        }
        url.into()
    }

    /// Sends an authorization request with the shared browser; returns where it redirects.
    pub async fn authorize(&self, client: &TestClient, challenge: &str, extra: &[(&str, &str)]) -> String {
        location(
            &self
                .browser
                .get(self.authorize_url(client, challenge, extra))
                .send()
                .await
                .unwrap(),
        )
    }

    /// Follows an authorization request through the login form with `browser`;
    /// returns the final redirect to the client.
    pub async fn login_via(&self, browser: &reqwest::Client, authorize_url: &str, email: &str) -> String {
        let resp = browser.get(authorize_url).send().await.unwrap();
        let mut loc = location(&resp);
        if loc.starts_with("/login") {
            loc = self.submit_login(browser, &loc, email, PASSWORD).await;
        }
        if loc.starts_with("/consent") {
            loc = self.answer_consent(browser, &loc, "allow").await;
        }
        loc
    }

    /// Answers the consent page at `path` with `decision` (`allow`, `deny`); returns the redirect.
    pub async fn answer_consent(&self, browser: &reqwest::Client, path: &str, decision: &str) -> String {
        let html = self.page(browser, path).await;
        let csrf = input_value(&html, "csrf_token").expect("csrf token on the consent page");
        let req = input_value(&html, "req").expect("req on the consent page");
        let resp = self.post_consent(browser, &csrf, &req, decision).await;
        assert_eq!(resp.status(), 303, "consent answered");
        location(&resp)
    }

    /// Posts the consent form as given; the raw response.
    pub async fn post_consent(
        &self,
        browser: &reqwest::Client,
        csrf: &str,
        req: &str,
        decision: &str,
    ) -> reqwest::Response {
        browser
            .post(self.url("/consent"))
            .form(&[("csrf_token", csrf), ("req", req), ("decision", decision)])
            .send()
            .await
            .unwrap()
    }

    /// Shows the login page at `login_path`, submits it, returns the redirect.
    pub async fn submit_login(
        &self,
        browser: &reqwest::Client,
        login_path: &str,
        email: &str,
        password: &str,
    ) -> String {
        let resp = self.post_login(browser, login_path, email, password).await;
        assert_eq!(resp.status(), 303, "login should redirect");
        location(&resp)
    }

    /// Shows the login page at `login_path` and submits it; returns the raw response.
    pub async fn post_login(
        &self,
        browser: &reqwest::Client,
        login_path: &str,
        email: &str,
        password: &str,
    ) -> reqwest::Response {
        let page = browser.get(self.url(login_path)).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        let csrf = input_value(&html, "csrf_token").expect("csrf token in the login form");
        let req = input_value(&html, "req").unwrap_or_default();
        browser
            .post(self.url("/login"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("req", req.as_str()),
                ("email", email),
                ("password", password),
            ])
            .send()
            .await
            .unwrap()
    }

    /// Logs in and returns an authorization code for `client`.
    pub async fn code_for(
        &self,
        browser: &reqwest::Client,
        client: &TestClient,
        challenge: &str,
        email: &str,
    ) -> String {
        let loc = self
            .login_via(browser, &self.authorize_url(client, challenge, &[]), email)
            .await;
        query_param(&loc, "code").unwrap_or_else(|| panic!("no code in {loc}"))
    }

    /// Posts to the token endpoint with Basic authentication of `client`.
    pub async fn token_request(&self, client: &TestClient, form: &[(&str, &str)]) -> reqwest::Response {
        let mut req = self.http_client().post(self.url("/token")).form(form);
        if let Some(s) = &client.secret {
            req = req.basic_auth(&client.id, Some(s));
        }
        req.send().await.unwrap()
    }

    /// Redeems `code` and returns the token response JSON (status asserted 200).
    pub async fn redeem(&self, client: &TestClient, code: &str, verifier: &str) -> serde_json::Value {
        let resp = self
            .token_request(
                client,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("redirect_uri", REDIRECT),
                    ("code_verifier", verifier),
                ],
            )
            .await;
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap()
    }

    pub async fn userinfo_status(&self, access_token: &str) -> u16 {
        let r = self
            .http_client()
            .get(self.url("/userinfo"))
            .bearer_auth(access_token)
            .send()
            .await
            .unwrap();
        r.status().as_u16()
    }
}

impl TestApp {
    /// A new member signed in to a new client: the client and its tokens.
    pub async fn signed_in(&self) -> (TestClient, serde_json::Value) {
        let mail = crate::support::email();
        self.member(&mail).await;
        let client = self.client().await;
        let (verifier, challenge) = pkce();
        let code = self.code_for(&self.browser, &client, &challenge, &mail).await;
        let tokens = self.redeem(&client, &code, &verifier).await;
        (client, tokens)
    }
}
