//! Token revocation (RFC 7009).

use crate::error::CoreError;
use crate::oauth::client::Client;
use crate::provider::Provider;
use crate::secret::hash_token;
use serde_json::Value;

impl Provider {
    /// RFC 7009 §2.1: revokes a token of the calling client; an unknown or
    /// foreign token is not an error (§2.2).
    pub async fn revoke(&self, client: &Client, token: &str) -> Result<(), CoreError> {
        if let Some(rt) = self.refresh.find_token(&hash_token(token)).await? {
            if let Some(family) = self.refresh.find_family(&rt.family_id).await?
                && family.client_id == client.id
            {
                self.revoke_family(&family.id).await?;
                self.audit_member("token.family_revoked", &family.member_id, Some(&client.id), None)
                    .await;
            }
            return Ok(());
        }
        if let Ok((claims, _)) = self.signer.verify(token) {
            let owner = claims.get("client_id").and_then(Value::as_str);
            let jti = claims.get("jti").and_then(Value::as_str);
            let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
            let left = exp - self.clock.now();
            if let (Some(owner), Some(jti), true) = (owner, jti, left > 0)
                && owner == client.id
            {
                self.kv.mark(&crate::provider::jti_revoked_key(jti), left).await?;
            }
        }
        Ok(())
    }
}
