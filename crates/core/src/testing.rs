//! What the domain's unit tests run on: the in-process short-lived store and
//! in-memory durable stores on a `ManualClock`, a signer that signs nothing
//! (JWTs with an unchecked signature: the rules, not the cryptography, are
//! under test here), a mailer that keeps what it was given, and the settings
//! of `config/default.toml`. No server, no database; time moves by hand.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::account::member::{Member, MemberStatus, MemberWrite};
use crate::account::session::Session;
use crate::admin::member_registry::NewMember;
use crate::audit::{Actor, AuditEvent, AuditQuery};
use crate::error::{CoreError, OAuthErrorCode, StoreError};
use crate::mail_queue::{MailQueue, RetryPolicy};
use crate::oauth::authorize::{AuthorizeError, AuthorizeOutcome};
use crate::oauth::client::Client;
use crate::oauth::client::NewClient;
use crate::oauth::params::Params;
use crate::oauth::refresh_token::{RefreshFamily, RefreshToken, Rotation};
use crate::oauth::signing_key::{SigningAlg, StoredKey};
use crate::oauth::token_minting::TokenResponse;
use crate::ports::clock::ManualClock;
use crate::ports::kv::Kv;
use crate::ports::mailer::{MailError, MailMessage, Mailer};
use crate::ports::memory_kv::MemoryStore;
use crate::ports::signer::{Claims, TokenSigner};
use crate::ports::store::{AuditStore, ClientStore, ConsentStore, KeyStore, MemberStore, RefreshStore};
use crate::provider::Provider;
use crate::settings::ProviderSettings;
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::collections::HashMap;
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

/// Every durable store in memory.
#[derive(Default)]
pub struct MemoryDb {
    pub members: Mutex<HashMap<String, Member>>,
    pub clients: Mutex<HashMap<String, Client>>,
    consents: Mutex<HashMap<(String, String), String>>,
    keys: Mutex<Vec<StoredKey>>,
    secrets: Mutex<HashMap<String, String>>,
    families: Mutex<HashMap<String, RefreshFamily>>,
    tokens: Mutex<HashMap<String, RefreshToken>>,
    pub events: Mutex<Vec<AuditEvent>>,
    /// How often `find_client` was asked (to see a cache at work).
    pub client_reads: std::sync::atomic::AtomicUsize,
    /// While set, every refresh-token write fails as a lost database would.
    pub refresh_writes_fail: std::sync::atomic::AtomicBool,
}

impl MemoryDb {
    fn refresh_write(&self) -> Result<(), StoreError> {
        if self.refresh_writes_fail.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::Backend("the database is gone".into()));
        }
        Ok(())
    }

    /// The kinds of the audit events recorded so far, in order.
    pub fn event_kinds(&self) -> Vec<String> {
        self.events.lock().unwrap().iter().map(|e| e.kind.clone()).collect()
    }
}

