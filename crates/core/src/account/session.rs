//! SSO sessions in the short-lived store, keyed by the hash of the cookie value.

use crate::error::StoreError;
use crate::provider::Provider;
use crate::secret::{hash_token, random_token};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Session {
    /// Public session id, the `sid` claim; not the cookie value.
    pub sid: String,
    pub member_id: String,
    pub auth_time: i64,
    pub created_at: i64,
    /// Milliseconds, to order the session against a password change in the same second.
    #[serde(default)]
    pub created_ms: i64,
}

impl Session {
    /// When the session began, in milliseconds (sessions stored before
    /// `created_ms` existed: the start of their second).
    pub fn started_ms(&self) -> i64 {
        self.created_ms.max(self.created_at * 1000)
    }
}

pub(crate) fn member_marker(member_id: &str) -> String {
    format!("member_sessions_ended:{member_id}")
}

/// True if the member's "sessions ended" marker (milliseconds) is later
/// than `ms`. A marker that cannot be read fails closed.
pub(crate) fn ended_after(marker: Option<&[u8]>, ms: i64) -> Result<bool, StoreError> {
    match marker {
        None => Ok(false),
        Some(b) => serde_json::from_slice::<i64>(b)
            .map(|at| ms < at)
            .map_err(|e| StoreError::Backend(format!("corrupt sessions-ended marker: {e}"))),
    }
}

/// The instant a token issued at `iat` (whole seconds) counts as: the end of
/// that second, so a token from the very second of a password change survives
/// (whole seconds cannot tell it from one issued just after).
pub(crate) fn token_ms(iat: i64) -> i64 {
    iat * 1000 + 999
}

pub(crate) fn session_ended_key(sid: &str) -> String {
    format!("session_ended:{sid}")
}

fn key(cookie: &str) -> String {
    format!("session:{}", hash_token(cookie))
}

impl Provider {
    pub async fn find_session(&self, cookie: Option<&str>) -> Result<Option<Session>, StoreError> {
        let session: Option<Session> = match cookie {
            Some(c) if !c.is_empty() && c.len() <= 128 => self.kv.get_json(&key(c)).await?,
            _ => None,
        };
        match session {
            Some(s) if self.member_marker_after(&s.member_id, s.started_ms()).await? => Ok(None),
            Some(s) => {
                crate::audit::note_member(&s.member_id);
                Ok(Some(s))
            }
            None => Ok(None),
        }
    }

    /// Ends every session of a member and revokes their refresh tokens (a new
    /// password, a disabled account). Sessions live in the short-lived store
    /// without an index by member, so a marker tells which are too old.
    pub async fn end_member_sessions(&self, member_id: &str) -> Result<(), StoreError> {
        let s = &self.settings;
        let ttl = s.session.ttl.max(s.max_token_lifetime());
        self.kv
            .put_json(&member_marker(member_id), &self.clock.now_millis(), ttl)
            .await?;
        for fam in self.refresh.revoke_families_of_member(member_id).await? {
            self.mark_family_revoked(&fam).await?;
        }
        Ok(())
    }

    pub(crate) async fn member_marker_after(&self, member_id: &str, ms: i64) -> Result<bool, StoreError> {
        let raw = self.kv.get_many_raw(&[member_marker(member_id)]).await?;
        ended_after(raw[0].as_deref(), ms)
    }

    /// Starts a session for `member_id` under a new cookie value (the id is
    /// rotated at every login); the previous session, if any, ends.
    pub async fn start_session(
        &self,
        member_id: &str,
        previous_cookie: Option<&str>,
    ) -> Result<(String, Session), StoreError> {
        if let Some(prev) = previous_cookie.filter(|c| !c.is_empty() && c.len() <= 128) {
            self.kv.delete(&key(prev)).await?;
        }
        let now = self.clock.now();
        let cookie = random_token(32);
        let session = Session {
            sid: uuid::Uuid::new_v4().to_string(),
            member_id: member_id.to_owned(),
            auth_time: now,
            created_at: now,
            created_ms: self.clock.now_millis(),
        };
        self.kv
            .put_json(&key(&cookie), &session, self.settings.session.ttl)
            .await?;
        Ok((cookie, session))
    }

    /// Ends the session behind `cookie` and revokes the refresh tokens bound to it.
    pub async fn end_session(&self, cookie: &str) -> Result<Option<Session>, StoreError> {
        let session: Option<Session> = self.kv.take_json(&key(cookie)).await?;
        if let Some(s) = &session {
            self.end_session_tokens(&s.sid).await?;
            self.audit_member("logout", &s.member_id, None, None).await;
        }
        Ok(session)
    }

    async fn end_session_tokens(&self, sid: &str) -> Result<(), StoreError> {
        self.kv
            .mark(&session_ended_key(sid), self.settings.tokens.refresh_token_ttl)
            .await?;
        for fam in self.refresh.revoke_online_families_of_session(sid).await? {
            self.mark_family_revoked(&fam).await?;
        }
        Ok(())
    }

    pub async fn is_session_ended(&self, sid: &str) -> Result<bool, StoreError> {
        self.kv.exists(&session_ended_key(sid)).await
    }
}
