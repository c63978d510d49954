//! RP-Initiated Logout 1.0: `id_token_hint`, `client_id`,
//! `post_logout_redirect_uri` (exact match) and `state`.

use crate::error::{CoreError, OAuthError};
use crate::oauth::authorize::redirect_with;
use crate::oauth::params::Params;
use crate::provider::Provider;
use serde_json::Value;

/// A validated logout request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogoutRequest {
    /// Where to send the person afterwards, `state` included.
    pub redirect: Option<String>,
    pub client_id: Option<String>,
    pub client_name: Option<String>,
    /// `sid` of the ID token hint, when one was given.
    pub hint_sid: Option<String>,
    pub hint_sub: Option<String>,
}

impl Provider {
    /// Checks a logout request; errors are shown as a page, never redirected.
    pub async fn check_logout(&self, p: &Params) -> Result<LogoutRequest, CoreError> {
        let mut out = LogoutRequest::default();
        let mut client_id = p.get("client_id")?.map(str::to_owned);
        if let Some(hint) = p.get("id_token_hint")? {
            let claims = self.verify_id_token_hint(hint)?;
            let aud = match claims.get("aud") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Array(a)) => a.first().and_then(Value::as_str).map(str::to_owned),
                _ => None,
            };
            if let (Some(c), Some(a)) = (&client_id, &aud)
                && c != a
            {
                return Err(OAuthError::invalid_request("client_id does not match id_token_hint").into());
            }
            client_id = client_id.or(aud);
            out.hint_sid = claims.get("sid").and_then(Value::as_str).map(str::to_owned);
            out.hint_sub = claims.get("sub").and_then(Value::as_str).map(str::to_owned);
        }
        let client = match &client_id {
            Some(id) => Some(
                self.clients
                    .find_client(id)
                    .await?
                    .ok_or_else(|| OAuthError::invalid_request("unknown client"))?,
            ),
            None => None,
        };
        if let Some(uri) = p.get("post_logout_redirect_uri")? {
            let Some(c) = &client else {
                return Err(
                    OAuthError::invalid_request("post_logout_redirect_uri needs id_token_hint or client_id").into(),
                );
            };
            if !c.has_post_logout_redirect_uri(uri) {
                return Err(
                    OAuthError::invalid_request("post_logout_redirect_uri is not registered for this client").into(),
                );
            }
            let state = p.get("state")?;
            out.redirect = Some(match state {
                Some(s) => redirect_with(uri, &[("state", s)]),
                None => uri.to_owned(),
            });
        }
        out.client_name = client.as_ref().map(|c| c.name.clone());
        out.client_id = client.map(|c| c.id);
        Ok(out)
    }
}
