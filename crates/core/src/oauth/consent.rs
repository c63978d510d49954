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
        match t.authorize(&t.auth_params(client, extra), Some(session.clone())).await {
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
}
