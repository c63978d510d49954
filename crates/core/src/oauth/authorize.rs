//! The authorization endpoint's rules: OIDC Core §3.1.2, RFC 6749 §4.1,
//! RFC 7636 (PKCE) and RFC 9207 (`iss` in the response).

use crate::account::session::Session;
use crate::client_address::limit_group;
use crate::error::{CoreError, OAuthError, OAuthErrorCode};
use crate::oauth::authorization_code::{AuthCode, code_key};
use crate::oauth::params::Params;
use crate::oauth::pkce;
use crate::oauth::scope::Scope;
use crate::provider::Provider;
use crate::secret::{hash_token, random_token};
use serde::{Deserialize, Serialize};

/// A validated authorization request, kept while the person logs in.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    /// `prompt=login`: the person must enter the password again.
    pub force_login: bool,
    pub prompt_none: bool,
    /// `prompt=consent`: ask again even if the member has allowed it before.
    #[serde(default)]
    pub prompt_consent: bool,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    pub ui_locales: Option<String>,
    /// The `sub` of `id_token_hint`; empty if the hint is not this provider's.
    #[serde(default)]
    pub hint_sub: Option<String>,
    /// When the request was parked (ms); a login demanded by `prompt=login`
    /// or `max_age=0` must come after it.
    #[serde(default)]
    pub parked_ms: i64,
}

/// Where an authorization request goes next.
#[derive(Debug)]
pub enum AuthorizeOutcome {
    /// Redirect to the client: code or error, with `state` and `iss`.
    Redirect(String),
    /// The person must log in; the request waits under this id.
    Login { request_id: String },
    /// Logged in, but the client needs the person's consent first.
    Consent { request_id: String },
}

/// Errors of the authorization endpoint.
#[derive(Debug)]
pub enum AuthorizeError {
    /// The client or redirect URI cannot be trusted: shown as a page, never a redirect.
    Page(OAuthError),
    /// The asking address group has `session.parked_per_address` requests
    /// waiting already (docs/ABUSE-LIMITS.md): a 429 page.
    TooManyWaiting,
    Core(CoreError),
}

impl From<CoreError> for AuthorizeError {
    fn from(e: CoreError) -> Self {
        AuthorizeError::Core(e)
    }
}

impl From<crate::error::StoreError> for AuthorizeError {
    fn from(e: crate::error::StoreError) -> Self {
        AuthorizeError::Core(e.into())
    }
}

/// Longer hints are ignored (OIDC Core §3.1.2.1 lets us), so a parked
/// request stays small: an e-mail address is at most 254 characters.
const MAX_LOGIN_HINT: usize = 320;
const MAX_UI_LOCALES: usize = 128;

fn hint(value: Option<&str>, max: usize) -> Option<String> {
    value.filter(|v| v.len() <= max).map(str::to_owned)
}

pub(crate) fn request_key(id: &str) -> String {
    format!("authreq:{id}")
}

/// Builds the redirect to the client with `params` added to any query the
/// registered URI already has (RFC 6749 §3.1.2).
pub fn redirect_with(redirect_uri: &str, params: &[(&str, &str)]) -> String {
    match url::Url::parse(redirect_uri) {
        Ok(mut url) => {
            {
                let mut q = url.query_pairs_mut();
                for (k, v) in params {
                    q.append_pair(k, v);
                }
            }
            url.into()
        }
        Err(_) => redirect_uri.to_owned(),
    }
}

impl Provider {
    /// RFC 6749 §4.1.2.1: the error response, with `state` and RFC 9207 `iss`.
    pub fn error_redirect(&self, redirect_uri: &str, state: Option<&str>, e: &OAuthError) -> String {
        let mut p = vec![
            ("error", e.code.as_str()),
            ("error_description", e.description.as_str()),
        ];
        if let Some(s) = state {
            p.push(("state", s));
        }
        p.push(("iss", self.settings.issuer.as_str()));
        redirect_with(redirect_uri, &p)
    }

