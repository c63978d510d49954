//! Dynamic client registration (RFC 7591) and its management protocol
//! (RFC 7592): metadata in, a checked `NewClient` out, errors as RFC 7591
//! §3.2.2 names them; read, replace and delete with the registration access
//! token, which is kept only as a hash.

use crate::audit::{Actor, AuditEvent};
use crate::error::{CoreError, OAuthError};
use crate::oauth::client::{AuthMethod, Client, ClientAbout, GrantType, NewClient, metadata_error};
use crate::oauth::signing_key::SigningAlg;
use crate::provider::Provider;
use crate::secret::{hash_token, random_token, verify_token_hash};
use serde::Deserialize;
use serde_json::{Value, json};

/// Client metadata (RFC 7591 §2, OIDC Registration §2). Unknown members are ignored (§2).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ClientMetadata {
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Option<Vec<String>>,
    pub response_types: Option<Vec<String>>,
    pub token_endpoint_auth_method: Option<String>,
    pub id_token_signed_response_alg: Option<String>,
    pub client_name: Option<String>,
    pub client_uri: Option<String>,
    pub logo_uri: Option<String>,
    #[serde(default)]
    pub contacts: Vec<String>,
    pub initiate_login_uri: Option<String>,
    pub scope: Option<String>,
    /// HK ID's own: first-party clients skip the consent page.
    pub first_party: Option<bool>,
    /// RFC 7592 §2.2 update only: must equal the client's id.
    pub client_id: Option<String>,
    /// RFC 7592 §2.2 update only: if sent, must be the current secret.
    pub client_secret: Option<String>,
    /// HK ID's own, update only: issue a new client secret.
    #[serde(default)]
    pub rotate_secret: bool,
}

/// What a registration request or response carries besides the client.
pub struct Issued {
    pub client: Client,
    /// The client secret, when one was just issued.
    pub secret: Option<String>,
    /// The registration access token as the caller holds it.
    pub registration_token: String,
}

/// The registered client as RFC 7591 §3.2.1 / RFC 7592 §3 return it.
pub fn client_information(issuer: &str, issued: &Issued) -> Value {
    let client = &issued.client;
    let mut v = json!({
        "client_id": client.id,
        "client_id_issued_at": client.created_at,
        "client_name": client.name,
        "redirect_uris": client.redirect_uris,
        "post_logout_redirect_uris": client.post_logout_redirect_uris,
        "grant_types": client.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        "response_types": if client.allows_grant(GrantType::AuthorizationCode) { vec!["code"] } else { vec![] },
        "token_endpoint_auth_method": client.auth_method.as_str(),
        "id_token_signed_response_alg": client.id_token_alg.as_str(),
        "contacts": client.about.contacts,
        "scope": client.about.scope.clone().unwrap_or_else(|| crate::oauth::scope::SUPPORTED.join(" ")),
        "first_party": client.first_party,
        "registration_access_token": issued.registration_token,
        "registration_client_uri": registration_client_uri(issuer, &client.id),
    });
    for (k, val) in [
        ("initiate_login_uri", &client.initiate_login_uri),
        ("client_uri", &client.about.client_uri),
        ("logo_uri", &client.about.logo_uri),
    ] {
        if let Some(u) = val {
            v[k] = json!(u);
        }
    }
    if client.secret_hash.is_some() {
        // §3.2.1: 0 means the secret does not expire.
        v["client_secret_expires_at"] = json!(0);
    }
    if let Some(s) = &issued.secret {
        v["client_secret"] = json!(s);
    }
    v
}

pub fn registration_client_uri(issuer: &str, client_id: &str) -> String {
    format!("{issuer}{}/{client_id}", crate::oauth::discovery::paths::REGISTER)
}

impl ClientMetadata {
    /// Applies the RFC's defaults; `NewClient::check` applies the rules.
    pub fn into_new_client(self) -> Result<NewClient, OAuthError> {
        let grants: Vec<String> = self.grant_types.unwrap_or_else(|| vec!["authorization_code".into()]);
        let responses: Vec<String> = self.response_types.unwrap_or_else(|| vec!["code".into()]);
        let mut grant_types = Vec::new();
        for g in &grants {
            let parsed =
                GrantType::parse(g).ok_or_else(|| metadata_error(format!("grant_types: {g} is not supported")))?;
            if !grant_types.contains(&parsed) {
                grant_types.push(parsed);
            }
        }
        for r in &responses {
            if r != "code" {
                return Err(metadata_error(format!(
                    "response_types: {r} is not supported; only code"
                )));
            }
        }
        // §2.1: response_type code goes with grant type authorization_code, both ways.
        let has_code = grant_types.contains(&GrantType::AuthorizationCode);
        if has_code != responses.iter().any(|r| r == "code") {
            return Err(metadata_error(
                "grant_types and response_types are inconsistent: code needs authorization_code",
            ));
        }
        let auth_method = match self.token_endpoint_auth_method.as_deref() {
            None => AuthMethod::ClientSecretBasic,
            Some(m) => AuthMethod::parse(m)
                .ok_or_else(|| metadata_error(format!("token_endpoint_auth_method: {m} is not supported")))?,
        };
        let id_token_alg = match self.id_token_signed_response_alg.as_deref() {
            None => SigningAlg::RS256,
            Some(a) => SigningAlg::parse(a)
                .ok_or_else(|| metadata_error(format!("id_token_signed_response_alg: {a} is not supported")))?,
        };
        let name = self.client_name.unwrap_or_default();
        let scope = self.scope.map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "));
        let new = NewClient {
            name: if name.trim().is_empty() {
                "Unnamed client".to_owned()
            } else {
                name
            },
            redirect_uris: self.redirect_uris,
            post_logout_redirect_uris: self.post_logout_redirect_uris,
            grant_types,
            auth_method,
            id_token_alg,
            initiate_login_uri: self.initiate_login_uri,
            first_party: self.first_party.unwrap_or(false),
            about: ClientAbout {
                client_uri: self.client_uri,
                logo_uri: self.logo_uri,
                contacts: self.contacts,
                scope: scope.filter(|s| !s.is_empty()),
            },
        };
        new.check()?;
        Ok(new)
    }
}

