//! Relying parties (clients) and their registered metadata.

use crate::error::{OAuthError, OAuthErrorCode};
use crate::oauth::scope::Scope;
use crate::oauth::signing_key::SigningAlg;
use serde::{Deserialize, Serialize};

/// `token_endpoint_auth_method` values we support (RFC 7591 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    None,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::None => "none",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "client_secret_basic" => Some(Self::ClientSecretBasic),
            "client_secret_post" => Some(Self::ClientSecretPost),
            "none" => Some(Self::None),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

impl GrantType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "authorization_code" => Some(Self::AuthorizationCode),
            "refresh_token" => Some(Self::RefreshToken),
            "client_credentials" => Some(Self::ClientCredentials),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub id: String,
    /// SHA-256 of the secret; `None` for public clients.
    pub secret_hash: Option<String>,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub auth_method: AuthMethod,
    pub id_token_alg: SigningAlg,
    pub initiate_login_uri: Option<String>,
    /// First-party clients skip the consent page.
    pub first_party: bool,
    pub about: ClientAbout,
    /// SHA-256 of the RFC 7592 registration access token.
    pub registration_token_hash: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Descriptive metadata (RFC 7591 §2) and the scope the client may ask for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientAbout {
    pub client_uri: Option<String>,
    pub logo_uri: Option<String>,
    pub contacts: Vec<String>,
    /// Space-separated scopes the client may be granted; `None` = all we support.
    pub scope: Option<String>,
}

impl Client {
    pub fn is_public(&self) -> bool {
        self.auth_method == AuthMethod::None
    }

    pub fn allows_grant(&self, g: GrantType) -> bool {
        self.grant_types.contains(&g)
    }

    /// RFC 6749 §3.1.2.3 / OIDC Core §3.1.2.1: simple string comparison, no normalisation.
    pub fn has_redirect_uri(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|r| r == uri)
    }

    pub fn has_post_logout_redirect_uri(&self, uri: &str) -> bool {
        self.post_logout_redirect_uris.iter().any(|r| r == uri)
    }

    /// Scopes a client may be granted in the code flow.
    pub fn allowed_scope(&self) -> Scope {
        let all = crate::oauth::scope::SUPPORTED.join(" ");
        Scope::parse(self.about.scope.as_deref().unwrap_or(&all)).unwrap_or_default()
    }
}

/// What registering a client asks for (`client create`, RFC 7591); `check`
/// holds the rules both share.
#[derive(Debug, Clone)]
pub struct NewClient {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub auth_method: AuthMethod,
    pub id_token_alg: SigningAlg,
    pub initiate_login_uri: Option<String>,
    pub first_party: bool,
    pub about: ClientAbout,
}

impl Default for NewClient {
    fn default() -> Self {
        Self {
            name: String::new(),
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            auth_method: AuthMethod::ClientSecretBasic,
            id_token_alg: SigningAlg::RS256,
            initiate_login_uri: None,
            first_party: false,
            about: ClientAbout::default(),
        }
    }
}

pub(crate) fn metadata_error(msg: impl Into<String>) -> OAuthError {
    OAuthError::new(OAuthErrorCode::InvalidClientMetadata, msg)
}

impl NewClient {
    /// RFC 7591 §2 and our rules; errors name the field (§3.2.2).
    pub fn check(&self) -> Result<(), OAuthError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
            return Err(metadata_error(
                "client_name: 1 to 200 characters, no control characters",
            ));
        }
        let has_code = self.grant_types.contains(&GrantType::AuthorizationCode);
        if has_code && self.redirect_uris.is_empty() {
            return Err(OAuthError::new(
                OAuthErrorCode::InvalidRedirectUri,
                "redirect_uris: at least one is required",
            ));
        }
        if !has_code && self.grant_types.contains(&GrantType::RefreshToken) {
            return Err(metadata_error(
                "grant_types: refresh_token needs authorization_code (client_credentials gets no refresh token)",
            ));
        }
        if self.grant_types.is_empty() {
            return Err(metadata_error("grant_types: at least one is required"));
        }
        if self.auth_method == AuthMethod::None && self.grant_types.contains(&GrantType::ClientCredentials) {
            return Err(metadata_error(
                "grant_types: a public client (none) cannot use client_credentials",
            ));
        }
        for uri in &self.redirect_uris {
            validate_redirect_uri(uri)
                .map_err(|e| OAuthError::new(OAuthErrorCode::InvalidRedirectUri, format!("redirect_uris: {e}")))?;
        }
        let uris = [
            ("initiate_login_uri", &self.initiate_login_uri),
            ("client_uri", &self.about.client_uri),
            ("logo_uri", &self.about.logo_uri),
        ];
        for uri in &self.post_logout_redirect_uris {
            validate_redirect_uri(uri).map_err(|e| metadata_error(format!("post_logout_redirect_uris: {e}")))?;
        }
        for (field, uri) in uris {
            if let Some(u) = uri {
                validate_redirect_uri(u).map_err(|e| metadata_error(format!("{field}: {e}")))?;
            }
        }
        if self.about.contacts.len() > 20 {
            return Err(metadata_error("contacts: at most 20"));
        }
        for c in &self.about.contacts {
            crate::account::email::Email::parse(c).map_err(|e| metadata_error(format!("contacts: {c}: {e}")))?;
        }
        if let Some(scope) = &self.about.scope {
            for s in scope.split(' ') {
                if !crate::oauth::scope::SUPPORTED.contains(&s) {
                    return Err(metadata_error(format!("scope: {s:?} is not supported")));
                }
            }
            if has_code && !scope.split(' ').any(|s| s == "openid") {
                return Err(metadata_error("scope: a client that logs members in needs openid"));
            }
        }
        Ok(())
    }
}

/// A URI a client may register for redirects: absolute, no fragment, https
/// unless it points at the loopback interface (RFC 8252 §7.3).
pub fn validate_redirect_uri(raw: &str) -> Result<(), String> {
    let url = url::Url::parse(raw).map_err(|_| format!("{raw} is not an absolute URI"))?;
    if url.fragment().is_some() {
        return Err(format!("{raw} must not have a fragment"));
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" => {
            let loopback = match url.host() {
                Some(url::Host::Domain(d)) => d == "localhost",
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                None => false,
            };
            if loopback {
                Ok(())
            } else {
                Err(format!("{raw} must use https"))
            }
        }
        _ => Err(format!("{raw} must use https")),
    }
}

#[cfg(test)]
mod tests {
    use super::validate_redirect_uri;

    #[test]
    fn redirect_uris_must_be_https_or_loopback() {
        assert!(validate_redirect_uri("https://portal.hk.no/cb").is_ok());
        assert!(validate_redirect_uri("http://127.0.0.1:9000/cb").is_ok());
        assert!(validate_redirect_uri("http://localhost/cb").is_ok());
        assert!(validate_redirect_uri("http://portal.hk.no/cb").is_err());
        assert!(validate_redirect_uri("https://portal.hk.no/cb#x").is_err());
        assert!(validate_redirect_uri("/cb").is_err());
    }
}
