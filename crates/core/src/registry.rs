//! Registering members and clients: the rules shared by the CLI and the admin API.

use crate::client::{AuthMethod, Client, GrantType, NewClient, validate_redirect_uri};
use crate::email::Email;
use crate::error::CoreError;
use crate::member::{Member, MemberStatus};
use crate::org_number::parse_org_number;
use crate::password_policy::check_new_password;
use crate::provider::Provider;
use crate::secret::{hash_token, random_token};

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
        Some(s) if s.chars().count() > max => Err(CoreError::Invalid(format!("{what} is too long"))),
        Some(s) if s.chars().any(char::is_control) => Err(CoreError::Invalid(format!("{what} has control characters"))),
        other => Ok(other),
    }
}

impl Provider {
    pub async fn create_member(&self, new: NewMember, min_password: usize, actor: &str) -> Result<Member, CoreError> {
        let email = Email::parse(&new.email).map_err(CoreError::Invalid)?;
        let mut member = Member::new(email, clean(new.name, 200, "name")?, self.clock.now());
        member.org_number = clean(new.org_number, 20, "org_number")?
            .map(|n| parse_org_number(&n))
            .transpose()
            .map_err(CoreError::Invalid)?;
        member.org_name = clean(new.org_name, 200, "org_name")?;
        if let Some(pw) = new.password {
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
        self.record(crate::audit::AuditEvent::new("member.created", actor.into(), self.clock.now()).member(&member.id))
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
    pub async fn change_member(&self, id: &str, changes: MemberChanges, actor: &str) -> Result<Member, CoreError> {
        let mut member = self.members.find_member(id).await?.ok_or(CoreError::NotFound)?;
        if let Some(name) = changes.name {
            member.name = clean(name, 200, "name")?;
        }
        if let Some(org) = changes.org_number {
            member.org_number = clean(org, 20, "org_number")?
                .map(|n| parse_org_number(&n))
                .transpose()
                .map_err(CoreError::Invalid)?;
        }
        if let Some(org_name) = changes.org_name {
            member.org_name = clean(org_name, 200, "org_name")?;
        }
        let disabling = changes.disabled == Some(true) && member.status != MemberStatus::Disabled;
        match changes.disabled {
            Some(true) => member.status = MemberStatus::Disabled,
            Some(false) if member.status == MemberStatus::Disabled => {
                member.status = if member.password_hash.is_some() {
                    MemberStatus::Active
                } else {
                    MemberStatus::Pending
                };
            }
            _ => {}
        }
        member.updated_at = self.clock.now();
        self.members.update_member(&member).await?;
        if disabling {
            self.end_member_sessions(&member.id).await?;
        }
        let kind = if disabling { "member.disabled" } else { "member.changed" };
        self.record(crate::audit::AuditEvent::new(kind, actor.into(), self.clock.now()).member(&member.id))
            .await;
        Ok(member)
    }

    /// Removes a member; their sessions end and their tokens are revoked first.
    pub async fn remove_member(&self, id: &str, actor: &str) -> Result<(), CoreError> {
        if self.members.find_member(id).await?.is_none() {
            return Err(CoreError::NotFound);
        }
        self.end_member_sessions(id).await?;
        self.members.delete_member(id).await?;
        self.record(crate::audit::AuditEvent::new("member.deleted", actor.into(), self.clock.now()).member(id))
            .await;
        Ok(())
    }

    /// Registers a client; returns it with its secret (shown once; only the hash is kept).
    pub async fn create_client(&self, new: NewClient, actor: &str) -> Result<(Client, Option<String>), CoreError> {
        let name = new.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(CoreError::Invalid("client name must be 1 to 200 characters".into()));
        }
        if new.redirect_uris.is_empty() && new.grant_types.contains(&GrantType::AuthorizationCode) {
            return Err(CoreError::Invalid("redirect_uris: at least one is required".into()));
        }
        for uri in new.redirect_uris.iter().chain(&new.post_logout_redirect_uris) {
            validate_redirect_uri(uri).map_err(|e| CoreError::Invalid(format!("redirect URI: {e}")))?;
        }
        if let Some(u) = &new.initiate_login_uri {
            validate_redirect_uri(u).map_err(|e| CoreError::Invalid(format!("initiate_login_uri: {e}")))?;
        }
        if new.auth_method == AuthMethod::None && new.grant_types.contains(&GrantType::ClientCredentials) {
            return Err(CoreError::Invalid(
                "a public client cannot use client_credentials".into(),
            ));
        }
        let secret = (new.auth_method != AuthMethod::None).then(|| random_token(32));
        let client = Client {
            id: random_token(16),
            secret_hash: secret.as_deref().map(hash_token),
            name: name.to_owned(),
            redirect_uris: new.redirect_uris,
            post_logout_redirect_uris: new.post_logout_redirect_uris,
            grant_types: new.grant_types,
            auth_method: new.auth_method,
            id_token_alg: new.id_token_alg,
            initiate_login_uri: new.initiate_login_uri,
            first_party: new.first_party,
            created_at: self.clock.now(),
        };
        self.clients.insert_client(&client).await?;
        self.record(crate::audit::AuditEvent::new("client.created", actor.into(), self.clock.now()).client(&client.id))
            .await;
        Ok((client, secret))
    }
}