/// RFC 7592 §2: a missing client and a wrong token answer alike.
fn not_authorized() -> CoreError {
    OAuthError::invalid_token("the registration access token is not valid for this client").into()
}

impl Provider {
    /// RFC 7592 §2: the client, if `token` is its registration access token.
    pub async fn registered_client(&self, client_id: &str, token: &str) -> Result<Client, CoreError> {
        let client = self.clients.find_client(client_id).await?;
        match client {
            Some(c)
                if c.registration_token_hash
                    .as_deref()
                    .is_some_and(|h| verify_token_hash(token, h)) =>
            {
                Ok(c)
            }
            _ => {
                tracing::warn!(client_id, "registration.token_rejected");
                Err(not_authorized())
            }
        }
    }

    /// RFC 7592 §2.2: replaces the metadata of `current` (found by
    /// `registered_client` with `token`) with `meta`; a new secret when asked
    /// for or when the method now needs one. A registration access token may
    /// be held by the client's own developers, so it can narrow what the
    /// admin allowed but not widen it: first-party, grant types, scopes and
    /// the login initiation URI (where invitations point) stay within theirs.
    pub async fn update_registration(
        &self,
        current: Client,
        token: &str,
        mut meta: ClientMetadata,
        ip: Option<String>,
    ) -> Result<Issued, CoreError> {
        let client_id = current.id.clone();
        if meta.client_id.as_deref() != Some(client_id.as_str()) {
            return Err(OAuthError::invalid_request("client_id: must be sent and equal this client's id").into());
        }
        if let Some(s) = &meta.client_secret
            && !current.secret_hash.as_deref().is_some_and(|h| verify_token_hash(s, h))
        {
            return Err(metadata_error("client_secret: does not match the current secret").into());
        }
        if meta.first_party.is_some_and(|f| f != current.first_party) {
            return Err(metadata_error("first_party: only an admin can change it").into());
        }
        if meta.initiate_login_uri != current.initiate_login_uri {
            return Err(metadata_error("initiate_login_uri: only an admin can change it").into());
        }
        // Left out: the scope stays as the admin set it.
        meta.scope = meta.scope.or_else(|| current.about.scope.clone());
        let rotate = meta.rotate_secret;
        let new = meta.into_new_client()?;
        if let Some(g) = new.grant_types.iter().find(|g| !current.allows_grant(**g)) {
            return Err(metadata_error(format!("grant_types: {} needs an admin", g.as_str())).into());
        }
        let wanted =
            crate::oauth::scope::Scope::parse(new.about.scope.as_deref().unwrap_or_default()).unwrap_or_default();
        if !wanted.is_subset(&current.allowed_scope()) {
            return Err(metadata_error("scope: wider than the client may have; that needs an admin").into());
        }
        let needs_secret = new.auth_method != AuthMethod::None;
        let secret = (needs_secret && (rotate || current.secret_hash.is_none())).then(|| random_token(32));
        let secret_hash = match (&secret, needs_secret) {
            (Some(s), _) => Some(hash_token(s)),
            (None, true) => current.secret_hash.clone(),
            (None, false) => None,
        };
        let mut client = self.client_from(new, current.id.clone(), current.created_at);
        client.secret_hash = secret_hash;
        client.first_party = current.first_party;
        client.registration_token_hash = current.registration_token_hash;
        self.clients.update_client(&client).await.map_err(|e| match e {
            // Deleted since `registered_client` found it.
            crate::error::StoreError::NotFound => not_authorized(),
            other => other.into(),
        })?;
        let kind = if secret.is_some() && current.secret_hash.is_some() {
            "client.secret_rotated"
        } else {
            "client.updated"
        };
        let actor = Actor::new(format!("client:{client_id}"), ip);
        self.record(AuditEvent::by(kind, &actor, self.clock.now()).client(&client_id))
            .await;
        Ok(Issued {
            client,
            secret,
            registration_token: token.to_owned(),
        })
    }

