//! The token endpoint's grants (RFC 6749 §4.1.3, §4.4, §6) and client
//! authentication (RFC 6749 §2.3, OIDC Core §9).

use crate::account::member::Member;
use crate::error::{CoreError, OAuthError, OAuthErrorCode};
use crate::oauth::authorization_code::{AuthCode, SpentCode, code_key, spent_key};
use crate::oauth::client::{AuthMethod, Client, GrantType};
use crate::oauth::params::Params;
use crate::oauth::pkce;
use crate::oauth::refresh_token::{RefreshFamily, RefreshToken};
use crate::oauth::revocation_markers::Revocable;
use crate::oauth::scope::Scope;
use crate::oauth::token_minting::{Grant, TokenResponse, new_jti};
use crate::ports::telemetry::Counted;
use crate::provider::Provider;
use crate::secret::{hash_token, random_token, verify_token_hash};

/// How a client presented itself at an endpoint.
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    pub client_id: String,
    pub secret: Option<String>,
    pub method: AuthMethod,
}

pub(crate) fn unauthorized(msg: &str) -> OAuthError {
    OAuthError::new(OAuthErrorCode::UnauthorizedClient, msg)
}

impl Provider {
    /// Authenticates a client with the method it registered; anything else is `invalid_client`.
    pub async fn authenticate_client(&self, creds: &ClientCredentials) -> Result<Client, CoreError> {
        let fail = || CoreError::OAuth(OAuthError::invalid_client("client authentication failed"));
        // Client ids are printable ASCII; anything else is not worth a lookup.
        if creds.client_id.is_empty()
            || creds.client_id.len() > 128
            || !creds.client_id.bytes().all(|b| (0x21..0x7f).contains(&b))
        {
            return Err(fail());
        }
        let client = self.clients.find_client(&creds.client_id).await?.ok_or_else(fail)?;
        if client.auth_method != creds.method {
            tracing::info!(client_id = %client.id, used = creds.method.as_str(), "client.auth_method_mismatch");
            return Err(fail());
        }
        match (&client.secret_hash, &creds.secret) {
            (None, None) if client.is_public() => Ok(client),
            (Some(hash), Some(secret)) if verify_token_hash(secret, hash) => Ok(client),
            _ => {
                tracing::info!(client_id = %client.id, "client.auth_failed");
                Err(fail())
            }
        }
    }

    /// Dispatches on `grant_type`.
    pub async fn token(&self, client: &Client, p: &Params) -> Result<TokenResponse, CoreError> {
        let (grant, issued) = match p.require("grant_type")? {
            "authorization_code" => ("authorization_code", self.exchange_code(client, p).await),
            "refresh_token" => ("refresh_token", self.refresh_grant(client, p).await),
            "client_credentials" => ("client_credentials", self.client_credentials(client, p).await),
            _ => return Err(OAuthError::new(OAuthErrorCode::UnsupportedGrantType, "unsupported grant_type").into()),
        };
        if issued.is_ok() {
            self.telemetry.count(Counted::TokensIssued { grant });
        }
        issued
    }

