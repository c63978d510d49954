//! Consent (OIDC Core §3.1.2.4): a third-party client gets a code only for
//! scopes the member has allowed it; first-party clients skip the question.

use crate::account::session::Session;
use crate::error::{CoreError, OAuthError, OAuthErrorCode};
use crate::oauth::authorize::{AuthRequest, request_key};
use crate::oauth::client::Client;
use crate::oauth::scope::Scope;
use crate::provider::Provider;

/// Where a waiting request goes after the person logged in or answered.
#[derive(Debug)]
pub enum Resume {
    /// To the client: a code, or `access_denied`.
    Redirect(String),
    /// The consent page must ask first.
    AskConsent,
    /// The request demands a login this session does not meet
    /// (`prompt=login`, `max_age`, `id_token_hint`): the login page.
    Login,
    /// The request is gone (expired or already finished).
    Expired,
}

impl Provider {
    /// True if the member must allow the client the request's scopes first.
    pub async fn needs_consent(&self, request: &AuthRequest, member_id: &str) -> Result<bool, CoreError> {
        let Some(client) = self.clients.find_client(&request.client_id).await? else {
            return Err(OAuthError::invalid_client("unknown client").into());
        };
        if client.first_party {
            return Ok(false);
        }
        if request.prompt_consent {
            return Ok(true);
        }
        let wanted = Scope::parse(&request.scope)?;
        let granted = self.consents.find_consent(member_id, &client.id).await?;
        Ok(!granted
            .and_then(|g| Scope::parse(&g).ok())
            .is_some_and(|g| wanted.is_subset(&g)))
    }

    /// After a login: issue the code, or send the person to the consent page.
    pub async fn resume_authorization(&self, id: &str, session: &Session) -> Result<Resume, CoreError> {
        let Some(request) = self.find_auth_request(id).await? else {
            return Ok(Resume::Expired);
        };
        if self.needs_consent(&request, &session.member_id).await? {
            return Ok(Resume::AskConsent);
        }
        self.finish_request(id, session, true).await
    }

    /// The request and client the consent page asks about.
    pub async fn consent_subject(&self, id: &str) -> Result<Option<(AuthRequest, Client)>, CoreError> {
        let Some(request) = self.find_auth_request(id).await? else {
            return Ok(None);
        };
        let client = self.clients.find_client(&request.client_id).await?;
        Ok(client.map(|c| (request, c)))
    }

    /// The person's answer on the consent page.
    pub async fn decide_consent(&self, id: &str, session: &Session, allow: bool) -> Result<Resume, CoreError> {
        self.finish_request(id, session, allow).await
    }

