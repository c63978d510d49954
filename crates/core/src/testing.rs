//! What the domain's unit tests run on: the in-process short-lived store and
//! in-memory durable stores on a `ManualClock`, a signer that signs nothing
//! (JWTs with an unchecked signature: the rules, not the cryptography, are
//! under test here), a mailer that keeps what it was given, and the settings
//! of `config/default.toml`. No server, no database; time moves by hand.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::account::member::Member;
use crate::account::session::Session;
use crate::admin::member_registry::NewMember;
use crate::audit::Actor;
use crate::error::{CoreError, OAuthErrorCode};
use crate::mail_queue::{MailQueue, RetryPolicy};
use crate::oauth::authorize::{AuthorizeError, AuthorizeOutcome};
use crate::oauth::client::Client;
use crate::oauth::client::NewClient;
use crate::oauth::params::Params;
use crate::oauth::signing_key::SigningAlg;
use crate::oauth::token_minting::TokenResponse;
use crate::ports::clock::ManualClock;
use crate::ports::kv::Kv;
use crate::ports::mailer::{MailError, MailMessage, Mailer};
use crate::ports::memory_kv::MemoryStore;
use crate::ports::signer::{Claims, TokenSigner};
use crate::provider::Provider;
use crate::settings::ProviderSettings;
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const ISSUER: &str = "https://id.hk.test";

/// The settings of `config/default.toml`, for `ISSUER`.
pub fn default_settings() -> ProviderSettings {
    let table: toml::Table = include_str!("../../../config/default.toml").parse().unwrap();
    let section = |name: &str| table[name].clone();
    ProviderSettings {
        issuer: ISSUER.into(),
        tokens: section("tokens").try_into().unwrap(),
        session: section("session").try_into().unwrap(),
        passwords: section("passwords").try_into().unwrap(),
        otp: section("otp").try_into().unwrap(),
        login: section("login").try_into().unwrap(),
    }
}

mod memory_db;
pub use memory_db::MemoryDb;

/// JWTs whose signature is the word `unsigned`: claims in, the same claims out.
pub struct PlainSigner;

impl TokenSigner for PlainSigner {
    fn sign(&self, alg: SigningAlg, typ: &str, claims: &Claims) -> Result<String, CoreError> {
        let header = serde_json::json!({"alg": alg.as_str(), "typ": typ});
        let part = |v: &serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
        Ok(format!(
            "{}.{}.unsigned",
            part(&header),
            part(&serde_json::Value::Object(claims.clone()))
        ))
    }
    fn verify(&self, jwt: &str) -> Result<(Claims, Option<String>), CoreError> {
        let bad = || CoreError::Signing("not a token of this signer".into());
        let mut parts = jwt.split('.');
        let (Some(h), Some(c), Some("unsigned"), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let decode = |p: &str| -> Result<serde_json::Value, CoreError> {
            let bytes = URL_SAFE_NO_PAD.decode(p).map_err(|_| bad())?;
            serde_json::from_slice(&bytes).map_err(|_| bad())
        };
        let typ = decode(h)?.get("typ").and_then(|t| t.as_str()).map(str::to_owned);
        match decode(c)? {
            serde_json::Value::Object(claims) => Ok((claims, typ)),
            _ => Err(bad()),
        }
    }
    fn jwks(&self) -> Arc<[u8]> {
        Arc::from(&b"{\"keys\":[]}"[..])
    }
}

/// Keeps every mail it is given.
#[derive(Default)]
pub struct KeptMail(pub Mutex<Vec<MailMessage>>);

#[async_trait]
impl Mailer for KeptMail {
    async fn send(&self, mail: &MailMessage) -> Result<(), MailError> {
        self.0.lock().unwrap().push(mail.clone());
        Ok(())
    }
}

/// A provider on in-memory stores and a manual clock, with the handles a test reaches for.
pub struct TestProvider {
    pub provider: Provider,
    pub clock: ManualClock,
    pub db: Arc<MemoryDb>,
    /// The short-lived store, to look at what it holds.
    pub kv: Arc<MemoryStore>,
    pub mail: Arc<KeptMail>,
}

/// Where the manual clock starts: 2026-12-01T00:00:00Z.
pub const START: i64 = 1_796_083_200;

impl Default for TestProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl TestProvider {
    pub fn new() -> Self {
        Self::with(|_| {})
    }

    /// With the default settings changed by `tweak`.
    pub fn with(tweak: impl FnOnce(&mut ProviderSettings)) -> Self {
        let mut settings = default_settings();
        tweak(&mut settings);
        let clock = ManualClock::new(START);
        let db = Arc::new(MemoryDb::default());
        let mail = Arc::new(KeptMail::default());
        let kv = Arc::new(MemoryStore::new(Arc::new(clock.clone())));
        let passwords = crate::account::password_hashing::PasswordHasher::new(settings.passwords.argon2()).unwrap();
        let provider = Provider {
            settings: Arc::new(settings),
            members: db.clone(),
            clients: db.clone(),
            consents: db.clone(),
            keys: db.clone(),
            refresh: db.clone(),
            audit: db.clone(),
            kv: Kv(kv.clone()),
            signer: Arc::new(PlainSigner),
            passwords,
            clock: Arc::new(clock.clone()),
            mail: MailQueue::new(
                db.clone(),
                Arc::new(crate::ports::sealing::InTheClear),
                mail.clone(),
                RetryPolicy::default(),
                Arc::new(clock.clone()),
            ),
            pepper: Arc::from(&b"pepper for tests"[..]),
            telemetry: Arc::new(crate::ports::telemetry::NoTelemetry),
        };
        provider.mail.spawn_worker();
        Self {
            provider,
            clock,
            db,
            kv,
            mail,
        }
    }

