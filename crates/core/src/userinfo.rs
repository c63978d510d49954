//! Access-token validation and the UserInfo endpoint (OIDC Core §5.3).

use crate::error::{CoreError, OAuthError, OAuthErrorCode};
use crate::provider::Provider;
use crate::scope::Scope;
use crate::signer::Claims;
use crate::token::{family_of_jti, scope_claims};
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
        let jti = claims.get("jti").and_then(|v| v.as_str()).ok_or_else(invalid)?;
        if self.kv.exists(&format!("jti_revoked:{jti}")).await? {
            return Err(invalid());
        }
        if let Some(fid) = family_of_jti(jti)
            && self.is_family_revoked(fid).await?
        {
            return Err(invalid());
        }
        let sub = claims.get("sub").and_then(|v| v.as_str()).unwrap_or_default();
        let iat = claims.get("iat").and_then(|v| v.as_i64()).unwrap_or(0);
        if !sub.is_empty() && self.token_predates_member_reset(sub, iat).await? {
            return Err(invalid());
        }
        let offline = claims
            .get("scope")
            .and_then(|v| v.as_str())
            .is_some_and(|s| s.split(' ').any(|x| x == "offline_access"));
        if let (Some(sid), false) = (claims.get("sid").and_then(|v| v.as_str()), offline)
            && self.is_session_ended(sid).await?
        {
            return Err(invalid());
        }
        Ok(claims)
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
