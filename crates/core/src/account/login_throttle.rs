//! Login throttling: after a few failures per account and per client
//! address, each further attempt must wait a delay that doubles up to a cap.
//! The account cap is short, so a stranger guessing cannot lock a member out
//! for long; the address cap is longer, so one guesser slows to a crawl.
//! Counted for every e-mail tried, registered or not.

use crate::account::throttle_rule::ThrottleRule;
use crate::error::StoreError;
use crate::provider::Provider;
use crate::secret::hash_token;

fn account_key(email: &str) -> String {
    format!("throttle:acct:{}", hash_token(&email.trim().to_lowercase()))
}

fn address_key(ip: &str) -> String {
    format!("throttle:ip:{ip}")
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