#[async_trait]
impl MemberStore for MemoryDb {
    async fn insert_member(&self, m: &Member) -> Result<(), StoreError> {
        let mut all = self.members.lock().unwrap();
        if all.values().any(|o| o.email == m.email) {
            return Err(StoreError::Conflict);
        }
        all.insert(m.id.clone(), m.clone());
        Ok(())
    }
    async fn find_member(&self, id: &str) -> Result<Option<Member>, StoreError> {
        Ok(self.members.lock().unwrap().get(id).cloned())
    }
    async fn find_member_by_email(&self, email: &str) -> Result<Option<Member>, StoreError> {
        Ok(self
            .members
            .lock()
            .unwrap()
            .values()
            .find(|m| m.email.as_str() == email)
            .cloned())
    }
    async fn write_member(&self, id: &str, write: &MemberWrite, now: i64) -> Result<bool, StoreError> {
        let mut all = self.members.lock().unwrap();
        let Some(m) = all.get_mut(id) else {
            return Ok(false);
        };
        match write {
            MemberWrite::NewPassword { hash, from } if from.contains(&m.status) => {
                m.password_hash = Some(hash.clone());
                m.status = MemberStatus::Active;
                m.failed_logins = 0;
            }
            MemberWrite::Rehash { old, new } if m.password_hash.as_ref() == Some(old) => {
                m.password_hash = Some(new.clone());
            }
            MemberWrite::Profile {
                name,
                org_number,
                org_name,
            } => {
                for (field, value) in [
                    (&mut m.name, name),
                    (&mut m.org_number, org_number),
                    (&mut m.org_name, org_name),
                ] {
                    if let Some(v) = value {
                        field.clone_from(v);
                    }
                }
            }
            MemberWrite::Disable if m.status != MemberStatus::Disabled => m.status = MemberStatus::Disabled,
            MemberWrite::Enable if m.status == MemberStatus::Disabled => {
                m.status = if m.password_hash.is_some() {
                    MemberStatus::Active
                } else {
                    MemberStatus::Pending
                };
            }
            _ => return Ok(false),
        }
        m.updated_at = now;
        Ok(true)
    }
    async fn increment_failed_logins(&self, id: &str) -> Result<i32, StoreError> {
        let mut all = self.members.lock().unwrap();
        let m = all.get_mut(id).ok_or(StoreError::NotFound)?;
        m.failed_logins += 1;
        Ok(m.failed_logins)
    }
    async fn reset_failed_logins(&self, id: &str) -> Result<(), StoreError> {
        if let Some(m) = self.members.lock().unwrap().get_mut(id) {
            m.failed_logins = 0;
        }
        Ok(())
    }
    async fn delete_member(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.members.lock().unwrap().remove(id).is_some())
    }
    async fn import_members(&self, candidates: &[Member], events: &[AuditEvent]) -> Result<Vec<bool>, StoreError> {
        let mut created = Vec::new();
        for m in candidates {
            created.push(self.insert_member(m).await.is_ok());
        }
        self.events.lock().unwrap().extend(events.iter().cloned());
        Ok(created)
    }
    async fn mark_invited(&self, id: &str, at: i64) -> Result<(), StoreError> {
        if let Some(m) = self.members.lock().unwrap().get_mut(id) {
            m.invited_at = Some(at);
        }
        Ok(())
    }
    async fn list_members_to_invite(
        &self,
        after: Option<&str>,
        limit: u64,
        invited_before: Option<i64>,
    ) -> Result<Vec<Member>, StoreError> {
        let mut due: Vec<Member> = self
            .members
            .lock()
            .unwrap()
            .values()
            .filter(|m| m.status == MemberStatus::Pending)
            .filter(|m| match (m.invited_at, invited_before) {
                (None, _) => true,
                (Some(at), Some(before)) => at < before,
                (Some(_), None) => false,
            })
            .filter(|m| after.is_none_or(|a| m.id.as_str() > a))
            .cloned()
            .collect();
        due.sort_by(|a, b| a.id.cmp(&b.id));
        due.truncate(limit as usize);
        Ok(due)
    }
    async fn count_members_to_invite(&self, invited_before: Option<i64>) -> Result<u64, StoreError> {
        Ok(self.list_members_to_invite(None, u64::MAX, invited_before).await?.len() as u64)
    }
}

#[async_trait]
impl ClientStore for MemoryDb {
    async fn insert_client(&self, c: &Client) -> Result<(), StoreError> {
        self.clients.lock().unwrap().insert(c.id.clone(), c.clone());
        Ok(())
    }
    async fn find_client(&self, id: &str) -> Result<Option<Client>, StoreError> {
        self.client_reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(self.clients.lock().unwrap().get(id).cloned())
    }
    async fn find_portal_client(&self) -> Result<Option<Client>, StoreError> {
        let all = self.clients.lock().unwrap();
        let mut portals: Vec<&Client> = all
            .values()
            .filter(|c| c.first_party && c.initiate_login_uri.is_some())
            .collect();
        portals.sort_by_key(|c| c.created_at);
        Ok(portals.first().map(|c| (*c).clone()))
    }
    async fn delete_client(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.clients.lock().unwrap().remove(id).is_some())
    }
    async fn update_client(&self, c: &Client) -> Result<(), StoreError> {
        self.insert_client(c).await
    }
    async fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
        Ok(self.clients.lock().unwrap().values().cloned().collect())
    }
}

#[async_trait]
impl ConsentStore for MemoryDb {
    async fn find_consent(&self, member_id: &str, client_id: &str) -> Result<Option<String>, StoreError> {
        let key = (member_id.to_owned(), client_id.to_owned());
        Ok(self.consents.lock().unwrap().get(&key).cloned())
    }
    async fn save_consent(&self, member_id: &str, client_id: &str, scope: &str, _at: i64) -> Result<(), StoreError> {
        let key = (member_id.to_owned(), client_id.to_owned());
        self.consents.lock().unwrap().insert(key, scope.to_owned());
        Ok(())
    }
}

#[async_trait]
impl KeyStore for MemoryDb {
    async fn insert_key(&self, key: &StoredKey) -> Result<(), StoreError> {
        self.keys.lock().unwrap().push(key.clone());
        Ok(())
    }
    async fn list_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        Ok(self.keys.lock().unwrap().clone())
    }
    async fn retire_active_keys(&self, at: i64) -> Result<u64, StoreError> {
        let mut n = 0;
        for k in self
            .keys
            .lock()
            .unwrap()
            .iter_mut()
            .filter(|k| k.retire_after.is_none())
        {
            k.retire_after = Some(at);
            n += 1;
        }
        Ok(n)
    }
    async fn delete_keys_retired_before(&self, at: i64) -> Result<u64, StoreError> {
        let mut keys = self.keys.lock().unwrap();
        let before = keys.len();
        keys.retain(|k| k.retire_after.is_none_or(|r| r >= at));
        Ok((before - keys.len()) as u64)
    }
    async fn get_or_create_secret(&self, name: &str, value: &str) -> Result<String, StoreError> {
        let mut s = self.secrets.lock().unwrap();
        Ok(s.entry(name.to_owned()).or_insert_with(|| value.to_owned()).clone())
    }
}

