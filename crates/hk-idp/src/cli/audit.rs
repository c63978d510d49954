//! `hk-idp audit`: the audit trail, newest first.

use crate::app::Services;
use clap::Args;
use hk_idp_core::audit::{AuditQuery, Cursor};

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Events about the member with this e-mail address.
    #[arg(long, conflicts_with = "member")]
    pub email: Option<String>,
    /// Events about the member with this id.
    #[arg(long)]
    pub member: Option<String>,
    /// An event kind (login.failed) or a family ending in a dot (login.).
    #[arg(long)]
    pub kind: Option<String>,
    /// From this time on (Unix seconds).
    #[arg(long)]
    pub since: Option<i64>,
    /// Before this time (Unix seconds).
    #[arg(long)]
    pub until: Option<i64>,
    /// At most this many events.
    #[arg(long, default_value_t = 100)]
    pub limit: u64,
    /// Continue after the page that printed this cursor.
    #[arg(long)]
    pub cursor: Option<String>,
}

pub async fn run(a: AuditArgs, s: &Services, json: bool) -> anyhow::Result<()> {
    let p = &s.provider;
    let member_id = match (&a.email, a.member) {
        (Some(e), _) => Some(p.member_by_email(e).await?.id),
        (None, m) => m,
    };
    let page = p
        .audit_page(AuditQuery {
            member_id,
            kind: a.kind,
            since: a.since,
            until: a.until,
            after: a.cursor.as_deref().map(Cursor::parse).transpose()?,
            limit: a.limit,
        })
        .await?;
    if json {
        println!("{}", serde_json::to_value(&page)?);
        return Ok(());
    }
    for e in &page.events {
        let mut line = format!("{}  {:<22} {}", e.at, e.kind, e.actor);
        for (k, v) in [
            ("member", &e.member_id),
            ("client", &e.client_id),
            ("ip", &e.ip),
            ("detail", &e.detail),
            ("request", &e.request_id),
        ] {
            if let Some(v) = v {
                line.push_str(&format!("  {k}={v}"));
            }
        }
        println!("{line}");
    }
    match &page.next {
        Some(c) => println!("more: --cursor {c}"),
        None if page.events.is_empty() => println!("no events"),
        None => {}
    }
    Ok(())
}
