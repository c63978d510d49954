//! Development only: the mails in the outbox folder, newest first, so a
//! newcomer can read the one-time code without a mail server.

use crate::portal::{Portal, page};
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use mail_parser::MessageParser;
use std::sync::Arc;

struct Mail {
    to: String,
    subject: String,
    text: String,
}

#[derive(Template)]
#[template(path = "outbox.html")]
struct OutboxPage<'a> {
    issuer: &'a str,
    mails: Vec<Mail>,
}

pub async fn list(State(p): State<Arc<Portal>>) -> Response {
    let mut files: Vec<(std::time::SystemTime, std::path::PathBuf)> = Vec::new();
    if let Ok(mut dir) = tokio::fs::read_dir(&p.config.outbox_dir).await {
        while let Ok(Some(entry)) = dir.next_entry().await {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "eml") {
                let modified = entry.metadata().await.and_then(|m| m.modified()).ok();
                files.push((modified.unwrap_or(std::time::UNIX_EPOCH), path));
            }
        }
    }
    files.sort_by_key(|f| std::cmp::Reverse(f.0));
    let mut mails = Vec::new();
    for (_, path) in files.into_iter().take(50) {
        let Ok(raw) = tokio::fs::read(&path).await else {
            continue;
        };
        let Some(m) = MessageParser::default().parse(&raw) else {
            continue;
        };
        let to = m
            .to()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .unwrap_or_default()
            .to_owned();
        mails.push(Mail {
            to,
            subject: m.subject().unwrap_or_default().to_owned(),
            text: m.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
        });
    }
    page(&OutboxPage {
        issuer: &p.config.issuer,
        mails,
    })
}
