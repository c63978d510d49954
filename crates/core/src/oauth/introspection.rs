//! Token introspection (RFC 7662).

use crate::error::CoreError;
use crate::oauth::client::Client;
use crate::provider::Provider;
use crate::secret::hash_token;
use serde_json::{Value, json};

impl Provider {
    /// RFC 7662 §2.2: `{"active": false}` for anything not currently valid.
    pub async fn introspect(&self, client: &Client, token: &str) -> Result<Value, CoreError> {
        // §2.1: the caller must be authorized; a public client proves nothing.
        if client.is_public() {
            return Err(crate::error::OAuthError::invalid_client("public clients may not introspect").into());
        }
        let inactive = json!({ "active": false });
        if let Some(rt) = self.refresh.find_token(&hash_token(token)).await? {
            let Some(family) = self.refresh.find_family(&rt.family_id).await? else {
                return Ok(inactive);
            };
            let live = !rt.spent
                && !family.revoked
                && rt.expires_at > self.clock.now()
                && family.client_id == client.id
                && !self.is_family_revoked(&family.id).await?;
            if !live {
                return Ok(inactive);
            }
            return Ok(json!({
                "active": true,
                "token_type": "refresh_token",
                "scope": family.scope,
                "client_id": family.client_id,
                "sub": family.member_id,
                "iss": self.settings.issuer,
                "iat": rt.created_at,
                "exp": rt.expires_at,
            }));
        }
        match self.validate_access_token(token).await {
            Ok(claims) => {
                let mut out = serde_json::Map::new();
                out.insert("active".into(), json!(true));
                out.insert("token_type".into(), json!("Bearer"));
                for k in [
                    "scope",
                    "client_id",
                    "sub",
                    "exp",
                    "iat",
                    "iss",
                    "aud",
                    "jti",
                    "auth_time",
                ] {
                    if let Some(v) = claims.get(k) {
                        out.insert(k.into(), v.clone());
                    }
                }
                Ok(Value::Object(out))
            }
            Err(CoreError::OAuth(_)) => Ok(inactive),
            Err(e) => Err(e),
        }
    }
}
