//! Authorization codes: single use, short-lived, bound to client, redirect
//! URI and PKCE challenge (RFC 6749 §4.1.2, §10.5).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub member_id: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub auth_time: i64,
    pub sid: String,
    pub issued_at: i64,
    /// When the SSO session began, in milliseconds: a new password or a
    /// disabled account after it voids the code.
    #[serde(default)]
    pub session_ms: i64,
}

impl AuthCode {
    /// When its session began, in ms (codes stored before `session_ms`: the
    /// start of the second of `auth_time`, as `Session::started_ms`).
    pub fn session_started_ms(&self) -> i64 {
        self.session_ms.max(self.auth_time * 1000)
    }
}

/// What a redeemed code issued, kept so that a replay can revoke it
/// (RFC 6749 §4.1.2, OAuth 2.0 Security BCP §4.5).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SpentCode {
    pub client_id: String,
    pub access_jti: String,
    pub family_id: Option<String>,
}

pub fn code_key(hash: &str) -> String {
    format!("code:{hash}")
}

pub fn spent_key(hash: &str) -> String {
    format!("code_spent:{hash}")
}