    /// Validates an authorization request from `ip` and decides: code now,
    /// login page, or error.
    pub async fn authorize(
        &self,
        params: &Params,
        session: Option<Session>,
        ip: Option<&str>,
    ) -> Result<AuthorizeOutcome, AuthorizeError> {
        // Until client and redirect URI are verified, errors are pages (RFC 6749 §4.1.2.1).
        let client_id = params
            .get("client_id")
            .map_err(AuthorizeError::Page)?
            .ok_or_else(|| AuthorizeError::Page(OAuthError::invalid_request("client_id is missing")))?;
        let client = self
            .clients
            .find_client(client_id)
            .await?
            .ok_or_else(|| AuthorizeError::Page(OAuthError::invalid_client("unknown client")))?;
        let redirect_uri = params
            .get("redirect_uri")
            .map_err(AuthorizeError::Page)?
            .ok_or_else(|| AuthorizeError::Page(OAuthError::invalid_request("redirect_uri is missing")))?;
        if !client.has_redirect_uri(redirect_uri) {
            return Err(AuthorizeError::Page(OAuthError::invalid_request(
                "redirect_uri is not registered for this client",
            )));
        }
        // From here on errors go back to the client. A repeated state cannot be echoed.
        let state = params.get("state").ok().flatten();
        let request = match self.validate_request(params, &client) {
            Ok(r) => r,
            Err(e) => {
                return Ok(AuthorizeOutcome::Redirect(self.error_redirect(redirect_uri, state, &e)));
            }
        };
        self.continue_authorization(request, session, ip).await
    }

    fn validate_request(&self, p: &Params, client: &crate::oauth::client::Client) -> Result<AuthRequest, OAuthError> {
        // OIDC Core §6: request objects are not supported.
        if p.has("request") {
            return Err(OAuthError::new(
                OAuthErrorCode::RequestNotSupported,
                "request objects are not supported",
            ));
        }
        if p.has("request_uri") {
            return Err(OAuthError::new(
                OAuthErrorCode::RequestUriNotSupported,
                "request_uri is not supported",
            ));
        }
        if p.has("registration") {
            return Err(OAuthError::new(
                OAuthErrorCode::RegistrationNotSupported,
                "registration is not supported",
            ));
        }
        let state = p.get("state")?.map(str::to_owned);
        let response_type = p.require("response_type")?;
        if response_type != "code" {
            return Err(OAuthError::new(
                OAuthErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            ));
        }
        if let Some(mode) = p.get("response_mode")?
            && mode != "query"
        {
            return Err(OAuthError::invalid_request("only response_mode=query is supported"));
        }
        if !client.allows_grant(crate::oauth::client::GrantType::AuthorizationCode) {
            return Err(OAuthError::new(
                OAuthErrorCode::UnauthorizedClient,
                "client may not use the code flow",
            ));
        }
        let scope = Scope::parse(p.get("scope")?.unwrap_or(""))?;
        if !scope.is_subset(&client.allowed_scope()) {
            return Err(OAuthError::new(
                OAuthErrorCode::InvalidScope,
                "scope not allowed for this client",
            ));
        }
        let code_challenge = pkce::parse_challenge(p.get("code_challenge")?, p.get("code_challenge_method")?)?;
        if client.is_public() && code_challenge.is_none() {
            return Err(OAuthError::invalid_request(
                "PKCE (code_challenge with S256) is required for public clients",
            ));
        }
        let mut force_login = false;
        let mut prompt_none = false;
        let mut prompt_consent = false;
        if let Some(prompt) = p.get("prompt")? {
            let values: Vec<&str> = prompt.split(' ').filter(|s| !s.is_empty()).collect();
            for v in &values {
                match *v {
                    "none" => prompt_none = true,
                    "login" => force_login = true,
                    "consent" => prompt_consent = true,
                    "select_account" => {}
                    other => {
                        return Err(OAuthError::invalid_request(format!("unsupported prompt value {other}")));
                    }
                }
            }
            // OIDC Core §3.1.2.1: none with any other value is an error.
            if prompt_none && values.len() > 1 {
                return Err(OAuthError::invalid_request(
                    "prompt=none cannot be combined with other values",
                ));
            }
        }
        // OIDC Core §11: offline_access is ignored unless the person is asked
        // (prompt=consent); first-party clients are HK's own and never ask.
        let scope = if scope.contains("offline_access") && !client.first_party && !prompt_consent {
            scope.without("offline_access")
        } else {
            scope
        };
        let max_age = match p.get("max_age")? {
            None => None,
            Some(s) => Some(
                s.parse::<u32>()
                    .map(i64::from)
                    .map_err(|_| OAuthError::invalid_request("max_age must be a non-negative integer"))?,
            ),
        };
        Ok(AuthRequest {
            client_id: client.id.clone(),
            redirect_uri: p.require("redirect_uri")?.to_owned(),
            scope: scope.to_string(),
            state,
            nonce: p.get("nonce")?.map(str::to_owned),
            code_challenge,
            force_login,
            prompt_none,
            prompt_consent,
            max_age,
            login_hint: hint(p.get("login_hint")?, MAX_LOGIN_HINT),
            ui_locales: hint(p.get("ui_locales")?, MAX_UI_LOCALES),
            // A hint for someone else, or from another issuer, never matches a session.
            hint_sub: p.get("id_token_hint")?.map(|h| {
                self.verify_id_token_hint(h)
                    .ok()
                    .and_then(|c| c.get("sub").and_then(serde_json::Value::as_str).map(str::to_owned))
                    .unwrap_or_default()
            }),
            parked_ms: 0,
        })
    }

