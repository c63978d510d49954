//! Audit events: who did what, when, from where. Never a secret. The
//! trail is read page by page through `admin::audit_trail`.

use crate::error::CoreError;
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
    /// The request it was recorded under (`X-Request-Id`), if any.
    pub request_id: Option<String>,
}

/// The request a task serves: its id, and the member it turned out to be
/// for (once a session, a login or a token names one).
struct RequestScope {
    id: String,
    member: std::sync::Mutex<Option<String>>,
}

tokio::task_local! {
    static REQUEST: RequestScope;
}

/// Runs `work` as the request `id`: every audit event recorded in it carries
/// the id. The HTTP layer wraps each request in this; it gets back the
/// member the request was for, if one was named, for its access-log line.
pub async fn with_request_id<F: std::future::Future>(id: String, work: F) -> (F::Output, Option<String>) {
    let scope = RequestScope {
        id,
        member: std::sync::Mutex::new(None),
    };
    REQUEST
        .scope(scope, async {
            let out = work.await;
            let member = REQUEST
                .try_with(|s| s.member.lock().ok().and_then(|mut m| m.take()))
                .ok()
                .flatten();
            (out, member)
        })
        .await
}

/// Notes that the request being served is for member `id` (the access log
/// names them); outside a request it does nothing.
pub fn note_member(id: &str) {
    let _ = REQUEST.try_with(|s| {
        if let Ok(mut m) = s.member.lock() {
            *m = Some(id.to_owned());
        }
    });
}

fn current_request_id() -> Option<String> {
    REQUEST.try_with(|s| s.id.clone()).ok()
}

/// Who acts, as the audit trail names them: `admin:<token id>`, `cli`,
/// `client:<id>`, `member:<id>` — and from which address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub id: String,
    pub ip: Option<String>,
}

impl Actor {
    pub fn new(id: impl Into<String>, ip: Option<String>) -> Self {
        Self { id: id.into(), ip }
    }
    /// The command line, run on the server itself.
    pub fn cli() -> Self {
        Self::new("cli", None)
    }
}

impl AuditEvent {
    /// An event done by `actor`, from their address.
    pub fn by(kind: &str, actor: &Actor, at: i64) -> Self {
        Self::new(kind, actor.id.clone(), at).ip(actor.ip.clone())
    }

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
            request_id: current_request_id(),
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

/// A filter over the audit trail, newest first, a page at a time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub member_id: Option<String>,
    /// An exact kind (`login.failed`) or a family of kinds ending in a dot (`login.`).
    pub kind: Option<String>,
    /// Unix seconds, inclusive.
    pub since: Option<i64>,
    /// Unix seconds, exclusive.
    pub until: Option<i64>,
    /// Continue after this event (from the previous page's `next`).
    pub after: Option<Cursor>,
    pub limit: u64,
}

/// Where a page ended: the last event's time and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub at: i64,
    pub id: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        format!("{}.{}", self.at, self.id)
    }
    pub fn parse(raw: &str) -> Result<Self, CoreError> {
        let bad = || CoreError::Invalid("cursor: not one this server handed out".into());
        let (at, id) = raw.split_once('.').ok_or_else(bad)?;
        let at = at.parse().map_err(|_| bad())?;
        if id.is_empty() || id.len() > 36 || !id.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(bad());
        }
        Ok(Self { at, id: id.to_owned() })
    }
}

/// One page of the trail and where the next begins.
#[derive(Debug, Clone, Serialize)]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}