    /// The mails sent so far (delivery runs in the background after a short wait).
    pub async fn mails(&self, at_least: usize) -> Vec<MailMessage> {
        for _ in 0..200 {
            let sent = self.mail.0.lock().unwrap().clone();
            if sent.len() >= at_least {
                return sent;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("fewer than {at_least} mails were sent");
    }
}

pub const PASSWORD: &str = "riktig hest batteri stift 2026";
pub const REDIRECT: &str = "https://rp.example/cb";
/// RFC 7636 Appendix B.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// Request parameters from pairs.
pub fn params(pairs: &[(&str, &str)]) -> Params {
    Params::new(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
}

/// A query parameter of a redirect URL.
pub fn query(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

impl TestProvider {
    /// An active member with `PASSWORD`.
    pub async fn member(&self, email: &str) -> Member {
        let new = NewMember {
            email: email.into(),
            name: Some("Kari Nordmann".into()),
            password: Some(PASSWORD.into()),
            ..Default::default()
        };
        self.create_member(new, 15, &Actor::cli()).await.unwrap()
    }

    /// A registered member who has not activated the account.
    pub async fn pending_member(&self, email: &str) -> Member {
        let new = NewMember {
            email: email.into(),
            ..Default::default()
        };
        self.create_member(new, 15, &Actor::cli()).await.unwrap()
    }

    /// A confidential first-party client (code + refresh) redirecting to `REDIRECT`,
    /// changed by `tweak`.
    pub async fn client(&self, tweak: impl FnOnce(&mut NewClient)) -> Client {
        let mut new = NewClient {
            name: "Bedriftsportalen".into(),
            redirect_uris: vec![REDIRECT.into()],
            first_party: true,
            ..Default::default()
        };
        tweak(&mut new);
        self.create_client(new, &Actor::cli()).await.unwrap().client
    }

    /// A fresh SSO session of `member`.
    pub async fn session(&self, member: &Member) -> Session {
        self.start_session(&member.id, None).await.unwrap().1
    }

    /// An authorization request for `client` with PKCE, `extra` added.
    pub fn auth_params(&self, client: &Client, extra: &[(&str, &str)]) -> Params {
        let mut pairs = vec![
            ("response_type", "code"),
            ("client_id", client.id.as_str()),
            ("redirect_uri", REDIRECT),
            ("scope", "openid email"),
            ("state", "st"),
            ("nonce", "n"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ];
        pairs.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
        pairs.extend_from_slice(extra);
        params(&pairs)
    }

    /// Where an authorization request redirects at once (a code or an error).
    pub async fn redirect(&self, client: &Client, session: Option<&Session>, extra: &[(&str, &str)]) -> String {
        match self
            .authorize(&self.auth_params(client, extra), session.cloned(), None)
            .await
        {
            Ok(AuthorizeOutcome::Redirect(url)) => url,
            Ok(other) => panic!("expected a redirect, got {other:?}"),
            Err(AuthorizeError::Page(e)) => panic!("expected a redirect, got the error page {e}"),
            Err(AuthorizeError::TooManyWaiting) => panic!("expected a redirect, got too many waiting"),
            Err(AuthorizeError::Core(e)) => panic!("{e}"),
        }
    }

    /// An authorization code for `client` on `session`.
    pub async fn code(&self, client: &Client, session: &Session) -> String {
        let url = self.redirect(client, Some(session), &[]).await;
        query(&url, "code").unwrap_or_else(|| panic!("no code in {url}"))
    }

    /// Redeems `code` at the token endpoint.
    pub async fn redeem(&self, client: &Client, code: &str) -> Result<TokenResponse, CoreError> {
        let p = params(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ]);
        self.token(client, &p).await
    }

    /// Uses a refresh token.
    pub async fn refresh(&self, client: &Client, token: &str) -> Result<TokenResponse, CoreError> {
        self.token(
            client,
            &params(&[("grant_type", "refresh_token"), ("refresh_token", token)]),
        )
        .await
    }
}

/// The OAuth error code of a failed call.
pub fn oauth_code<T: std::fmt::Debug>(r: Result<T, CoreError>) -> OAuthErrorCode {
    match r {
        Err(CoreError::OAuth(e)) => e.code,
        other => panic!("expected an OAuth error, got {other:?}"),
    }
}

impl std::ops::Deref for TestProvider {
    type Target = Provider;
    fn deref(&self) -> &Provider {
        &self.provider
    }
}
