//! Helpers for the activation and forgotten-password steps.

use crate::support::site::Site;
use crate::support::{TestApp, input_value, location};

pub const NEW_PASSWORD: &str = "blåbær syltetøy vaffel søndag";

/// The three sentences step 2 shows, word for word (docs/CONTRACT.md).
pub const STEP2_TEXTS: [&str; 3] = [
    "Dersom din e-post er registrert i systemet vårt vil du om kort tid motta engangskode.",
    "Dersom du ikke mottar engangskode er din e-post ikke registrert i systemet vårt.",
    "Kontakt i så fall Handel og Kontor direkte for å få registrert dette.",
];

/// Which entrance: `/activate` or `/forgot-password`.
#[derive(Clone, Copy)]
pub struct Entrance(pub &'static str);

pub const ACTIVATE: Entrance = Entrance("/activate");
pub const FORGOT: Entrance = Entrance("/forgot-password");

impl Site {
    /// Step 1: shows the form at `entrance` (with `query`), submits `email`.
    /// Returns status and body of the answer (step 2 on success).
    pub async fn ask_code(&self, b: &reqwest::Client, e: Entrance, query: &str, email: &str) -> (u16, String) {
        let page = b.get(self.url(&format!("{}{query}", e.0))).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        let csrf = input_value(&html, "csrf_token").expect("csrf token in step 1");
        let req = input_value(&html, "req").unwrap_or_default();
        let resp = b
            .post(self.url(e.0))
            .form(&[("csrf_token", csrf.as_str()), ("req", req.as_str()), ("email", email)])
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    /// Step 2: submits code and passwords from the step-2 form in `step2_html`.
    pub async fn set_password(
        &self,
        b: &reqwest::Client,
        e: Entrance,
        step2_html: &str,
        code: &str,
        password: &str,
        confirmation: &str,
    ) -> reqwest::Response {
        let csrf = input_value(step2_html, "csrf_token").expect("csrf token in step 2");
        let req = input_value(step2_html, "req").unwrap_or_default();
        b.post(self.url(&format!("{}/code", e.0)))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("req", req.as_str()),
                ("code", code),
                ("password", password),
                ("password_confirm", confirmation),
            ])
            .send()
            .await
            .unwrap()
    }

    /// Activation or reset from start to finish; returns where step 2 redirects.
    pub async fn reset_password(
        &self,
        b: &reqwest::Client,
        e: Entrance,
        query: &str,
        email: &str,
        nth_mail: usize,
    ) -> String {
        let (status, step2) = self.ask_code(b, e, query, email).await;
        assert_eq!(status, 200, "{step2}");
        let code = self.mailbox.wait_for(email, nth_mail).await.code();
        let resp = self.set_password(b, e, &step2, &code, NEW_PASSWORD, NEW_PASSWORD).await;
        assert_eq!(resp.status(), 303, "{}", resp.text().await.unwrap_or_default());
        location(&resp)
    }
}

impl TestApp {
    /// A pending member (registered, no password).
    pub async fn pending_member(&self, email: &str, name: &str) -> String {
        let new = hk_idp_core::admin::member_registry::NewMember {
            email: email.into(),
            name: Some(name.into()),
            ..Default::default()
        };
        self.create_member(new).await
    }
}