    /// RFC 6749 §4.1.3 with RFC 7636 §4.6.
    async fn exchange_code(&self, client: &Client, p: &Params) -> Result<TokenResponse, CoreError> {
        if !client.allows_grant(GrantType::AuthorizationCode) {
            return Err(unauthorized("client may not use authorization_code").into());
        }
        let code = p.require("code")?;
        let redirect_uri = p.require("redirect_uri")?;
        let verifier = p.get("code_verifier")?;
        let hash = hash_token(code);
        let Some(record) = self.kv.get_json::<AuthCode>(&code_key(&hash)).await? else {
            self.revoke_replayed_code(&hash).await?;
            return Err(OAuthError::invalid_grant("code is invalid, expired or already used").into());
        };
        let now = self.clock.now();
        if record.client_id != client.id {
            return Err(OAuthError::invalid_grant("code was issued to another client").into());
        }
        if now - record.issued_at > self.settings.tokens.code_ttl {
            return Err(OAuthError::invalid_grant("code is invalid, expired or already used").into());
        }
        if record.redirect_uri != redirect_uri {
            return Err(OAuthError::invalid_grant("redirect_uri does not match the authorization request").into());
        }
        match (&record.code_challenge, verifier) {
            (Some(ch), Some(v)) if pkce::verify(ch, v) => {}
            (None, None) => {}
            (Some(_), _) => {
                return Err(OAuthError::invalid_grant("code_verifier does not match").into());
            }
            (None, Some(_)) => {
                return Err(OAuthError::invalid_grant("code_verifier without code_challenge").into());
            }
        }
        let member = self.active_member(&record.member_id).await?;
        let scope = Scope::parse(&record.scope)?;
        let offline = scope.contains("offline_access");
        let family = client.allows_grant(GrantType::RefreshToken).then(|| RefreshFamily {
            id: uuid::Uuid::new_v4().to_string(),
            client_id: client.id.clone(),
            member_id: member.id.clone(),
            scope: record.scope.clone(),
            sid: record.sid.clone(),
            auth_time: record.auth_time,
            offline,
            created_at: now,
            expires_at: now + self.settings.tokens.refresh_token_ttl,
            revoked: false,
        });
        let family_id = family.as_ref().map(|f| f.id.as_str());
        // The family and its first token in one transaction, before the code
        // is used up: a failed write leaves the code for the client's retry.
        let refresh_token = match &family {
            Some(f) => Some(self.store_family(f).await?),
            None => None,
        };
        let jti = new_jti(family_id, self.clock.now_millis());
        let spent = SpentCode {
            client_id: client.id.clone(),
            access_jti: jti.clone(),
            family_id: family_id.map(str::to_owned),
        };
        // Of concurrent redemptions one takes the code, leaving what it
        // issued so that a replay revokes it.
        let marker_ttl = self.settings.tokens.access_token_ttl.max(self.settings.tokens.code_ttl);
        let taken: Option<AuthCode> = self
            .kv
            .take_json_leaving(&code_key(&hash), &spent_key(&hash), &spent, marker_ttl)
            .await?;
        let lost = || OAuthError::invalid_grant("code is invalid, expired or already used");
        if taken.is_none() {
            if let Some(fid) = family_id {
                self.refresh.revoke_family(fid).await?;
            }
            self.revoke_replayed_code(&hash).await?;
            return Err(lost().into());
        }
        let grant_of = Revocable {
            jti: None,
            client_id: &client.id,
            family_id,
            sid: (!offline).then_some(record.sid.as_str()),
            member_id: Some(&member.id),
            since_ms: record.session_started_ms(),
        };
        if self.is_revoked(&grant_of).await? {
            if let Some(fid) = family_id {
                self.revoke_family(fid).await?;
            }
            tracing::info!(client_id = %client.id, "token.code_outlived_its_session");
            return Err(lost().into());
        }
        let grant = Grant {
            client,
            member: Some(&member),
            scope: &scope,
            nonce: record.nonce.as_deref(),
            auth_time: Some(record.auth_time),
            sid: Some(&record.sid),
            family_id,
            audience: None,
        };
        let response = self.mint_tokens(&grant, &jti, refresh_token)?;
        self.audit_member("token.issued", &member.id, Some(&client.id), None)
            .await;
        Ok(response)
    }

    /// A code presented again: what it issued is revoked (RFC 6749 §4.1.2).
    async fn revoke_replayed_code(&self, hash: &str) -> Result<(), CoreError> {
        let Some(spent) = self.kv.get_json::<SpentCode>(&spent_key(hash)).await? else {
            return Ok(());
        };
        tracing::warn!(client_id = %spent.client_id, "token.code_replayed");
        self.kv
            .mark(
                &crate::provider::jti_revoked_key(&spent.access_jti),
                self.settings.tokens.access_token_ttl,
            )
            .await?;
        if let Some(fid) = &spent.family_id {
            self.revoke_family(fid).await?;
        }
        let ev = crate::audit::AuditEvent::new(
            "token.code_replayed",
            format!("client:{}", spent.client_id),
            self.clock.now(),
        )
        .client(&spent.client_id);
        self.record(ev).await;
        Ok(())
    }

    /// Stores a new family with its first refresh token; returns the token.
    async fn store_family(&self, family: &RefreshFamily) -> Result<String, CoreError> {
        let token = random_token(32);
        let first = RefreshToken {
            hash: hash_token(&token),
            family_id: family.id.clone(),
            created_at: family.created_at,
            expires_at: family.expires_at,
            spent: false,
        };
        self.refresh.insert_family(family, &first).await?;
        Ok(token)
    }

    pub(crate) async fn active_member(&self, id: &str) -> Result<Member, CoreError> {
        match self.members.find_member(id).await? {
            Some(m) if m.is_active() => Ok(m),
            _ => Err(OAuthError::invalid_grant("the member is not active").into()),
        }
    }

