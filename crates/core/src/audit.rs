//! Audit events: who did what, when, from where. Never a secret.

use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AuditEvent {
    pub id: String,
    pub at: i64,
    /// Stable event name, e.g. `login.succeeded`.
    pub kind: String,
    /// `member:<id>`, `client:<id>`, `admin:<token id>` or `cli`.
    pub actor: String,
    pub member_id: Option<String>,
    pub client_id: Option<String>,
    pub ip: Option<String>,
    pub detail: Option<String>,
}

impl AuditEvent {
    pub fn new(kind: &str, actor: String, at: i64) -> Self {
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            at,
            kind: kind.to_owned(),
            actor,
            member_id: None,
            client_id: None,
            ip: None,
            detail: None,
        }
    }
    pub fn member(mut self, id: &str) -> Self {
        self.member_id = Some(id.to_owned());
        self
    }
    pub fn client(mut self, id: &str) -> Self {
        self.client_id = Some(id.to_owned());
        self
    }
    pub fn ip(mut self, ip: Option<String>) -> Self {
        self.ip = ip;
        self
    }
    pub fn detail(mut self, d: impl Into<String>) -> Self {
        self.detail = Some(d.into());
        self
    }
}
