//! Registering members and clients: the rules shared by the CLI and the admin API.

use crate::client::{AuthMethod, Client, GrantType, NewClient, validate_redirect_uri};
use crate::email::Email;
use crate::error::CoreError;
use crate::member::{Member, MemberStatus};
use crate::password_policy::check_new_password;
use crate::provider::Provider;
use crate::secret::{hash_token, random_token};

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
    pub async fn create_member(&self, new: NewMember, min_password: usize) -> Result<Member, CoreError> {
        let email = Email::parse(&new.email).map_err(CoreError::Invalid)?;
        let mut member = Member::new(email, clean(new.name, 200, "name")?, self.clock.now());
        member.org_number = clean(new.org_number, 9, "org_number")?;
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
        self.record(crate::audit::AuditEvent::new("member.created", "cli".into(), self.clock.now()).member(&member.id))
            .await;
        Ok(member)
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
