//! Password login: a generic failure for a wrong e-mail or password, the same
//! work either way, and a password that stops working after too many failures.

use crate::account::email::Email;
use crate::account::member::{Member, MemberWrite};
use crate::account::password_policy::MAX_PASSWORD_CHARS;
use crate::audit::AuditEvent;
use crate::error::CoreError;
use crate::ports::telemetry::Counted;
use crate::provider::Provider;
use crate::secret::random_token;

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
        let mut member = match member {
            Some(m) if verdict.ok => m,
            other => {
                self.record_failed_login(email, other.as_ref(), ip).await?;
                return Ok(LoginOutcome::Failed);
            }
        };
        self.clear_login_throttle(email).await?;
        if member.failed_logins > 0 {
            self.members.reset_failed_logins(&member.id).await?;
            member.failed_logins = 0;
        }
        if verdict.needs_rehash
            && let Some(old) = member.password_hash.clone()
        {
            let new = self.passwords.hash(password).await?;
            // Only over the hash just verified: a reset meanwhile wins.
            let write = MemberWrite::Rehash { old, new: new.clone() };
            if self.members.write_member(&member.id, &write, self.clock.now()).await? {
                member.password_hash = Some(new);
                tracing::info!(member_id = %member.id, "login.rehashed");
            }
        }
        tracing::info!(member_id = %member.id, "login.succeeded");
        self.telemetry.count(Counted::Login { ok: true });
        self.audit_member("login.succeeded", &member.id, None, ip).await;
        Ok(LoginOutcome::Success(member))
    }

    /// A failure does the same work whether or not the e-mail is a member's
    /// (docs/SECURITY-RULES.md 3.1): the throttle counts, the failure count
    /// (for an unknown e-mail the same statement on an id nobody has) and
    /// an audit event.
    async fn record_failed_login(
        &self,
        email: &str,
        member: Option<&Member>,
        ip: Option<String>,
    ) -> Result<(), CoreError> {
        self.telemetry.count(Counted::Login { ok: false });
        self.record_login_failure(email, ip.as_deref()).await?;
        let nobody = random_token(16);
        let id = member.map_or(nobody.as_str(), |m| m.id.as_str());
        let failures = self.members.increment_failed_logins(id).await?;
        match member {
            Some(m) => {
                tracing::info!(member_id = %m.id, failures, "login.failed");
                self.audit_member("login.failed", &m.id, None, ip).await;
            }
            None => {
                tracing::info!("login.failed");
                let event = AuditEvent::new("login.failed", "anonymous".into(), self.clock.now())
                    .ip(ip)
                    .detail("unknown e-mail");
                self.record(event).await;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{PASSWORD, TestProvider};

    fn failed(o: LoginOutcome) -> bool {
        matches!(o, LoginOutcome::Failed)
    }

    #[tokio::test]
    async fn a_wrong_password_and_an_unknown_e_mail_fail_alike() {
        let t = TestProvider::new();
        t.member("kari@hk.no").await;
        assert!(failed(
            t.login("kari@hk.no", "feil passord".into(), None).await.unwrap()
        ));
        assert!(failed(t.login("ukjent@hk.no", PASSWORD.into(), None).await.unwrap()));
        assert!(matches!(
            t.login(" Kari@HK.no ", PASSWORD.into(), None).await.unwrap(),
            LoginOutcome::Success(_)
        ));
    }

    #[tokio::test]
    async fn a_wrong_password_and_an_unknown_e_mail_write_alike() {
        let t = TestProvider::new();
        t.member("kari@hk.no").await;
        let before = t.db.event_kinds().len();
        t.login("kari@hk.no", "feil passord".into(), Some("192.0.2.1".into()))
            .await
            .unwrap();
        t.login("ukjent@hk.no", "feil passord".into(), Some("192.0.2.1".into()))
            .await
            .unwrap();
        assert_eq!(t.db.event_kinds()[before..], ["login.failed", "login.failed"]);
        let events = t.db.events.lock().unwrap();
        let unknown = events.last().unwrap();
        assert_eq!(
            (unknown.member_id.as_deref(), unknown.ip.as_deref()),
            (None, Some("192.0.2.1"))
        );
    }

    #[tokio::test]
    async fn the_password_stops_working_after_the_failure_limit() {
        let t = TestProvider::with(|s| {
            s.passwords.max_failed_logins = 3;
            s.login.account_free_failures = 100;
        });
        let m = t.member("kari@hk.no").await;
        for _ in 0..3 {
            t.login("kari@hk.no", "feil passord".into(), None).await.unwrap();
        }
        assert!(
            failed(t.login("kari@hk.no", PASSWORD.into(), None).await.unwrap()),
            "even the right one"
        );
        assert_eq!(t.members.find_member(&m.id).await.unwrap().unwrap().failed_logins, 4);
    }

    #[tokio::test]
    async fn a_throttled_login_is_not_checked_at_all() {
        let t = TestProvider::with(|s| s.login.account_free_failures = 1);
        t.member("kari@hk.no").await;
        for _ in 0..2 {
            t.login("kari@hk.no", "feil passord".into(), None).await.unwrap();
        }
        let m = t.members.find_member_by_email("kari@hk.no").await.unwrap().unwrap();
        assert!(matches!(
            t.login("kari@hk.no", "feil passord".into(), None).await.unwrap(),
            LoginOutcome::Throttled { wait: 1 }
        ));
        let after = t.members.find_member(&m.id).await.unwrap().unwrap();
        assert_eq!(
            after.failed_logins, m.failed_logins,
            "a throttled attempt is not even tried"
        );
        t.clock.advance(1);
        assert!(matches!(
            t.login("kari@hk.no", PASSWORD.into(), None).await.unwrap(),
            LoginOutcome::Success(_)
        ));
    }

    #[tokio::test]
    async fn a_password_over_the_limit_never_logs_in() {
        let t = TestProvider::new();
        let m = t.member("kari@hk.no").await;
        // Stored as if it had been set before the limit: even the right one is refused.
        let long = "lang hest ".repeat(MAX_PASSWORD_CHARS / 10 + 1);
        let write = MemberWrite::Rehash {
            old: m.password_hash.clone().unwrap(),
            new: t.passwords.hash(long.clone()).await.unwrap(),
        };
        assert!(t.members.write_member(&m.id, &write, 1).await.unwrap());
        assert!(failed(t.login("kari@hk.no", long, None).await.unwrap()));
    }
}
