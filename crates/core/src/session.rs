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
}

fn key(cookie: &str) -> String {
    format!("session:{}", hash_token(cookie))
}

impl Provider {
    pub async fn find_session(&self, cookie: Option<&str>) -> Result<Option<Session>, StoreError> {
        match cookie {
            Some(c) if !c.is_empty() && c.len() <= 128 => self.kv.get_json(&key(c)).await,
            _ => Ok(None),
        }
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
        };
        self.kv
            .put_json(&key(&cookie), &session, self.settings.session_ttl)
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
            .mark(&format!("session_ended:{sid}"), self.settings.refresh_token_ttl)
            .await?;
        for fam in self.refresh.revoke_online_families_of_session(sid).await? {
            self.mark_family_revoked(&fam).await?;
        }
        Ok(())
    }

    pub async fn is_session_ended(&self, sid: &str) -> Result<bool, StoreError> {
        self.kv.exists(&format!("session_ended:{sid}")).await
    }
}
