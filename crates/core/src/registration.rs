//! Dynamic client registration (RFC 7591): metadata in, a validated
//! `NewClient` out, errors as §3.2.2 names them.

use crate::client::{AuthMethod, GrantType, NewClient, validate_redirect_uri};
use crate::error::{OAuthError, OAuthErrorCode};
use crate::keys::SigningAlg;
use serde::Deserialize;

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
    pub initiate_login_uri: Option<String>,
    /// HK ID's own: first-party clients skip the consent page.
    #[serde(default)]
    pub first_party: bool,
}

/// The registered client as RFC 7591 §3.2.1 returns it; the secret only at creation.
pub fn client_information(client: &crate::client::Client, secret: Option<&str>) -> serde_json::Value {
    let mut v = serde_json::json!({
        "client_id": client.id,
        "client_id_issued_at": client.created_at,
        "client_name": client.name,
        "redirect_uris": client.redirect_uris,
        "post_logout_redirect_uris": client.post_logout_redirect_uris,
        "grant_types": client.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        "response_types": if client.allows_grant(GrantType::AuthorizationCode) { vec!["code"] } else { vec![] },
        "token_endpoint_auth_method": client.auth_method.as_str(),
        "id_token_signed_response_alg": client.id_token_alg.as_str(),
        "first_party": client.first_party,
    });
    if let Some(u) = &client.initiate_login_uri {
        v["initiate_login_uri"] = serde_json::json!(u);
    }
    if let Some(s) = secret {
        v["client_secret"] = serde_json::json!(s);
        // §3.2.1: 0 means the secret does not expire.
        v["client_secret_expires_at"] = serde_json::json!(0);
    }
    v
}

fn metadata_error(msg: impl Into<String>) -> OAuthError {
    OAuthError::new(OAuthErrorCode::InvalidClientMetadata, msg)
}

impl ClientMetadata {
    /// Applies the RFC's defaults and our rules.
    pub fn validate(self) -> Result<NewClient, OAuthError> {
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
        if auth_method == AuthMethod::None && grant_types.contains(&GrantType::ClientCredentials) {
            return Err(metadata_error(
                "grant_types: a public client (none) cannot use client_credentials",
            ));
        }
        let id_token_alg = match self.id_token_signed_response_alg.as_deref() {
            None => SigningAlg::RS256,
            Some(a) => SigningAlg::parse(a)
                .ok_or_else(|| metadata_error(format!("id_token_signed_response_alg: {a} is not supported")))?,
        };
        if has_code && self.redirect_uris.is_empty() {
            return Err(OAuthError::new(
                OAuthErrorCode::InvalidRedirectUri,
                "redirect_uris: at least one is required",
            ));
        }
        for uri in &self.redirect_uris {
            validate_redirect_uri(uri)
                .map_err(|e| OAuthError::new(OAuthErrorCode::InvalidRedirectUri, format!("redirect_uris: {e}")))?;
        }
        for uri in &self.post_logout_redirect_uris {
            validate_redirect_uri(uri).map_err(|e| metadata_error(format!("post_logout_redirect_uris: {e}")))?;
        }
        if let Some(u) = &self.initiate_login_uri {
            if !u.starts_with("https://") {
                return Err(metadata_error("initiate_login_uri: must use https"));
            }
            validate_redirect_uri(u).map_err(|e| metadata_error(format!("initiate_login_uri: {e}")))?;
        }
        let name = self.client_name.unwrap_or_default();
        let name = if name.trim().is_empty() {
            "Unnamed client".to_owned()
        } else {
            name
        };
        Ok(NewClient {
            name,
            redirect_uris: self.redirect_uris,
            post_logout_redirect_uris: self.post_logout_redirect_uris,
            grant_types,
            auth_method,
            id_token_alg,
            initiate_login_uri: self.initiate_login_uri,
            first_party: self.first_party,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(v: serde_json::Value) -> Result<NewClient, OAuthError> {
        serde_json::from_value::<ClientMetadata>(v).unwrap().validate()
    }

    #[test]
    fn defaults_and_rules() {
        let c = meta(serde_json::json!({"redirect_uris": ["https://a.example/cb"], "unknown": 1})).unwrap();
        assert_eq!(c.grant_types, vec![GrantType::AuthorizationCode]);
        assert_eq!(c.auth_method, AuthMethod::ClientSecretBasic);
        assert_eq!(c.id_token_alg, SigningAlg::RS256);
        let code = |v| meta(v).unwrap_err().code;
        assert_eq!(code(serde_json::json!({})), OAuthErrorCode::InvalidRedirectUri);
        assert_eq!(
            code(serde_json::json!({"redirect_uris": ["http://a.example/cb"]})),
            OAuthErrorCode::InvalidRedirectUri
        );
        assert_eq!(
            code(serde_json::json!({"redirect_uris": ["https://a.example/cb#f"]})),
            OAuthErrorCode::InvalidRedirectUri
        );
        assert_eq!(
            code(serde_json::json!({"redirect_uris": ["https://a.example/cb"], "response_types": ["token"]})),
            OAuthErrorCode::InvalidClientMetadata
        );
        assert_eq!(
            code(serde_json::json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"})),
            OAuthErrorCode::InvalidClientMetadata
        );
        assert_eq!(
            code(serde_json::json!({"redirect_uris": ["https://a.example/cb"], "grant_types": ["refresh_token"]})),
            OAuthErrorCode::InvalidClientMetadata
        );
        let m2m = meta(serde_json::json!({"grant_types": ["client_credentials"], "response_types": []})).unwrap();
        assert_eq!(m2m.grant_types, vec![GrantType::ClientCredentials]);
    }
}