    /// RFC 6749 §4.4, with RFC 8707 `resource` as the audience.
    async fn client_credentials(&self, client: &Client, p: &Params) -> Result<TokenResponse, CoreError> {
        if client.is_public() || !client.allows_grant(GrantType::ClientCredentials) {
            return Err(unauthorized("client may not use client_credentials").into());
        }
        let scope = Scope::parse(p.get("scope")?.unwrap_or(""))?;
        if !scope.is_subset(&client.allowed_scope()) {
            return Err(OAuthError::new(OAuthErrorCode::InvalidScope, "scope not allowed for this client").into());
        }
        if scope.contains("openid") || scope.contains("offline_access") {
            return Err(
                OAuthError::new(OAuthErrorCode::InvalidScope, "openid and offline_access need a person").into(),
            );
        }
        let resource = p.get("resource")?;
        if let Some(r) = resource {
            let ok = url::Url::parse(r).is_ok_and(|u| u.fragment().is_none());
            if !ok {
                return Err(OAuthError::new(
                    OAuthErrorCode::InvalidRequest,
                    "resource must be an absolute URI without fragment",
                )
                .into());
            }
        }
        let grant = Grant {
            client,
            member: None,
            scope: &scope,
            nonce: None,
            auth_time: None,
            sid: None,
            family_id: None,
            audience: resource,
        };
        let jti = new_jti(None, self.clock.now_millis());
        self.mint_tokens(&grant, &jti, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{REDIRECT, TestProvider, VERIFIER, oauth_code, params, query};

    async fn signed_in(t: &TestProvider) -> (Client, crate::account::session::Session) {
        let client = t.client(|_| {}).await;
        let member = t.member("kari@hk.no").await;
        let session = t.session(&member).await;
        (client, session)
    }

    #[tokio::test]
    async fn a_code_is_redeemed_once_and_a_replay_revokes_what_it_issued() {
        let t = TestProvider::new();
        let (client, session) = signed_in(&t).await;
        let code = t.code(&client, &session).await;
        let tokens = t.redeem(&client, &code).await.unwrap();
        assert!(tokens.id_token.is_some());
        assert!(t.validate_access_token(&tokens.access_token).await.is_ok());
        assert_eq!(oauth_code(t.redeem(&client, &code).await), OAuthErrorCode::InvalidGrant);
        assert!(
            t.validate_access_token(&tokens.access_token).await.is_err(),
            "the replay revoked the access token"
        );
        let refresh = tokens.refresh_token.unwrap();
        assert_eq!(
            oauth_code(t.refresh(&client, &refresh).await),
            OAuthErrorCode::InvalidGrant
        );
        assert!(t.db.event_kinds().contains(&"token.code_replayed".to_owned()));
    }

    #[tokio::test]
    async fn a_code_expires_after_its_lifetime() {
        let t = TestProvider::new();
        let (client, session) = signed_in(&t).await;
        let code = t.code(&client, &session).await;
        t.clock.advance(t.settings.tokens.code_ttl - 1);
        assert!(t.redeem(&client, &code).await.is_ok(), "valid until its lifetime ends");
        let code = t.code(&client, &session).await;
        t.clock.advance(t.settings.tokens.code_ttl + 1);
        assert_eq!(oauth_code(t.redeem(&client, &code).await), OAuthErrorCode::InvalidGrant);
    }

    #[tokio::test]
    async fn a_code_is_bound_to_its_client_redirect_uri_and_verifier() {
        let t = TestProvider::new();
        let (client, session) = signed_in(&t).await;
        let other = t.client(|_| {}).await;
        let code = t.code(&client, &session).await;
        assert_eq!(oauth_code(t.redeem(&other, &code).await), OAuthErrorCode::InvalidGrant);
        let code = t.code(&client, &session).await;
        let p = params(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://rp.example/other"),
            ("code_verifier", VERIFIER),
        ]);
        assert_eq!(oauth_code(t.token(&client, &p).await), OAuthErrorCode::InvalidGrant);
        let code = t.code(&client, &session).await;
        let p = params(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", "a-verifier-that-does-not-match-the-challenge-at-all"),
        ]);
        assert_eq!(oauth_code(t.token(&client, &p).await), OAuthErrorCode::InvalidGrant);
    }

