//! Refresh-token families: each code redemption starts a family, each refresh
//! rotates the token, and reuse of a spent token revokes the whole family.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshFamily {
    pub id: String,
    pub client_id: String,
    pub member_id: String,
    pub scope: String,
    pub sid: String,
    pub auth_time: i64,
    /// Granted `offline_access`: outlives the SSO session.
    pub offline: bool,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    /// SHA-256 of the token; the token itself is never stored.
    pub hash: String,
    pub family_id: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub spent: bool,
}

/// What `RefreshStore::rotate_token` found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// The token was live: it is spent now, and its successor stored.
    Rotated,
    /// The token was spent into this very successor within the grace, and
    /// the successor is still unspent: a retry, answered with the same successor.
    Repeated,
    /// Spent before in any other way: a reuse.
    Reused,
}
