//! The member registry: registering, finding, changing and removing members,
//! with the rules the CLI and the admin API share.

use crate::account::email::Email;
use crate::account::member::{Member, MemberStatus, MemberWrite};
use crate::account::org_number::parse_org_number;
use crate::account::password_policy::check_new_password;
use crate::audit::{Actor, AuditEvent};
use crate::error::CoreError;
use crate::provider::Provider;

/// An admin's change to a member: `None` leaves a field as it is,
/// `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct MemberChanges {
    pub name: Option<Option<String>>,
    pub org_number: Option<Option<String>>,
    pub org_name: Option<Option<String>>,
    pub disabled: Option<bool>,
}

/// What registering a member asks for.
#[derive(Debug, Clone, Default)]
pub struct NewMember {
    pub email: String,
    pub name: Option<String>,
    pub org_number: Option<String>,
    pub org_name: Option<String>,
    /// For development and tests: an active member with this password.
    pub password: Option<String>,
}

fn clean(v: Option<String>, max: usize, what: &str) -> Result<Option<String>, CoreError> {
    match v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()) {
        Some(s) if s.chars().count() > max => Err(CoreError::Invalid(format!("{what}: longer than {max} characters"))),
        Some(s) if s.chars().any(char::is_control) => {
            Err(CoreError::Invalid(format!("{what}: has control characters")))
        }
        other => Ok(other),
    }
}

impl Provider {
    /// A new pending member from untrusted input; errors name the field.
    pub fn member_from(&self, new: NewMember) -> Result<Member, CoreError> {
        let email = Email::parse(&new.email).map_err(|e| CoreError::Invalid(format!("email: {e}")))?;
        let mut member = Member::new(email, clean(new.name, 200, "name")?, self.clock.now());
        member.org_number = clean(new.org_number, 20, "org_number")?
            .map(|n| parse_org_number(&n))
            .transpose()
            .map_err(CoreError::Invalid)?;
        member.org_name = clean(new.org_name, 200, "org_name")?;
        Ok(member)
    }

    pub async fn create_member(
        &self,
        mut new: NewMember,
        min_password: usize,
        actor: &Actor,
    ) -> Result<Member, CoreError> {
        let password = new.password.take();
        let mut member = self.member_from(new)?;
        if let Some(pw) = password {
            let context = [member.email.as_str(), member.name.as_deref().unwrap_or_default()];
            check_new_password(&pw, &pw, min_password, &context)
                .map_err(|p| CoreError::Invalid(p.describe().into()))?;
            member.password_hash = Some(self.passwords.hash(pw).await?);
            member.status = MemberStatus::Active;
        }
        self.members
            .insert_member(&member)
            .await
            .map_err(CoreError::from_insert)?;
        self.record(AuditEvent::by("member.created", actor, self.clock.now()).member(&member.id))
            .await;
        Ok(member)
    }

    /// The member with this e-mail (any spelling of its case).
    pub async fn member_by_email(&self, raw: &str) -> Result<Member, CoreError> {
        let email = Email::parse(raw).map_err(CoreError::Invalid)?;
        self.members
            .find_member_by_email(email.as_str())
            .await?
            .ok_or(CoreError::NotFound)
    }

    /// Applies an admin's changes. Disabling ends the member's sessions and
    /// revokes their tokens at once; enabling restores the status the
    /// password allows (active with one, pending without).
    pub async fn change_member(&self, id: &str, changes: MemberChanges, actor: &Actor) -> Result<Member, CoreError> {
        if self.members.find_member(id).await?.is_none() {
            return Err(CoreError::NotFound);
        }
        // Checked in full before anything is written.
        let name = changes.name.map(|n| clean(n, 200, "name")).transpose()?;
        let org_number = changes
            .org_number
            .map(|o| {
                clean(o, 20, "org_number")?
                    .map(|n| parse_org_number(&n))
                    .transpose()
                    .map_err(CoreError::Invalid)
            })
            .transpose()?;
        let org_name = changes.org_name.map(|n| clean(n, 200, "org_name")).transpose()?;
        let now = self.clock.now();
        if name.is_some() || org_number.is_some() || org_name.is_some() {
            let write = MemberWrite::Profile {
                name,
                org_number,
                org_name,
            };
            self.members.write_member(id, &write, now).await?;
        }
        let disabling = match changes.disabled {
            Some(true) => self.members.write_member(id, &MemberWrite::Disable, now).await?,
            Some(false) => {
                self.members.write_member(id, &MemberWrite::Enable, now).await?;
                false
            }
            None => false,
        };
        if disabling {
            self.end_member_sessions(id).await?;
        }
        let member = self.members.find_member(id).await?.ok_or(CoreError::NotFound)?;
        let kind = if disabling { "member.disabled" } else { "member.changed" };
        self.record(AuditEvent::by(kind, actor, self.clock.now()).member(&member.id))
            .await;
        Ok(member)
    }

    /// Removes a member; their sessions end and their tokens are revoked first.
    pub async fn remove_member(&self, id: &str, actor: &Actor) -> Result<(), CoreError> {
        if self.members.find_member(id).await?.is_none() {
            return Err(CoreError::NotFound);
        }
        self.end_member_sessions(id).await?;
        self.members.delete_member(id).await?;
        self.record(AuditEvent::by("member.deleted", actor, self.clock.now()).member(id))
            .await;
        Ok(())
    }
}