    #[tokio::test]
    async fn refresh_rotates_and_a_reused_token_revokes_the_family() {
        let t = TestProvider::new();
        let (client, session) = signed_in(&t).await;
        let first = t.redeem(&client, &t.code(&client, &session).await).await.unwrap();
        let r1 = first.refresh_token.unwrap();
        let second = t.refresh(&client, &r1).await.unwrap();
        assert!(second.id_token.is_some(), "refresh responses carry an ID token");
        let r2 = second.refresh_token.unwrap();
        assert_ne!(r1, r2, "rotated");
        let retry = t.refresh(&client, &r1).await.unwrap();
        assert_eq!(retry.refresh_token.as_ref(), Some(&r2), "a retry within the grace");
        // The spent r1 after the grace: the family is revoked, r2 and its access token with it.
        t.clock.advance(t.settings.tokens.refresh_grace + 1);
        assert_eq!(oauth_code(t.refresh(&client, &r1).await), OAuthErrorCode::InvalidGrant);
        assert_eq!(oauth_code(t.refresh(&client, &r2).await), OAuthErrorCode::InvalidGrant);
        assert!(t.validate_access_token(&second.access_token).await.is_err());
        assert!(t.db.event_kinds().contains(&"token.family_revoked".to_owned()));
    }

    #[tokio::test]
    async fn refresh_tokens_without_offline_access_end_with_the_logout() {
        let t = TestProvider::new();
        let client = t.client(|_| {}).await;
        let member = t.member("kari@hk.no").await;
        let (cookie, session) = t.start_session(&member.id, None).await.unwrap();
        let tokens = t.redeem(&client, &t.code(&client, &session).await).await.unwrap();
        t.end_session(&cookie).await.unwrap();
        let refresh = tokens.refresh_token.unwrap();
        assert_eq!(
            oauth_code(t.refresh(&client, &refresh).await),
            OAuthErrorCode::InvalidGrant
        );
        assert!(t.validate_access_token(&tokens.access_token).await.is_err());
    }

    #[tokio::test]
    async fn refresh_tokens_without_offline_access_end_when_the_session_expires() {
        let t = TestProvider::new();
        let (client, session) = signed_in(&t).await;
        let tokens = t.redeem(&client, &t.code(&client, &session).await).await.unwrap();
        t.clock.advance(t.settings.session.ttl - 1);
        let next = t.refresh(&client, &tokens.refresh_token.unwrap()).await.unwrap();
        t.clock.advance(1);
        assert_eq!(
            oauth_code(t.refresh(&client, &next.refresh_token.unwrap()).await),
            OAuthErrorCode::InvalidGrant,
            "the SSO session is over, and so is the family"
        );
    }

    #[tokio::test]
    async fn offline_access_outlives_the_session() {
        let t = TestProvider::new();
        let (client, session) = signed_in(&t).await;
        let url = t
            .redirect(
                &client,
                Some(&session),
                &[("scope", "openid offline_access"), ("prompt", "consent")],
            )
            .await;
        let code = query(&url, "code").unwrap_or_else(|| panic!("no code in {url}"));
        let tokens = t.redeem(&client, &code).await.unwrap();
        t.clock.advance(t.settings.session.ttl + 1);
        assert!(t.refresh(&client, &tokens.refresh_token.unwrap()).await.is_ok());
    }

    #[tokio::test]
    async fn a_code_issued_before_a_reset_or_disable_is_void() {
        let t = TestProvider::new();
        let (client, session) = signed_in(&t).await;
        let code = t.code(&client, &session).await;
        t.clock.advance(1);
        // What a new password and a disabled account do.
        t.end_member_sessions(&session.member_id).await.unwrap();
        assert_eq!(oauth_code(t.redeem(&client, &code).await), OAuthErrorCode::InvalidGrant);
        let member = t.db.members.lock().unwrap()[&session.member_id].clone();
        let fresh = t.session(&member).await;
        let code = t.code(&client, &fresh).await;
        assert!(
            t.redeem(&client, &code).await.is_ok(),
            "a code from a later login is good"
        );
    }

