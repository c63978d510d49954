//! `id_token_hint` (OIDC Core §3.1.2.1, RP-Initiated Logout §2): an ID token
//! this provider signed, expired or not; the signature and issuer must hold.

use crate::error::OAuthError;
use crate::ports::signer::Claims;
use crate::provider::Provider;
use serde_json::Value;

impl Provider {
    /// The claims of a hint this provider issued.
    pub(crate) fn verify_id_token_hint(&self, hint: &str) -> Result<Claims, OAuthError> {
        let (claims, _) = self
            .signer
            .verify(hint)
            .map_err(|_| OAuthError::invalid_request("id_token_hint is not a valid ID token of this provider"))?;
        if claims.get("iss").and_then(Value::as_str) != Some(self.settings.issuer.as_str()) {
            return Err(OAuthError::invalid_request(
                "id_token_hint was issued by another provider",
            ));
        }
        Ok(claims)
    }
}
