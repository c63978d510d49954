//! `hk-idp user …`: the member registry, on the configured database.

use super::{Partial, print};
use crate::app::Services;
use crate::settings::Settings;
use anyhow::Context;
use clap::{Args, Subcommand};
use hk_idp_core::account::member::{Member, MemberView};
use hk_idp_core::admin::member_registry::{MemberChanges, NewMember};
use hk_idp_core::audit::Actor;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use std::io::Read;
use std::time::Duration;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Register one member (pending, or active with --password-stdin).
    Add(UserAdd),
    /// Register members from a CSV file: a header row with at least `email`;
    /// optional `name`, `org_number`, `org_name`. Idempotent: running the
    /// same file again creates nothing new.
    Import(UserImport),
    /// Send the invitation mail with the link to the company portal.
    Invite(UserInvite),
    /// Show one member.
    Show(ByEmail),
    /// Change a member's name, organisation or whether they may log in.
    /// Disabling ends their sessions and revokes their tokens at once.
    Change(UserChange),
    /// Remove a member; their sessions end and their tokens are revoked.
    Remove(ByEmail),
}

#[derive(Debug, Args)]
pub struct UserAdd {
    #[arg(long)]
    pub email: String,
    #[arg(long)]
    pub name: Option<String>,
    /// Nine digits with a valid check digit.
    #[arg(long)]
    pub org_number: Option<String>,
    #[arg(long)]
    pub org_name: Option<String>,
    /// Read a password from standard input and make the member active (development and tests).
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct UserImport {
    /// The CSV file (`,` or `;` between fields, UTF-8).
    pub file: std::path::PathBuf,
}

#[derive(Debug, Args)]
#[group(id = "who", required = true, multiple = false)]
pub struct UserInviteWho {
    /// The member to invite.
    #[arg(long, group = "who")]
    pub email: Option<String>,
    /// Every pending member not invited yet (resumes where a stopped run ended).
    #[arg(long, group = "who")]
    pub all_pending: bool,
}

#[derive(Debug, Args)]
pub struct UserInvite {
    #[command(flatten)]
    pub who: UserInviteWho,
    /// Invite again members who were invited before. With --all-pending:
    /// those whose last invitation is more than an hour old, so a stopped
    /// resend run also goes on where it ended.
    #[arg(long)]
    pub resend: bool,
}

#[derive(Debug, Args)]
pub struct ByEmail {
    #[arg(long)]
    pub email: String,
}

#[derive(Debug, Args)]
pub struct UserChange {
    #[arg(long)]
    pub email: String,
    /// New name ("" clears it).
    #[arg(long)]
    pub name: Option<String>,
    /// New organisation number ("" clears it).
    #[arg(long)]
    pub org_number: Option<String>,
    /// New organisation name ("" clears it).
    #[arg(long)]
    pub org_name: Option<String>,
    /// Stop the member from logging in; ends sessions and revokes tokens.
    #[arg(long, conflicts_with = "enable")]
    pub disable: bool,
    /// Let a disabled member log in again.
    #[arg(long)]
    pub enable: bool,
}

fn shown(m: &Member) -> anyhow::Result<serde_json::Value> {
    Ok(serde_json::to_value(MemberView::from(m))?)
}

fn describe(m: &Member) -> String {
    format!(
        "{} {} ({}){}",
        m.id,
        m.email,
        m.status.as_str(),
        m.name.as_deref().map(|n| format!(" {n}")).unwrap_or_default()
    )
}

pub async fn run(cmd: UserCommand, s: &Services, settings: &Settings, json: bool) -> anyhow::Result<()> {
    let p = &s.provider;
    let cli = Actor::cli();
    match cmd {
        UserCommand::Add(a) => {
            let password = if a.password_stdin {
                let mut buf = String::new();
                std::io::stdin()
                    .read_to_string(&mut buf)
                    .context("reading the password from standard input")?;
                Some(buf.trim_end_matches(['\r', '\n']).to_owned())
            } else {
                None
            };
            let new = NewMember {
                email: a.email,
                name: a.name,
                org_number: a.org_number,
                org_name: a.org_name,
                password,
            };
            let m = p.create_member(new, settings.passwords.min_length, &cli).await?;
            print(
                json,
                shown(&m)?,
                &format!("member {} registered ({})", m.email, m.status.as_str()),
            );
            Ok(())
        }
        UserCommand::Import(i) => import(s, &i, json).await,
        UserCommand::Invite(i) => invite(s, i, settings, json).await,
        UserCommand::Show(b) => {
            let m = p.member_by_email(&b.email).await?;
            print(json, shown(&m)?, &describe(&m));
            Ok(())
        }
        UserCommand::Change(c) => {
            let m = p.member_by_email(&c.email).await?;
            let clear = |v: Option<String>| v.map(|s| Some(s).filter(|s| !s.is_empty()));
            let changes = MemberChanges {
                name: clear(c.name),
                org_number: clear(c.org_number),
                org_name: clear(c.org_name),
                disabled: match (c.disable, c.enable) {
                    (true, _) => Some(true),
                    (_, true) => Some(false),
                    _ => None,
                },
            };
            let m = p.change_member(&m.id, changes, &cli).await?;
            print(json, shown(&m)?, &format!("changed: {}", describe(&m)));
            Ok(())
        }
        UserCommand::Remove(b) => {
            let m = p.member_by_email(&b.email).await?;
            p.remove_member(&m.id, &cli).await?;
            print(
                json,
                json!({"removed": m.id, "email": m.email}),
                &format!(
                    "removed {}; their sessions ended and their tokens were revoked",
                    m.email
                ),
            );
            Ok(())
        }
    }
}

fn bar(len: u64, template: &str, json: bool) -> ProgressBar {
    // Scripts (--json) and pipes get no bar; indicatif hides it off a terminal too.
    if json {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(template) {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.enable_steady_tick(Duration::from_millis(200));
    pb
}

async fn import(s: &Services, i: &UserImport, json: bool) -> anyhow::Result<()> {
    let file = tokio::fs::File::open(&i.file)
        .await
        .with_context(|| format!("cannot open {}", i.file.display()))?;
    let size = file.metadata().await.map(|m| m.len()).unwrap_or(0);
    let pb = bar(
        size,
        "{spinner} importing [{bar:40}] {bytes}/{total_bytes} ({eta} left)",
        json,
    );
    let report = s.provider.import_csv(pb.wrap_async_read(file), &Actor::cli()).await;
    pb.finish_and_clear();
    let report = report?;
    let rejected = report.rejected_count();
    let mut text = format!(
        "{} created, {} already registered, {rejected} rejected",
        report.created, report.existing
    );
    for r in &report.rejected {
        text.push_str(&format!("\n  line {}: {}", r.line, r.reason));
    }
    if report.rejected_unlisted > 0 {
        text.push_str(&format!("\n  … and {} more", report.rejected_unlisted));
    }
    print(json, serde_json::to_value(&report)?, &text);
    if rejected > 0 {
        return Err(Partial(format!("{rejected} row(s) rejected")).into());
    }
    Ok(())
}

/// `--all-pending --resend` skips members invited within this many seconds.
const RESEND_AFTER: i64 = 3600;

/// One member, or every pending member not yet invited, paced to
/// `mail.invitations_per_second`. Each member's `invited_at` is set as their
/// mail goes out, so a stopped run resumes where it ended and nobody is
/// invited twice by accident.
async fn invite(s: &Services, i: UserInvite, settings: &Settings, json: bool) -> anyhow::Result<()> {
    let p = &s.provider;
    let cli = Actor::cli();
    if let Some(e) = &i.who.email {
        let m = p.member_by_email(e).await?;
        let m = p.invite_member(&m, i.resend, &cli).await?;
        print(json, shown(&m)?, &format!("invitation sent to {}", m.email));
        return Ok(());
    }
    let per_second = settings.mail.invitations_per_second.max(1);
    let mut pace = tokio::time::interval(Duration::from_secs(1) / per_second);
    pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let invited_before = i.resend.then(|| p.clock.now() - RESEND_AFTER);
    let total = p.count_members_to_invite(invited_before).await?;
    let pb = bar(
        total,
        "{spinner} inviting [{bar:40}] {pos}/{len} ({eta} left) {msg}",
        json,
    );
    let (mut sent, mut failed) = (0u64, Vec::new());
    let mut after: Option<String> = None;
    loop {
        let page = p.members_to_invite(after.as_deref(), 500, invited_before).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id.clone());
        for m in &page {
            pace.tick().await;
            match p.invite_member(m, i.resend, &cli).await {
                Ok(_) => {
                    sent += 1;
                    pb.inc(1);
                }
                Err(err) => {
                    pb.set_message(format!("({} failed)", failed.len() + 1));
                    failed.push(json!({"email": m.email, "reason": err.to_string()}));
                }
            }
        }
    }
    pb.finish_and_clear();
    let mut text = format!("{sent} invitation(s) sent");
    for f in &failed {
        text.push_str(&format!(
            "\n  not sent to {}: {}",
            f["email"].as_str().unwrap_or_default(),
            f["reason"].as_str().unwrap_or_default()
        ));
    }
    print(json, json!({"invited": sent, "failed": failed}), &text);
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Partial(format!(
            "{} invitation(s) not sent; run the command again to retry them",
            failed.len()
        ))
        .into())
    }
}