#[async_trait]
impl RefreshStore for MemoryDb {
    async fn insert_family(&self, f: &RefreshFamily, first: &RefreshToken) -> Result<(), StoreError> {
        self.refresh_write()?;
        self.families.lock().unwrap().insert(f.id.clone(), f.clone());
        self.tokens.lock().unwrap().insert(first.hash.clone(), first.clone());
        Ok(())
    }
    async fn find_family(&self, id: &str) -> Result<Option<RefreshFamily>, StoreError> {
        Ok(self.families.lock().unwrap().get(id).cloned())
    }
    async fn revoke_family(&self, id: &str) -> Result<bool, StoreError> {
        let mut all = self.families.lock().unwrap();
        Ok(match all.get_mut(id) {
            Some(f) if !f.revoked => {
                f.revoked = true;
                true
            }
            _ => false,
        })
    }
    async fn revoke_families_of_member(&self, member_id: &str) -> Result<Vec<String>, StoreError> {
        Ok(self.revoke_where(|f| f.member_id == member_id))
    }
    async fn revoke_families_of_client(&self, client_id: &str) -> Result<Vec<String>, StoreError> {
        Ok(self.revoke_where(|f| f.client_id == client_id))
    }
    async fn revoke_online_families_of_session(&self, sid: &str) -> Result<Vec<String>, StoreError> {
        Ok(self.revoke_where(|f| f.sid == sid && !f.offline))
    }
    async fn find_token(&self, hash: &str) -> Result<Option<RefreshToken>, StoreError> {
        Ok(self.tokens.lock().unwrap().get(hash).cloned())
    }
    async fn rotate_token(&self, old: &str, next: &RefreshToken, grace_since: i64) -> Result<Rotation, StoreError> {
        self.refresh_write()?;
        let mut all = self.tokens.lock().unwrap();
        match all.get_mut(old) {
            Some(t) if !t.spent => t.spent = true,
            Some(_) => {
                let retry = all
                    .get(&next.hash)
                    .is_some_and(|n| !n.spent && n.created_at >= grace_since);
                return Ok(if retry { Rotation::Repeated } else { Rotation::Reused });
            }
            None => return Ok(Rotation::Reused),
        }
        all.insert(next.hash.clone(), next.clone());
        Ok(Rotation::Rotated)
    }
    async fn delete_expired(&self, now: i64) -> Result<u64, StoreError> {
        let mut all = self.tokens.lock().unwrap();
        let before = all.len();
        all.retain(|_, t| t.expires_at > now);
        Ok((before - all.len()) as u64)
    }
}

impl MemoryDb {
    fn revoke_where(&self, pick: impl Fn(&RefreshFamily) -> bool) -> Vec<String> {
        let mut ids = Vec::new();
        for f in self.families.lock().unwrap().values_mut() {
            if pick(f) && !f.revoked {
                f.revoked = true;
                ids.push(f.id.clone());
            }
        }
        ids
    }
}

#[async_trait]
impl AuditStore for MemoryDb {
    async fn insert_event(&self, event: &AuditEvent) -> Result<(), StoreError> {
        self.events.lock().unwrap().push(event.clone());
        Ok(())
    }
    async fn list_events(&self, q: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError> {
        let mut found: Vec<AuditEvent> = self
            .events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| q.member_id.as_ref().is_none_or(|m| e.member_id.as_ref() == Some(m)))
            .cloned()
            .collect();
        found.reverse();
        found.truncate(q.limit as usize);
        Ok(found)
    }
}

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
    pub mail: Arc<KeptMail>,
}

/// Where the manual clock starts: 2026-12-01T00:00:00Z.
pub const START: i64 = 1_796_083_200;

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
        let passwords = crate::account::password_hashing::PasswordHasher::new(settings.passwords.argon2()).unwrap();
        let provider = Provider {
            settings: Arc::new(settings),
            members: db.clone(),
            clients: db.clone(),
            consents: db.clone(),
            keys: db.clone(),
            refresh: db.clone(),
            audit: db.clone(),
            kv: Kv(Arc::new(MemoryStore::new(Arc::new(clock.clone())))),
            signer: Arc::new(PlainSigner),
            passwords,
            clock: Arc::new(clock.clone()),
            mail: MailQueue::start(mail.clone(), RetryPolicy::default()),
            pepper: Arc::from(&b"pepper for tests"[..]),
        };
        Self {
            provider,
            clock,
            db,
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
        match self.authorize(&self.auth_params(client, extra), session.cloned()).await {
            Ok(AuthorizeOutcome::Redirect(url)) => url,
            Ok(other) => panic!("expected a redirect, got {other:?}"),
            Err(AuthorizeError::Page(e)) => panic!("expected a redirect, got the error page {e}"),
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
