//! Login throttling: after a few failures per account and per client
//! address, each further attempt must wait a delay that doubles up to a cap.
//! The account cap is short, so a stranger guessing cannot lock a member out
//! for long; the address cap is longer, so one guesser slows to a crawl.
//! Counted for every e-mail tried, registered or not.

use crate::error::StoreError;
use crate::provider::Provider;
use crate::secret::hash_token;

/// One throttle: failures allowed free within the window, then a doubling delay.
#[derive(Debug, Clone, Copy)]
pub struct ThrottleRule {
    pub free_failures: u64,
    pub max_delay: i64,
    pub window: i64,
}

impl ThrottleRule {
    /// Seconds to wait after the `failures`-th failure.
    pub fn delay_after(&self, failures: u64) -> i64 {
        if failures <= self.free_failures {
            return 0;
        }
        let step = (failures - self.free_failures - 1).min(30) as u32;
        2i64.saturating_pow(step).min(self.max_delay)
    }
}

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
        self.count_failure(&account_key(email), s.account_throttle).await?;
        if let Some(ip) = ip {
            self.count_failure(&address_key(ip), s.address_throttle).await?;
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
    use super::ThrottleRule;

    #[test]
    fn delays_double_after_the_free_failures_up_to_the_cap() {
        let r = ThrottleRule {
            free_failures: 5,
            max_delay: 60,
            window: 900,
        };
        let delays: Vec<i64> = (1..=13).map(|f| r.delay_after(f)).collect();
        assert_eq!(delays, [0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(r.delay_after(u64::MAX), 60);
    }
}