    #[tokio::test]
    async fn a_family_stored_while_a_reset_ran_is_refused() {
        let t = TestProvider::new();
        let (client, session) = signed_in(&t).await;
        let tokens = t.redeem(&client, &t.code(&client, &session).await).await.unwrap();
        let refresh = tokens.refresh_token.unwrap();
        let family_id = t
            .refresh
            .find_token(&hash_token(&refresh))
            .await
            .unwrap()
            .unwrap()
            .family_id;
        t.clock.advance(1);
        t.end_member_sessions(&session.member_id).await.unwrap();
        // As if the grant had stored its family just after the reset revoked the member's.
        let mut escaped = t.refresh.find_family(&family_id).await.unwrap().unwrap();
        escaped.id = "escaped".into();
        escaped.revoked = false;
        let token = RefreshToken {
            hash: hash_token("escaped-token"),
            family_id: escaped.id.clone(),
            created_at: escaped.created_at,
            expires_at: escaped.expires_at,
            spent: false,
        };
        t.refresh.insert_family(&escaped, &token).await.unwrap();
        assert_eq!(
            oauth_code(t.refresh(&client, "escaped-token").await),
            OAuthErrorCode::InvalidGrant
        );
    }

    #[tokio::test]
    async fn a_grant_that_fails_to_store_can_be_retried() {
        let t = TestProvider::new();
        let (client, session) = signed_in(&t).await;
        let code = t.code(&client, &session).await;
        let fail = |on: bool| t.db.refresh_writes_fail.store(on, std::sync::atomic::Ordering::SeqCst);
        fail(true);
        assert!(t.redeem(&client, &code).await.is_err());
        fail(false);
        let tokens = t.redeem(&client, &code).await.expect("the code was not used up");
        let refresh = tokens.refresh_token.unwrap();
        fail(true);
        assert!(t.refresh(&client, &refresh).await.is_err());
        fail(false);
        let next = t.refresh(&client, &refresh).await.expect("the token was not spent");
        assert!(
            t.validate_access_token(&next.access_token).await.is_ok(),
            "no revocation"
        );
        assert!(t.refresh(&client, &next.refresh_token.unwrap()).await.is_ok());
    }

    #[tokio::test]
    async fn access_tokens_expire_by_the_clock() {
        let t = TestProvider::new();
        let (client, session) = signed_in(&t).await;
        let tokens = t.redeem(&client, &t.code(&client, &session).await).await.unwrap();
        t.clock.advance(t.settings.tokens.access_token_ttl);
        assert!(t.validate_access_token(&tokens.access_token).await.is_err());
    }

    #[tokio::test]
    async fn client_credentials_need_a_confidential_client_and_no_person_scopes() {
        let t = TestProvider::new();
        let service = t
            .client(|c| c.grant_types = vec![crate::oauth::client::GrantType::ClientCredentials])
            .await;
        let ok = t
            .token(&service, &params(&[("grant_type", "client_credentials")]))
            .await;
        assert!(ok.unwrap().refresh_token.is_none());
        let p = params(&[("grant_type", "client_credentials"), ("scope", "openid")]);
        assert_eq!(oauth_code(t.token(&service, &p).await), OAuthErrorCode::InvalidScope);
        let web = t.client(|_| {}).await;
        let p = params(&[("grant_type", "client_credentials")]);
        assert_eq!(oauth_code(t.token(&web, &p).await), OAuthErrorCode::UnauthorizedClient);
        // Registration refuses a public client with this grant; the grant refuses it too.
        let mut public = service.clone();
        public.auth_method = AuthMethod::None;
        public.secret_hash = None;
        assert_eq!(
            oauth_code(t.token(&public, &p).await),
            OAuthErrorCode::UnauthorizedClient
        );
    }

    #[tokio::test]
    async fn clients_authenticate_only_with_the_method_and_secret_they_registered() {
        let t = TestProvider::new();
        let issued = t
            .create_client(
                crate::oauth::client::NewClient {
                    name: "P".into(),
                    redirect_uris: vec![REDIRECT.into()],
                    ..Default::default()
                },
                &crate::audit::Actor::cli(),
            )
            .await
            .unwrap();
        let creds = |secret: &str, method| ClientCredentials {
            client_id: issued.client.id.clone(),
            secret: Some(secret.to_owned()),
            method,
        };
        let secret = issued.secret.clone().unwrap();
        assert!(
            t.authenticate_client(&creds(&secret, AuthMethod::ClientSecretBasic))
                .await
                .is_ok()
        );
        assert!(
            t.authenticate_client(&creds("wrong", AuthMethod::ClientSecretBasic))
                .await
                .is_err()
        );
        assert!(
            t.authenticate_client(&creds(&secret, AuthMethod::ClientSecretPost))
                .await
                .is_err()
        );
    }
}