    /// Takes the waiting request (once) and answers the client.
    async fn finish_request(&self, id: &str, session: &Session, allow: bool) -> Result<Resume, CoreError> {
        match self.find_auth_request(id).await? {
            None => return Ok(Resume::Expired),
            Some(r) if !self.session_meets(&r, session) => return Ok(Resume::Login),
            Some(_) => {}
        }
        let Some(request) = self.kv.take_json::<AuthRequest>(&request_key(id)).await? else {
            return Ok(Resume::Expired);
        };
        if !allow {
            self.audit_member("consent.denied", &session.member_id, Some(&request.client_id), None)
                .await;
            let e = OAuthError::new(OAuthErrorCode::AccessDenied, "the person did not allow access");
            return Ok(Resume::Redirect(self.error_redirect(
                &request.redirect_uri,
                request.state.as_deref(),
                &e,
            )));
        }
        let client = self.clients.find_client(&request.client_id).await?;
        if client.is_some_and(|c| !c.first_party) {
            let wanted = Scope::parse(&request.scope)?;
            let before = self
                .consents
                .find_consent(&session.member_id, &request.client_id)
                .await?
                .and_then(|g| Scope::parse(&g).ok())
                .unwrap_or_default();
            if !wanted.is_subset(&before) {
                let scope = before.union(&wanted).to_string();
                let now = self.clock.now();
                self.consents
                    .save_consent(&session.member_id, &request.client_id, &scope, now)
                    .await?;
                self.audit_member("consent.granted", &session.member_id, Some(&request.client_id), None)
                    .await;
            }
        }
        Ok(Resume::Redirect(self.issue_code(&request, session).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::authorize::AuthorizeOutcome;
    use crate::testing::{TestProvider, query};

    async fn consent_request(t: &TestProvider, client: &Client, session: &Session, extra: &[(&str, &str)]) -> String {
        match t
            .authorize(&t.auth_params(client, extra), Some(session.clone()), None)
            .await
        {
            Ok(AuthorizeOutcome::Consent { request_id }) => request_id,
            other => panic!("expected the consent page, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_third_party_client_asks_once_and_the_answer_is_remembered() {
        let t = TestProvider::new();
        let client = t.client(|c| c.first_party = false).await;
        let m = t.member("kari@hk.no").await;
        let s = t.session(&m).await;
        let id = consent_request(&t, &client, &s, &[]).await;
        let Resume::Redirect(url) = t.decide_consent(&id, &s, true).await.unwrap() else {
            panic!("expected a redirect");
        };
        assert!(query(&url, "code").is_some());
        assert!(
            matches!(t.decide_consent(&id, &s, true).await.unwrap(), Resume::Expired),
            "answered once"
        );
        let url = t.redirect(&client, Some(&s), &[]).await;
        assert!(query(&url, "code").is_some(), "allowed before: no question");
        // A wider scope, or prompt=consent, asks again.
        consent_request(&t, &client, &s, &[("scope", "openid email profile")]).await;
        consent_request(&t, &client, &s, &[("prompt", "consent")]).await;
        let url = t
            .redirect(&client, Some(&s), &[("scope", "openid profile"), ("prompt", "none")])
            .await;
        assert_eq!(query(&url, "error").as_deref(), Some("consent_required"));
    }

    #[tokio::test]
    async fn a_denial_sends_access_denied_and_grants_nothing() {
        let t = TestProvider::new();
        let client = t.client(|c| c.first_party = false).await;
        let m = t.member("kari@hk.no").await;
        let s = t.session(&m).await;
        let id = consent_request(&t, &client, &s, &[]).await;
        let Resume::Redirect(url) = t.decide_consent(&id, &s, false).await.unwrap() else {
            panic!("expected a redirect");
        };
        assert_eq!(query(&url, "error").as_deref(), Some("access_denied"));
        assert_eq!(query(&url, "state").as_deref(), Some("st"));
        consent_request(&t, &client, &s, &[]).await;
    }

    #[tokio::test]
    async fn first_party_clients_skip_the_question() {
        let t = TestProvider::new();
        let client = t.client(|_| {}).await;
        let m = t.member("kari@hk.no").await;
        let s = t.session(&m).await;
        let url = t.redirect(&client, Some(&s), &[("prompt", "consent")]).await;
        assert!(query(&url, "code").is_some(), "{url}");
    }

    async fn login_request(t: &TestProvider, client: &Client, session: &Session, extra: &[(&str, &str)]) -> String {
        match t
            .authorize(&t.auth_params(client, extra), Some(session.clone()), None)
            .await
        {
            Ok(AuthorizeOutcome::Login { request_id }) => request_id,
            other => panic!("expected the login page, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_request_that_demands_a_login_is_not_finished_on_the_consent_page() {
        let t = TestProvider::new();
        let client = t.client(|c| c.first_party = false).await;
        let m = t.member("kari@hk.no").await;
        let s = t.session(&m).await;
        let id = login_request(&t, &client, &s, &[("prompt", "login")]).await;
        let answer = t.decide_consent(&id, &s, true).await.unwrap();
        assert!(matches!(answer, Resume::Login), "prompt=login: {answer:?}");
        t.clock.advance(120);
        let id = login_request(&t, &client, &s, &[("max_age", "60")]).await;
        let answer = t.decide_consent(&id, &s, true).await.unwrap();
        assert!(matches!(answer, Resume::Login), "max_age: {answer:?}");
        // After a real login the same request finishes.
        t.clock.advance(1);
        let fresh = t.session(&m).await;
        assert!(matches!(
            t.decide_consent(&id, &fresh, true).await.unwrap(),
            Resume::Redirect(_)
        ));
    }

    #[tokio::test]
    async fn an_id_token_hint_for_someone_else_does_not_give_their_session_a_token() {
        let t = TestProvider::new();
        let client = t.client(|_| {}).await;
        let kari = t.member("kari@hk.no").await;
        let ola = t.member("ola@hk.no").await;
        let kari_session = t.session(&kari).await;
        let ola_session = t.session(&ola).await;
        let tokens = t.redeem(&client, &t.code(&client, &kari_session).await).await.unwrap();
        let hint = tokens.id_token.unwrap();
        fn none(h: &str) -> [(&'static str, &str); 2] {
            [("prompt", "none"), ("id_token_hint", h)]
        }
        let url = t.redirect(&client, Some(&kari_session), &none(&hint)).await;
        assert!(query(&url, "code").is_some(), "the hinted person: {url}");
        let url = t.redirect(&client, Some(&ola_session), &none(&hint)).await;
        assert_eq!(query(&url, "error").as_deref(), Some("login_required"));
        let url = t
            .redirect(&client, Some(&kari_session), &none("eyJhbGciOiJub25lIn0.e30."))
            .await;
        assert_eq!(query(&url, "error").as_deref(), Some("login_required"), "not our token");
        // Without prompt=none: the login page, and whoever logs in there gets the code.
        let id = login_request(&t, &client, &ola_session, &[("id_token_hint", &hint)]).await;
        t.clock.advance(1);
        let fresh = t.session(&ola).await;
        assert!(matches!(
            t.resume_authorization(&id, &fresh).await.unwrap(),
            Resume::Redirect(_)
        ));
    }

    #[tokio::test]
    async fn offline_access_needs_prompt_consent_from_a_third_party_client() {
        let t = TestProvider::new();
        let client = t.client(|c| c.first_party = false).await;
        let m = t.member("kari@hk.no").await;
        let s = t.session(&m).await;
        let scope_of = |id: String| {
            let t = &t;
            async move { t.find_auth_request(&id).await.unwrap().unwrap().scope }
        };
        let asked = [("scope", "openid offline_access")];
        let id = consent_request(&t, &client, &s, &asked).await;
        assert_eq!(
            scope_of(id).await,
            "openid",
            "ignored without prompt=consent (OIDC Core §11)"
        );
        let id = consent_request(&t, &client, &s, &[asked[0], ("prompt", "consent")]).await;
        assert_eq!(scope_of(id).await, "offline_access openid");
    }
}
