//! Login throttling: after a few failures per account and per client
//! address, each further attempt must wait a delay that doubles up to a cap.
//! The account cap is short, so a stranger guessing cannot lock a member out
//! for long; the address cap is longer, so one guesser slows to a crawl.
//! Counted for every e-mail tried, registered or not.

use crate::account::email::Email;
use crate::account::throttle_rule::ThrottleRule;
use crate::client_address::limit_group;
use crate::error::StoreError;
use crate::provider::Provider;
use crate::secret::hash_token;

/// Keyed on the address as the member look-up normalises it (IDNA, case),
/// so another spelling of one address is not a fresh count.
fn account_key(email: &str) -> String {
    let normal = match Email::parse(email) {
        Ok(e) => e.as_str().to_owned(),
        Err(_) => email.trim().to_lowercase(),
    };
    format!("throttle:acct:{}", hash_token(&normal))
}

fn address_key(ip: &str) -> String {
    format!("throttle:ip:{}", limit_group(Some(ip)))
}

impl Provider {
    /// Seconds (rounded up) the caller must still wait before another attempt; 0 if none.
    pub async fn login_wait(&self, email: &str, ip: Option<&str>) -> Result<i64, StoreError> {
        let now = self.clock.now_millis();
        let mut until = self.blocked_until(&account_key(email)).await?;
        if let Some(ip) = ip {
            until = until.max(self.blocked_until(&address_key(ip)).await?);
        }
        Ok(((until - now).max(0) + 999) / 1000)
    }

    /// Milliseconds since the epoch until which attempts wait.
    async fn blocked_until(&self, key: &str) -> Result<i64, StoreError> {
        Ok(self.kv.get_json::<i64>(&format!("{key}:until")).await?.unwrap_or(0))
    }

    /// Counts a failed attempt against the account and the address.
    pub async fn record_login_failure(&self, email: &str, ip: Option<&str>) -> Result<(), StoreError> {
        let s = &self.settings;
        self.count_failure(&account_key(email), s.login.account_throttle())
            .await?;
        if let Some(ip) = ip {
            self.count_failure(&address_key(ip), s.login.address_throttle()).await?;
        }
        Ok(())
    }

    async fn count_failure(&self, key: &str, rule: ThrottleRule) -> Result<(), StoreError> {
        let failures = self.kv.incr(&format!("{key}:failures"), rule.window).await?;
        let delay = rule.delay_after(failures);
        if delay > 0 {
            let until = self.clock.now_millis() + delay * 1000;
            self.kv.put_json(&format!("{key}:until"), &until, delay).await?;
            tracing::info!(failures, delay, "login.throttled");
        }
        Ok(())
    }

    /// After a successful login or a new password the account starts afresh
    /// (the address keeps its count: one success does not clear a guesser).
    pub async fn clear_login_throttle(&self, email: &str) -> Result<(), StoreError> {
        let key = account_key(email);
        self.kv.delete(&format!("{key}:failures")).await?;
        self.kv.delete(&format!("{key}:until")).await
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::TestProvider;

    #[tokio::test]
    async fn failures_past_the_free_ones_make_the_account_wait_and_the_wait_passes() {
        let t = TestProvider::new();
        let free = t.settings.login.account_free_failures;
        for _ in 0..free {
            t.record_login_failure("kari@hk.no", Some("192.0.2.1")).await.unwrap();
        }
        assert_eq!(t.login_wait("kari@hk.no", Some("192.0.2.7")).await.unwrap(), 0);
        t.record_login_failure("kari@hk.no", Some("192.0.2.1")).await.unwrap();
        assert_eq!(t.login_wait("kari@hk.no", Some("192.0.2.7")).await.unwrap(), 1);
        t.record_login_failure("kari@hk.no", Some("192.0.2.1")).await.unwrap();
        assert_eq!(t.login_wait("kari@hk.no", None).await.unwrap(), 2, "the delay doubles");
        t.clock.advance(2);
        assert_eq!(t.login_wait("kari@hk.no", None).await.unwrap(), 0, "and then passes");
        assert_eq!(
            t.login_wait("ola@hk.no", None).await.unwrap(),
            0,
            "other accounts are not slowed"
        );
    }

    #[tokio::test]
    async fn a_success_clears_the_account_but_not_the_address() {
        let t = TestProvider::with(|s| {
            s.login.account_free_failures = 2;
            s.login.address_free_failures = 1;
        });
        t.member("kari@hk.no").await;
        for _ in 0..2 {
            t.login("kari@hk.no", "feil passord".into(), Some("192.0.2.1".into()))
                .await
                .unwrap();
        }
        let ok = t
            .login("kari@hk.no", crate::testing::PASSWORD.into(), Some("192.0.2.2".into()))
            .await;
        assert!(matches!(ok.unwrap(), crate::account::login::LoginOutcome::Success(_)));
        // Counted afresh: one more failure is a free one again.
        t.record_login_failure("kari@hk.no", Some("192.0.2.2")).await.unwrap();
        assert_eq!(t.login_wait("kari@hk.no", Some("192.0.2.2")).await.unwrap(), 0);
        assert!(
            t.login_wait("kari@hk.no", Some("192.0.2.1")).await.unwrap() > 0,
            "the guessing address keeps its count"
        );
    }

    #[tokio::test]
    async fn spellings_of_one_address_share_one_account_throttle() {
        let t = TestProvider::new();
        t.member("kari@hk.no").await;
        let spellings = [
            "kari@h\u{AD}k.no",
            "kari@\u{FF48}\u{FF4B}.no",
            " KARI@HK.NO",
            "kari@hk.no",
        ];
        let free = t.settings.login.account_free_failures as usize;
        for n in 0..=free {
            let ip = format!("192.0.2.{n}");
            t.login(spellings[n % spellings.len()], "feil passord".into(), Some(ip))
                .await
                .unwrap();
        }
        for s in spellings {
            assert!(
                t.login_wait(s, Some("198.51.100.1")).await.unwrap() > 0,
                "{s:?} waits too"
            );
        }
    }

    #[tokio::test]
    async fn the_account_delay_is_capped_so_a_stranger_cannot_lock_a_member_out() {
        let t = TestProvider::new();
        for _ in 0..200 {
            t.record_login_failure("kari@hk.no", Some("192.0.2.1")).await.unwrap();
        }
        let cap = t.settings.login.account_max_delay;
        assert_eq!(t.login_wait("kari@hk.no", Some("192.0.2.9")).await.unwrap(), cap);
    }
}