    /// RFC 7592 §2.3: deletes the client; its refresh and access tokens stop
    /// working at once and the registration access token with it.
    pub async fn delete_registration(&self, client_id: &str, token: &str, ip: Option<String>) -> Result<(), CoreError> {
        self.registered_client(client_id, token).await?;
        self.remove_client(client_id, &Actor::new(format!("client:{client_id}"), ip))
            .await
    }

    /// Removes a client and revokes every token issued to it.
    pub async fn remove_client(&self, client_id: &str, actor: &Actor) -> Result<(), CoreError> {
        if self.clients.find_client(client_id).await?.is_none() {
            return Err(CoreError::NotFound);
        }
        self.kv
            .mark(
                &crate::provider::client_revoked_key(client_id),
                self.settings.max_token_lifetime(),
            )
            .await?;
        for fam in self.refresh.revoke_families_of_client(client_id).await? {
            self.mark_family_revoked(&fam).await?;
        }
        if !self.clients.delete_client(client_id).await? {
            return Err(CoreError::NotFound);
        }
        self.record(AuditEvent::by("client.deleted", actor, self.clock.now()).client(client_id))
            .await;
        Ok(())
    }
}

impl Provider {
    /// Registers a client; returns it with its secret and registration
    /// access token (shown once; only their hashes are kept).
    pub async fn create_client(&self, new: NewClient, actor: &Actor) -> Result<Issued, CoreError> {
        new.check()?;
        let secret = (new.auth_method != AuthMethod::None).then(|| random_token(32));
        let registration_token = random_token(32);
        let mut client = self.client_from(new, random_token(16), self.clock.now());
        client.secret_hash = secret.as_deref().map(hash_token);
        client.registration_token_hash = Some(hash_token(&registration_token));
        self.clients.insert_client(&client).await?;
        self.record(AuditEvent::by("client.created", actor, self.clock.now()).client(&client.id))
            .await;
        Ok(Issued {
            client,
            secret,
            registration_token,
        })
    }

    /// A client from checked metadata, without secrets.
    pub(crate) fn client_from(&self, new: NewClient, id: String, created_at: i64) -> Client {
        Client {
            id,
            secret_hash: None,
            name: new.name.trim().to_owned(),
            redirect_uris: new.redirect_uris,
            post_logout_redirect_uris: new.post_logout_redirect_uris,
            grant_types: new.grant_types,
            auth_method: new.auth_method,
            id_token_alg: new.id_token_alg,
            initiate_login_uri: new.initiate_login_uri,
            first_party: new.first_party,
            about: new.about,
            registration_token_hash: None,
            created_at,
            updated_at: self.clock.now(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::OAuthErrorCode;

    fn meta(v: serde_json::Value) -> Result<NewClient, OAuthError> {
        serde_json::from_value::<ClientMetadata>(v).unwrap().into_new_client()
    }

    #[test]
    fn defaults_and_rules() {
        let c = meta(json!({"redirect_uris": ["https://a.example/cb"], "unknown": 1})).unwrap();
        assert_eq!(c.grant_types, vec![GrantType::AuthorizationCode]);
        assert_eq!(c.auth_method, AuthMethod::ClientSecretBasic);
        assert_eq!(c.id_token_alg, SigningAlg::RS256);
        let code = |v| meta(v).unwrap_err().code;
        assert_eq!(code(json!({})), OAuthErrorCode::InvalidRedirectUri);
        assert_eq!(
            code(json!({"redirect_uris": ["http://a.example/cb"]})),
            OAuthErrorCode::InvalidRedirectUri
        );
        assert_eq!(
            code(json!({"redirect_uris": ["https://a.example/cb#f"]})),
            OAuthErrorCode::InvalidRedirectUri
        );
        assert_eq!(
            code(json!({"redirect_uris": ["https://a.example/cb"], "response_types": ["token"]})),
            OAuthErrorCode::InvalidClientMetadata
        );
        assert_eq!(
            code(
                json!({"grant_types": ["client_credentials"], "response_types": [], "token_endpoint_auth_method": "none"})
            ),
            OAuthErrorCode::InvalidClientMetadata
        );
        assert_eq!(
            code(json!({"redirect_uris": ["https://a.example/cb"], "grant_types": ["refresh_token"]})),
            OAuthErrorCode::InvalidClientMetadata
        );
        assert_eq!(
            code(json!({"redirect_uris": ["https://a.example/cb"], "scope": "openid phone"})),
            OAuthErrorCode::InvalidClientMetadata
        );
        assert_eq!(
            code(json!({"redirect_uris": ["https://a.example/cb"], "contacts": ["not an address"]})),
            OAuthErrorCode::InvalidClientMetadata
        );
        let m2m = meta(json!({"grant_types": ["client_credentials"], "response_types": []})).unwrap();
        assert_eq!(m2m.grant_types, vec![GrantType::ClientCredentials]);
    }
}
