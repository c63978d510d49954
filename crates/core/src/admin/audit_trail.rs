//! Reading the audit trail: filtered, newest first, a page at a time with a
//! cursor (`GET /admin/audit`, `hk-idp audit`).

use crate::audit::{AuditPage, AuditQuery, Cursor};
use crate::error::CoreError;
use crate::provider::Provider;

pub const MAX_PAGE: u64 = 1000;

impl Provider {
    pub async fn audit_page(&self, mut q: AuditQuery) -> Result<AuditPage, CoreError> {
        if q.limit == 0 || q.limit > MAX_PAGE {
            return Err(CoreError::Invalid(format!("limit: 1 to {MAX_PAGE}")));
        }
        if let Some(k) = &q.kind
            && (k.is_empty() || k.len() > 64 || !k.chars().all(|c| c.is_ascii_lowercase() || c == '.' || c == '_'))
        {
            return Err(CoreError::Invalid("kind: 1 to 64 of a-z, '.' and '_'".into()));
        }
        if let (Some(s), Some(u)) = (q.since, q.until)
            && s >= u
        {
            return Err(CoreError::Invalid("since must be before until".into()));
        }
        let limit = q.limit;
        q.limit += 1;
        let mut events = self.audit.list_events(&q).await?;
        let next = if events.len() as u64 > limit {
            events.truncate(limit as usize);
            events.last().map(|e| {
                Cursor {
                    at: e.at,
                    id: e.id.clone(),
                }
                .encode()
            })
        } else {
            None
        };
        Ok(AuditPage { events, next })
    }
}
