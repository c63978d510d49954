//! Relying parties (clients) and their registered metadata.

use crate::keys::SigningAlg;
use crate::scope::Scope;
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
    pub created_at: i64,
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
        Scope::parse(&crate::scope::SUPPORTED.join(" ")).unwrap_or_default()
    }
}

/// What `client create` asks for; validated into a `Client` by the provider.
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
