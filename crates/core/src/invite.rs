//! The invitation mail: a link to the company portal that starts a login
//! with the e-mail filled in (OIDC Core §4, third-party initiated login:
//! `iss` and `login_hint`), or, without a portal, to the activation page.

use crate::error::CoreError;
use crate::locale::Locale;
use crate::mail::{MailKind, MailMessage};
use crate::member::{Member, MemberStatus};
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
            Some(portal) => crate::authorize::redirect_with(
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

    /// Sends the invitation to the member with `email` now, with retries.
    pub async fn invite(&self, email: &str) -> Result<Member, CoreError> {
        let email = crate::email::Email::parse(email).map_err(CoreError::Invalid)?;
        let member = self
            .members
            .find_member_by_email(email.as_str())
            .await?
            .ok_or(CoreError::NotFound)?;
        if member.status == MemberStatus::Disabled {
            return Err(CoreError::Invalid("the member is disabled".into()));
        }
        let mail = MailMessage {
            to: member.email.to_string(),
            name: member.name.clone(),
            locale: Locale::Nb,
            kind: MailKind::Invitation {
                link: self.invitation_link(&member).await?,
            },
        };
        self.mail
            .send_now(&mail)
            .await
            .map_err(|e| CoreError::Internal(format!("the invitation could not be sent: {e}")))?;
        self.audit_member("member.invited", &member.id, None, None).await;
        Ok(member)
    }

    /// Pending members in id order, a page at a time.
    pub async fn pending_members(&self, after: Option<&str>, limit: u64) -> Result<Vec<Member>, CoreError> {
        Ok(self
            .members
            .list_members_by_status(MemberStatus::Pending, after, limit)
            .await?)
    }
}
