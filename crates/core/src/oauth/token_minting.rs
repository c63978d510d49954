//! Minting tokens: JWT access tokens (RFC 9068) and ID tokens (OIDC Core §2).

use crate::account::member::Member;
use crate::error::CoreError;
use crate::oauth::client::Client;
use crate::oauth::scope::Scope;
use crate::oauth::signing_key::SigningAlg;
use crate::ports::signer::Claims;
use crate::provider::Provider;
use crate::secret::random_token;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256, Sha512};

/// The token endpoint's success response (RFC 6749 §5.1, OIDC Core §3.1.3.3).
#[derive(Debug, Clone, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// Who the tokens are for and what they carry.
pub struct Grant<'a> {
    pub client: &'a Client,
    pub member: Option<&'a Member>,
    pub scope: &'a Scope,
    pub nonce: Option<&'a str>,
    pub auth_time: Option<i64>,
    pub sid: Option<&'a str>,
    pub family_id: Option<&'a str>,
    pub audience: Option<&'a str>,
}

/// A new access-token id, `{family}.{ms}.{random}`: tokens of a refresh
/// family carry its id, so that revoking the family revokes them (empty for
/// none), and the millisecond they were issued, to order them against a
/// new password in the same second.
pub fn new_jti(family_id: Option<&str>, issued_ms: i64) -> String {
    format!("{}.{issued_ms}.{}", family_id.unwrap_or(""), random_token(16))
}

/// The family and issue time (ms) a `jti` carries. Ids from before the
/// issue time was added (`{family}.{random}` or `{random}`) give less.
pub fn parse_jti(jti: &str) -> (Option<&str>, Option<i64>) {
    let mut parts = jti.splitn(3, '.');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(family), Some(ms), Some(_)) => (Some(family).filter(|f| !f.is_empty()), ms.parse().ok()),
        (Some(family), Some(_), None) => (Some(family), None),
        _ => (None, None),
    }
}

/// OIDC Core §3.1.3.6: left half of the hash of the ASCII token, base64url.
/// The hash follows the signing algorithm; for EdDSA (Ed25519) it is SHA-512.
pub fn at_hash(alg: SigningAlg, access_token: &str) -> String {
    let digest: Vec<u8> = match alg {
        SigningAlg::RS256 | SigningAlg::ES256 => Sha256::digest(access_token.as_bytes()).to_vec(),
        SigningAlg::EdDSA => Sha512::digest(access_token.as_bytes()).to_vec(),
    };
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

/// Claims released for the granted scope (OIDC Core §5.4).
pub fn scope_claims(member: &Member, scope: &Scope, claims: &mut Claims) {
    if scope.contains("email") {
        claims.insert("email".into(), json!(member.email.as_str()));
        claims.insert("email_verified".into(), json!(member.is_active()));
    }
    if scope.contains("profile")
        && let Some(n) = &member.name
    {
        claims.insert("name".into(), json!(n));
    }
    if scope.contains("organization") {
        if let Some(n) = &member.org_number {
            claims.insert("org_number".into(), json!(n));
        }
        if let Some(n) = &member.org_name {
            claims.insert("org_name".into(), json!(n));
        }
    }
}

impl Provider {
    /// Signs an access token for `grant` with the given `jti`.
    pub fn mint_access_token(&self, grant: &Grant<'_>, jti: &str) -> Result<String, CoreError> {
        let now = self.clock.now();
        let mut c = Claims::new();
        c.insert("iss".into(), json!(self.settings.issuer));
        c.insert(
            "sub".into(),
            json!(grant.member.map_or(grant.client.id.as_str(), |m| m.id.as_str())),
        );
        c.insert(
            "aud".into(),
            json!(grant.audience.unwrap_or(self.settings.default_audience())),
        );
        c.insert("client_id".into(), json!(grant.client.id));
        c.insert("iat".into(), json!(now));
        c.insert("exp".into(), json!(now + self.settings.tokens.access_token_ttl));
        c.insert("jti".into(), json!(jti));
        if !grant.scope.is_empty() {
            c.insert("scope".into(), json!(grant.scope.to_string()));
        }
        if let Some(t) = grant.auth_time {
            c.insert("auth_time".into(), json!(t));
        }
        if let Some(s) = grant.sid {
            c.insert("sid".into(), json!(s));
        }
        self.signer.sign(self.settings.tokens.access_token_alg, "at+jwt", &c)
    }

    /// Signs an ID token for a member grant, bound to `access_token` by `at_hash`.
    pub fn mint_id_token(&self, grant: &Grant<'_>, member: &Member, access_token: &str) -> Result<String, CoreError> {
        let now = self.clock.now();
        let alg = grant.client.id_token_alg;
        let mut c = Claims::new();
        c.insert("iss".into(), json!(self.settings.issuer));
        c.insert("sub".into(), json!(member.id));
        c.insert("aud".into(), json!(grant.client.id));
        c.insert("azp".into(), json!(grant.client.id));
        c.insert("iat".into(), json!(now));
        c.insert("exp".into(), json!(now + self.settings.tokens.id_token_ttl));
        if let Some(t) = grant.auth_time {
            c.insert("auth_time".into(), json!(t));
        }
        if let Some(n) = grant.nonce {
            c.insert("nonce".into(), Value::String(n.to_owned()));
        }
        if let Some(s) = grant.sid {
            c.insert("sid".into(), json!(s));
        }
        c.insert("at_hash".into(), json!(at_hash(alg, access_token)));
        scope_claims(member, grant.scope, &mut c);
        self.signer.sign(alg, "JWT", &c)
    }

    /// Access token plus, for `openid`, the ID token.
    pub fn mint_tokens(
        &self,
        grant: &Grant<'_>,
        jti: &str,
        refresh_token: Option<String>,
    ) -> Result<TokenResponse, CoreError> {
        let access_token = self.mint_access_token(grant, jti)?;
        let id_token = match grant.member {
            Some(m) if grant.scope.contains("openid") => Some(self.mint_id_token(grant, m, &access_token)?),
            _ => None,
        };
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: self.settings.tokens.access_token_ttl,
            refresh_token,
            id_token,
            scope: (!grant.scope.is_empty()).then(|| grant.scope.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_matches_the_oidc_example() {
        // OIDC Core Appendix A.3 (RS256, SHA-256).
        assert_eq!(
            at_hash(SigningAlg::RS256, "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }

    #[test]
    fn jti_carries_the_family_and_the_issue_time() {
        assert_eq!(parse_jti(&new_jti(Some("fam"), 1234)), (Some("fam"), Some(1234)));
        assert_eq!(parse_jti(&new_jti(None, 5)), (None, Some(5)));
        assert_eq!(parse_jti("fam.abc"), (Some("fam"), None), "the earlier form");
        assert_eq!(parse_jti("abc"), (None, None));
    }
}
