//! The refresh-token grant (RFC 6749 §6) with rotation: each use spends the
//! token for a successor, and reuse of a spent token revokes the family
//! (OAuth 2.0 Security BCP §4.14.2). A retry within `tokens.refresh_grace`
//! (a lost response, two requests at once) gets the same successor: it is
//! derived from the token it replaces, so it can be given again.

use crate::account::session::token_ms;
use crate::error::{CoreError, OAuthError, OAuthErrorCode};
use crate::oauth::client::{Client, GrantType};
use crate::oauth::params::Params;
use crate::oauth::refresh_token::{RefreshToken, Rotation};
use crate::oauth::revocation_markers::Revocable;
use crate::oauth::scope::Scope;
use crate::oauth::token_endpoint::unauthorized;
use crate::oauth::token_minting::{Grant, TokenResponse, new_jti};
use crate::provider::Provider;
use crate::secret::{hash_token, keyed_token};

impl Provider {
    pub(crate) async fn refresh_grant(&self, client: &Client, p: &Params) -> Result<TokenResponse, CoreError> {
        if !client.allows_grant(GrantType::RefreshToken) {
            return Err(unauthorized("client may not use refresh_token").into());
        }
        let presented = p.require("refresh_token")?;
        let invalid = || {
            CoreError::OAuth(OAuthError::invalid_grant(
                "refresh token is invalid, expired or revoked",
            ))
        };
        let hash = hash_token(presented);
        let token = self.refresh.find_token(&hash).await?.ok_or_else(invalid)?;
        let family = self.refresh.find_family(&token.family_id).await?.ok_or_else(invalid)?;
        let now = self.clock.now();
        if family.client_id != client.id || family.revoked || token.expires_at <= now {
            return Err(invalid());
        }
        // Without offline_access the family ends with the SSO session: at its
        // logout (a marker, below), and at its expiry (it began at `auth_time`).
        if !family.offline && now >= family.auth_time.saturating_add(self.settings.session.ttl) {
            self.revoke_family(&family.id).await?;
            return Err(invalid());
        }
        let granted = Scope::parse(&family.scope)?;
        let scope = match p.get("scope")? {
            Some(s) => {
                let asked = Scope::parse(s)?;
                if !asked.is_subset(&granted) {
                    return Err(
                        OAuthError::new(OAuthErrorCode::InvalidScope, "scope exceeds the original grant").into(),
                    );
                }
                asked
            }
            None => granted,
        };
        let member = self.active_member(&family.member_id).await?;
        // Everything is checked: spend and store the successor in one step.
        let successor = keyed_token(&self.pepper, &["refresh successor", presented]);
        let next = RefreshToken {
            hash: hash_token(&successor),
            family_id: family.id.clone(),
            created_at: now,
            expires_at: family.expires_at,
            spent: false,
        };
        let grace = self.settings.tokens.refresh_grace;
        let grace_since = if grace > 0 { now - grace } else { i64::MAX };
        match self.refresh.rotate_token(&hash, &next, grace_since).await? {
            Rotation::Rotated => {}
            Rotation::Repeated => {
                tracing::info!(client_id = %client.id, family = %family.id, "token.refresh_repeated");
            }
            Rotation::Reused => {
                tracing::warn!(client_id = %client.id, family = %family.id, "token.refresh_reused");
                self.telemetry.count(crate::ports::telemetry::Counted::RefreshReused);
                self.revoke_family(&family.id).await?;
                self.audit_member("token.family_revoked", &family.member_id, Some(&client.id), None)
                    .await;
                return Err(invalid());
            }
        }
        let grant_of = Revocable {
            jti: None,
            client_id: &client.id,
            family_id: Some(&family.id),
            sid: (!family.offline).then_some(family.sid.as_str()),
            member_id: Some(&family.member_id),
            since_ms: token_ms(family.auth_time),
        };
        if self.is_revoked(&grant_of).await? {
            self.revoke_family(&family.id).await?;
            return Err(invalid());
        }
        let jti = new_jti(Some(&family.id), self.clock.now_millis());
        let grant = Grant {
            client,
            member: Some(&member),
            scope: &scope,
            nonce: None,
            auth_time: Some(family.auth_time),
            sid: Some(&family.sid),
            family_id: Some(&family.id),
            audience: None,
        };
        self.mint_tokens(&grant, &jti, Some(successor))
    }
}