    /// With a usable session, issue the code; otherwise ask for a login
    /// (or, with `prompt=none`, answer `login_required`).
    async fn continue_authorization(
        &self,
        request: AuthRequest,
        session: Option<Session>,
        ip: Option<&str>,
    ) -> Result<AuthorizeOutcome, AuthorizeError> {
        let usable = match session {
            Some(s) if self.session_meets(&request, &s) => {
                let member_ok = self
                    .members
                    .find_member(&s.member_id)
                    .await?
                    .is_some_and(|m| m.is_active());
                member_ok.then_some(s)
            }
            _ => None,
        };
        // OIDC Core §3.1.2.6: with prompt=none, what would need the person is an error.
        let refuse = |code, description: &str| {
            let e = OAuthError::new(code, description);
            AuthorizeOutcome::Redirect(self.error_redirect(&request.redirect_uri, request.state.as_deref(), &e))
        };
        if let Some(s) = usable {
            if !self.needs_consent(&request, &s.member_id).await? {
                let url = self.issue_code(&request, &s).await?;
                return Ok(AuthorizeOutcome::Redirect(url));
            }
            if request.prompt_none {
                return Ok(refuse(
                    OAuthErrorCode::ConsentRequired,
                    "the person has not allowed this client",
                ));
            }
            let request_id = self.park_request(&request, ip).await?;
            return Ok(AuthorizeOutcome::Consent { request_id });
        }
        if request.prompt_none {
            return Ok(refuse(OAuthErrorCode::LoginRequired, "the person is not logged in"));
        }
        let request_id = self.park_request(&request, ip).await?;
        Ok(AuthorizeOutcome::Login { request_id })
    }

