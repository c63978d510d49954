//! The invitation mail: a link to the company portal that starts a login
//! with the e-mail filled in (OIDC Core §4, third-party initiated login:
//! `iss` and `login_hint`), or, without a portal, to the activation page.

use crate::account::member::{Member, MemberStatus};
use crate::audit::{Actor, AuditEvent};
use crate::error::CoreError;
use crate::locale::Locale;
use crate::ports::mailer::{MailKind, MailMessage};
use crate::provider::Provider;

impl Provider {
    /// Where the invitation sends `member`.
    pub async fn invitation_link(&self, member: &Member) -> Result<String, CoreError> {
        let email = member.email.as_str();
        let link = match self
            .clients
            .find_portal_client()
            .await?
            .and_then(|c| c.initiate_login_uri)
        {
            Some(portal) => crate::oauth::authorize::redirect_with(
                &portal,
                &[("iss", self.settings.issuer.as_str()), ("login_hint", email)],
            ),
            None => {
                let mut url = url::Url::parse(&format!("{}/activate", self.settings.issuer))
                    .map_err(|e| CoreError::Internal(format!("issuer: {e}")))?;
                url.query_pairs_mut().append_pair("email", email);
                url.into()
            }
        };
        Ok(link)
    }

    /// Sends the invitation to `member` now, with retries, and notes when.
    /// A member already invited is invited again only with `resend`.
    pub async fn invite_member(&self, member: &Member, resend: bool, actor: &Actor) -> Result<Member, CoreError> {
        if member.status == MemberStatus::Disabled {
            return Err(CoreError::Invalid("the member is disabled".into()));
        }
        if member.invited_at.is_some() && !resend {
            return Err(CoreError::Conflict(
                "the member was invited before; ask for a resend to invite again".into(),
            ));
        }
        let mail = MailMessage {
            to: member.email.to_string(),
            name: member.name.clone(),
            locale: Locale::Nb,
            kind: MailKind::Invitation {
                link: self.invitation_link(member).await?,
            },
        };
        self.mail
            .send_now(&mail)
            .await
            .map_err(|e| CoreError::Unavailable(format!("the invitation could not be sent: {e}")))?;
        let now = self.clock.now();
        self.members.mark_invited(&member.id, now).await?;
        let kind = if member.invited_at.is_some() {
            "member.reinvited"
        } else {
            "member.invited"
        };
        self.record(AuditEvent::by(kind, actor, now).member(&member.id)).await;
        Ok(Member {
            invited_at: Some(now),
            ..member.clone()
        })
    }

    /// Members still pending and never invited (or, with `invited_before`,
    /// not invited since), in id order, a page at a time.
    pub async fn members_to_invite(
        &self,
        after: Option<&str>,
        limit: u64,
        invited_before: Option<i64>,
    ) -> Result<Vec<Member>, CoreError> {
        Ok(self
            .members
            .list_members_to_invite(after, limit, invited_before)
            .await?)
    }

    pub async fn count_members_to_invite(&self, invited_before: Option<i64>) -> Result<u64, CoreError> {
        Ok(self.members.count_members_to_invite(invited_before).await?)
    }

    pub async fn find_member(&self, id: &str) -> Result<Member, CoreError> {
        self.members.find_member(id).await?.ok_or(CoreError::NotFound)
    }
}
