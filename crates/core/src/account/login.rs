//! Password login: a generic failure for a wrong e-mail or password, the same
//! work either way, and a password that stops working after too many failures.

use crate::account::email::Email;
use crate::account::member::Member;
use crate::account::password_policy::MAX_PASSWORD_CHARS;
use crate::error::CoreError;
use crate::provider::Provider;

/// How a login attempt ended.
#[derive(Debug)]
pub enum LoginOutcome {
    Success(Member),
    /// Wrong e-mail or password, whichever it was.
    Failed,
    /// Too many recent failures: try again after this many seconds.
    Throttled {
        wait: i64,
    },
}

impl Provider {
    /// Checks e-mail and password; one generic failure whatever its cause.
    pub async fn login(&self, email: &str, password: String, ip: Option<String>) -> Result<LoginOutcome, CoreError> {
        let wait = self.login_wait(email, ip.as_deref()).await?;
        if wait > 0 {
            return Ok(LoginOutcome::Throttled { wait });
        }
        let member = match Email::parse(email) {
            Ok(e) => self.members.find_member_by_email(e.as_str()).await?,
            Err(_) => None,
        };
        let usable_hash = member
            .as_ref()
            .filter(|m| m.is_active() && m.failed_logins < self.settings.passwords.max_failed_logins)
            .and_then(|m| m.password_hash.clone());
        let too_long = password.chars().count() > MAX_PASSWORD_CHARS;
        let candidate = if too_long { None } else { usable_hash };
        let verdict = self.passwords.verify(password.clone(), candidate).await?;
        if !verdict.ok || member.is_none() {
            self.record_login_failure(email, ip.as_deref()).await?;
        }
        let Some(mut member) = member else {
            tracing::info!("login.failed");
            return Ok(LoginOutcome::Failed);
        };
        if !verdict.ok {
            let failures = self.members.increment_failed_logins(&member.id).await?;
            tracing::info!(member_id = %member.id, failures, "login.failed");
            self.audit_member("login.failed", &member.id, None, ip).await;
            return Ok(LoginOutcome::Failed);
        }
        self.clear_login_throttle(email).await?;
        if member.failed_logins > 0 {
            self.members.reset_failed_logins(&member.id).await?;
            member.failed_logins = 0;
        }
        if verdict.needs_rehash {
            member.password_hash = Some(self.passwords.hash(password).await?);
            member.updated_at = self.clock.now();
            self.members.update_member(&member).await?;
            tracing::info!(member_id = %member.id, "login.rehashed");
        }
        tracing::info!(member_id = %member.id, "login.succeeded");
        self.audit_member("login.succeeded", &member.id, None, ip).await;
        Ok(LoginOutcome::Success(member))
    }
}