    /// True if `s` meets what the request demanded, on every way a request
    /// is finished (OIDC Core §3.1.2.1): `prompt=login` and `max_age=0` a
    /// login after the request was parked, `max_age` a login that recent, and
    /// `id_token_hint` the person it names — unless they logged in anew.
    pub(crate) fn session_meets(&self, request: &AuthRequest, s: &Session) -> bool {
        let logged_in_ms = s.created_ms.max(s.auth_time.saturating_mul(1000));
        let fresh = request.parked_ms > 0 && logged_in_ms > request.parked_ms;
        if request.force_login || request.max_age == Some(0) {
            return fresh;
        }
        let recent = request.max_age.is_none_or(|m| self.clock.now() - s.auth_time <= m);
        let hinted = request.hint_sub.as_ref().is_none_or(|sub| *sub == s.member_id);
        recent && (hinted || fresh)
    }

    /// Keeps a request while the person logs in or consents: at most
    /// `session.parked_per_address` from one address group within
    /// `session.login_request_ttl`, so a stranger's requests stay bounded.
    async fn park_request(&self, request: &AuthRequest, ip: Option<&str>) -> Result<String, AuthorizeError> {
        let s = &self.settings.session;
        let group = limit_group(ip);
        // Not under `authreq:`, where a request id taken from the URL looks.
        let parked_so_far = self.kv.incr(&format!("parked:{group}"), s.login_request_ttl).await?;
        if parked_so_far > s.parked_per_address {
            tracing::warn!(%group, parked_so_far, "authorize.too_many_waiting");
            return Err(AuthorizeError::TooManyWaiting);
        }
        let request_id = random_token(24);
        let parked = AuthRequest {
            parked_ms: self.clock.now_millis(),
            ..request.clone()
        };
        self.kv
            .put_json(
                &request_key(&request_id),
                &parked,
                self.settings.session.login_request_ttl,
            )
            .await?;
        Ok(request_id)
    }

    /// The authorization request waiting behind a login page.
    pub async fn find_auth_request(&self, id: &str) -> Result<Option<AuthRequest>, CoreError> {
        if id.is_empty() || id.len() > 64 {
            return Ok(None);
        }
        Ok(self.kv.get_json(&request_key(id)).await?)
    }

