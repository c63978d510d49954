//! Access-token validation and the UserInfo endpoint (OIDC Core §5.3).

use crate::account::session::token_ms;
use crate::error::{CoreError, OAuthError, OAuthErrorCode};
use crate::oauth::revocation_markers::Revocable;
use crate::oauth::scope::Scope;
use crate::oauth::token_minting::{parse_jti, scope_claims};
use crate::ports::signer::Claims;
use crate::provider::Provider;
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

    /// Everything that can revoke an access token before it expires (see
    /// `revocation_markers`), read in one round trip.
    async fn is_access_token_revoked(&self, claims: &Claims) -> Result<bool, CoreError> {
        let text = |k: &str| claims.get(k).and_then(|v| v.as_str()).unwrap_or_default();
        let jti = text("jti");
        if jti.is_empty() {
            return Ok(true);
        }
        let (family_id, issued_ms) = parse_jti(jti);
        let offline = text("scope").split(' ').any(|x| x == "offline_access");
        let iat = claims.get("iat").and_then(|v| v.as_i64()).unwrap_or(0);
        let token = Revocable {
            jti: Some(jti),
            client_id: text("client_id"),
            family_id,
            sid: (!offline).then(|| text("sid")),
            member_id: Some(text("sub")),
            since_ms: issued_ms.unwrap_or_else(|| token_ms(iat)),
        };
        Ok(self.is_revoked(&token).await?)
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
        crate::audit::note_member(&member.id);
        let mut out = Claims::new();
        out.insert("sub".into(), json!(member.id));
        scope_claims(&member, &scope, &mut out);
        Ok(out)
    }
}
