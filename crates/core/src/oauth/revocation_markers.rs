//! The short-lived markers that end tokens and grants before they expire,
//! read in one round trip: the token's own, its refresh family's, its
//! client's, its SSO session's (unless granted `offline_access`), and the
//! member's "sessions ended" (a new password, a disabled or removed
//! account), which ends whatever began before it.
//!
//! Every revocation writes its marker before it changes the database, and
//! every grant reads the markers after its own writes. So a grant either
//! sees the marker, or was written before the revocation, which then
//! revokes it too: no token escapes a reset that runs at the same moment.

use crate::account::session::{ended_after, member_marker, session_ended_key};
use crate::error::StoreError;
use crate::provider::{Provider, client_revoked_key, family_revoked_key, jti_revoked_key};

/// What a token or grant is tied to.
pub(crate) struct Revocable<'a> {
    pub jti: Option<&'a str>,
    pub client_id: &'a str,
    pub family_id: Option<&'a str>,
    /// The SSO session, unless the grant outlives it.
    pub sid: Option<&'a str>,
    pub member_id: Option<&'a str>,
    /// When it began, in milliseconds: a later "sessions ended" ends it.
    pub since_ms: i64,
}

impl Provider {
    pub(crate) async fn is_revoked(&self, r: &Revocable<'_>) -> Result<bool, StoreError> {
        let mut keys = vec![client_revoked_key(r.client_id)];
        keys.extend(r.jti.map(jti_revoked_key));
        keys.extend(r.family_id.map(family_revoked_key));
        keys.extend(r.sid.filter(|s| !s.is_empty()).map(session_ended_key));
        let marks = keys.len();
        keys.extend(r.member_id.filter(|m| !m.is_empty()).map(member_marker));
        let found = self.kv.get_many_raw(&keys).await?;
        if found[..marks].iter().any(Option::is_some) {
            return Ok(true);
        }
        ended_after(found.get(marks).and_then(|v| v.as_deref()), r.since_ms)
    }
}