    pub(crate) async fn issue_code(&self, request: &AuthRequest, session: &Session) -> Result<String, CoreError> {
        let code = random_token(32);
        let record = AuthCode {
            client_id: request.client_id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            member_id: session.member_id.clone(),
            scope: request.scope.clone(),
            nonce: request.nonce.clone(),
            code_challenge: request.code_challenge.clone(),
            auth_time: session.auth_time,
            sid: session.sid.clone(),
            issued_at: self.clock.now(),
            session_ms: session.started_ms(),
        };
        self.kv
            .put_json(&code_key(&hash_token(&code)), &record, self.settings.tokens.code_ttl)
            .await?;
        let mut p = vec![("code", code.as_str())];
        if let Some(s) = &request.state {
            p.push(("state", s));
        }
        p.push(("iss", self.settings.issuer.as_str()));
        Ok(redirect_with(&request.redirect_uri, &p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::client::AuthMethod;
    use crate::testing::{ISSUER, REDIRECT, TestProvider, query};

    fn page_error(r: Result<AuthorizeOutcome, AuthorizeError>) -> OAuthError {
        match r {
            Err(AuthorizeError::Page(e)) => e,
            other => panic!("expected an error page, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn an_unknown_client_or_unregistered_redirect_uri_is_a_page_never_a_redirect() {
        let t = TestProvider::new();
        let client = t.client(|_| {}).await;
        let mut p = t.auth_params(&client, &[("client_id", "nobody")]);
        assert_eq!(
            page_error(t.authorize(&p, None, None).await).code,
            OAuthErrorCode::InvalidClient
        );
        p = t.auth_params(&client, &[("redirect_uri", "https://evil.example/cb")]);
        assert_eq!(
            page_error(t.authorize(&p, None, None).await).code,
            OAuthErrorCode::InvalidRequest
        );
        // Exact match only: a path or query added to a registered URI is another URI.
        p = t.auth_params(&client, &[("redirect_uri", "https://rp.example/cb/x")]);
        assert!(matches!(
            t.authorize(&p, None, None).await,
            Err(AuthorizeError::Page(_))
        ));
    }

    #[tokio::test]
    async fn errors_after_the_client_is_known_redirect_with_state_and_iss() {
        let t = TestProvider::new();
        let client = t.client(|_| {}).await;
        let url = t.redirect(&client, None, &[("response_type", "token")]).await;
        assert!(url.starts_with(REDIRECT), "{url}");
        assert_eq!(query(&url, "error").as_deref(), Some("unsupported_response_type"));
        assert_eq!(query(&url, "state").as_deref(), Some("st"));
        assert_eq!(query(&url, "iss").as_deref(), Some(ISSUER));
        let url = t.redirect(&client, None, &[("request", "eyJ...")]).await;
        assert_eq!(query(&url, "error").as_deref(), Some("request_not_supported"));
        let url = t.redirect(&client, None, &[("scope", "openid admin")]).await;
        assert_eq!(query(&url, "error").as_deref(), Some("invalid_scope"));
    }

    #[tokio::test]
    async fn pkce_is_required_for_public_clients_and_only_s256() {
        let t = TestProvider::new();
        let public = t.client(|c| c.auth_method = AuthMethod::None).await;
        let no_pkce = [("code_challenge", ""), ("code_challenge_method", "")];
        let url = t.redirect(&public, None, &no_pkce).await;
        assert_eq!(query(&url, "error").as_deref(), Some("invalid_request"));
        let description = query(&url, "error_description").unwrap_or_default();
        assert!(description.contains("public clients"), "{description}");
        // A confidential client may leave PKCE out.
        let confidential = t.client(|_| {}).await;
        let Ok(AuthorizeOutcome::Login { .. }) = t.authorize(&t.auth_params(&confidential, &no_pkce), None, None).await
        else {
            panic!("a confidential client without PKCE goes on to the login page");
        };
        let url = t.redirect(&public, None, &[("code_challenge_method", "plain")]).await;
        assert_eq!(query(&url, "error").as_deref(), Some("invalid_request"));
    }

    #[tokio::test]
    async fn prompt_none_without_a_session_is_login_required_and_cannot_be_combined() {
        let t = TestProvider::new();
        let client = t.client(|_| {}).await;
        let url = t.redirect(&client, None, &[("prompt", "none")]).await;
        assert_eq!(query(&url, "error").as_deref(), Some("login_required"));
        let url = t.redirect(&client, None, &[("prompt", "none login")]).await;
        assert_eq!(query(&url, "error").as_deref(), Some("invalid_request"));
    }

    #[tokio::test]
    async fn a_session_gives_a_code_unless_prompt_login_or_max_age_asks_again() {
        let t = TestProvider::new();
        let client = t.client(|_| {}).await;
        let member = t.member("kari@hk.no").await;
        let session = t.session(&member).await;
        let url = t.redirect(&client, Some(&session), &[]).await;
        assert!(query(&url, "code").is_some(), "{url}");
        let asks_login = async |extra: &[(&str, &str)]| {
            let outcome = t
                .authorize(&t.auth_params(&client, extra), Some(session.clone()), None)
                .await;
            matches!(outcome, Ok(AuthorizeOutcome::Login { .. }))
        };
        assert!(asks_login(&[("prompt", "login")]).await);
        assert!(asks_login(&[("max_age", "0")]).await, "max_age=0 is a fresh login");
        assert!(
            !asks_login(&[("max_age", "60")]).await,
            "a recent login satisfies max_age"
        );
        t.clock.advance(61);
        assert!(asks_login(&[("max_age", "60")]).await, "an older login asks again");
        let url = t
            .redirect(&client, Some(&session), &[("max_age", "60"), ("prompt", "none")])
            .await;
        assert_eq!(query(&url, "error").as_deref(), Some("login_required"));
    }

    #[tokio::test]
    async fn a_parked_request_waits_for_the_login_and_then_expires() {
        let t = TestProvider::new();
        let client = t.client(|_| {}).await;
        let Ok(AuthorizeOutcome::Login { request_id }) = t.authorize(&t.auth_params(&client, &[]), None, None).await
        else {
            panic!("expected the login page");
        };
        let parked = t.find_auth_request(&request_id).await.unwrap().unwrap();
        assert_eq!(parked.client_id, client.id);
        assert_eq!(parked.code_challenge.as_deref(), Some(crate::testing::CHALLENGE));
        t.clock.advance(t.settings.session.login_request_ttl);
        assert!(t.find_auth_request(&request_id).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn one_address_group_parks_only_so_many_requests_per_lifetime() {
        let t = TestProvider::with(|s| s.session.parked_per_address = 3);
        let client = t.client(|_| {}).await;
        let p = t.auth_params(&client, &[]);
        for ip in ["2001:db8::1", "2001:db8::2", "2001:db8::3"] {
            let outcome = t.authorize(&p, None, Some(ip)).await;
            assert!(matches!(outcome, Ok(AuthorizeOutcome::Login { .. })), "{outcome:?}");
        }
        let outcome = t.authorize(&p, None, Some("2001:db8::4")).await;
        assert!(
            matches!(outcome, Err(AuthorizeError::TooManyWaiting)),
            "one /64: {outcome:?}"
        );
        let outcome = t.authorize(&p, None, Some("192.0.2.1")).await;
        assert!(
            matches!(outcome, Ok(AuthorizeOutcome::Login { .. })),
            "another group: {outcome:?}"
        );
        t.clock.advance(t.settings.session.login_request_ttl);
        let outcome = t.authorize(&p, None, Some("2001:db8::4")).await;
        assert!(
            matches!(outcome, Ok(AuthorizeOutcome::Login { .. })),
            "a new window: {outcome:?}"
        );
    }

    #[tokio::test]
    async fn a_request_that_needs_no_page_is_not_counted() {
        let t = TestProvider::with(|s| s.session.parked_per_address = 1);
        let client = t.client(|_| {}).await;
        let m = t.member("kari@hk.no").await;
        let s = t.session(&m).await;
        for _ in 0..3 {
            let outcome = t
                .authorize(&t.auth_params(&client, &[]), Some(s.clone()), Some("192.0.2.1"))
                .await;
            assert!(matches!(outcome, Ok(AuthorizeOutcome::Redirect(_))), "{outcome:?}");
        }
        let outcome = t.authorize(&t.auth_params(&client, &[]), None, Some("192.0.2.1")).await;
        assert!(matches!(outcome, Ok(AuthorizeOutcome::Login { .. })), "{outcome:?}");
    }

    #[tokio::test]
    async fn long_hints_are_not_kept() {
        let t = TestProvider::new();
        let client = t.client(|_| {}).await;
        let long = "x".repeat(MAX_LOGIN_HINT + 1);
        let extra = [("login_hint", long.as_str()), ("ui_locales", long.as_str())];
        let Ok(AuthorizeOutcome::Login { request_id }) = t.authorize(&t.auth_params(&client, &extra), None, None).await
        else {
            panic!("expected the login page");
        };
        let parked = t.find_auth_request(&request_id).await.unwrap().unwrap();
        assert_eq!((parked.login_hint, parked.ui_locales), (None, None));
        let extra = [("login_hint", "kari@hk.no"), ("ui_locales", "en nb")];
        let Ok(AuthorizeOutcome::Login { request_id }) = t.authorize(&t.auth_params(&client, &extra), None, None).await
        else {
            panic!("expected the login page");
        };
        let parked = t.find_auth_request(&request_id).await.unwrap().unwrap();
        assert_eq!(parked.login_hint.as_deref(), Some("kari@hk.no"));
        assert_eq!(parked.ui_locales.as_deref(), Some("en nb"));
    }
}
