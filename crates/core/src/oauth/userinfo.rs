//! Access-token validation and the UserInfo endpoint (OIDC Core §5.3).

use crate::account::session::{ended_after, member_marker, session_ended_key, token_ms};
use crate::error::{CoreError, OAuthError, OAuthErrorCode};
use crate::oauth::scope::Scope;
use crate::oauth::token_minting::{family_of_jti, scope_claims};
use crate::ports::signer::Claims;
use crate::provider::Provider;
use crate::provider::{client_revoked_key, family_revoked_key, jti_revoked_key};
use serde_json::json;

impl Provider {
    /// Verifies one of our access tokens: signature, `typ`, issuer, expiry
    /// and revocation. Returns its claims.
    pub async fn validate_access_token(&self, jwt: &str) -> Result<Claims, CoreError> {
        let invalid = || CoreError::OAuth(OAuthError::invalid_token("the access token is invalid or expired"));
        let (claims, typ) = self.signer.verify(jwt).map_err(|_| invalid())?;
        // RFC 9068 §4: the typ header tells access tokens from ID tokens.
        if !typ.is_some_and(|t| t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt")) {
            return Err(invalid());
        }
        if claims.get("iss").and_then(|v| v.as_str()) != Some(self.settings.issuer.as_str()) {
            return Err(invalid());
        }
        let exp = claims.get("exp").and_then(|v| v.as_i64()).ok_or_else(invalid)?;
        if exp <= self.clock.now() {
            return Err(invalid());
        }
        if self.is_access_token_revoked(&claims).await? {
            return Err(invalid());
        }
        Ok(claims)
    }

    /// Everything that can revoke an access token before it expires, read in
    /// one round trip: the token itself, its refresh family, its client, its
    /// SSO session (unless offline) and the member's last "sessions ended".
    async fn is_access_token_revoked(&self, claims: &Claims) -> Result<bool, CoreError> {
        let text = |k: &str| claims.get(k).and_then(|v| v.as_str()).unwrap_or_default();
        let jti = text("jti");
        if jti.is_empty() {
            return Ok(true);
        }
        // Markers whose presence revokes, then the member's marker, compared by time.
        let mut keys = vec![jti_revoked_key(jti), client_revoked_key(text("client_id"))];
        if let Some(fid) = family_of_jti(jti) {
            keys.push(family_revoked_key(fid));
        }
        let offline = text("scope").split(' ').any(|x| x == "offline_access");
        if !text("sid").is_empty() && !offline {
            keys.push(session_ended_key(text("sid")));
        }
        let marks = keys.len();
        let sub = text("sub");
        if !sub.is_empty() {
            keys.push(member_marker(sub));
        }
        let found = self.kv.get_many_raw(&keys).await?;
        if found[..marks].iter().any(Option::is_some) {
            return Ok(true);
        }
        let iat = claims.get("iat").and_then(|v| v.as_i64()).unwrap_or(0);
        let marker = found.get(marks).and_then(|v| v.as_deref());
        Ok(ended_after(marker, token_ms(iat))?)
    }

    /// The claims about the member that the token's scope releases.
    pub async fn userinfo(&self, jwt: &str) -> Result<Claims, CoreError> {
        let claims = self.validate_access_token(jwt).await?;
        let scope = Scope::parse(claims.get("scope").and_then(|v| v.as_str()).unwrap_or("")).unwrap_or_default();
        if !scope.contains("openid") {
            return Err(OAuthError::new(OAuthErrorCode::InsufficientScope, "the token was not granted openid").into());
        }
        let sub = claims.get("sub").and_then(|v| v.as_str()).unwrap_or_default();
        let member = match self.members.find_member(sub).await? {
            Some(m) if m.is_active() => m,
            _ => {
                return Err(OAuthError::invalid_token("the access token is invalid or expired").into());
            }
        };
        let mut out = Claims::new();
        out.insert("sub".into(), json!(member.id));
        scope_claims(&member, &scope, &mut out);
        Ok(out)
    }
}
