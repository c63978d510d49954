//! The limits on one-time codes, counted where the asking and the guessing
//! happen (docs/ABUSE-LIMITS.md): a stranger's requests and wrong guesses use
//! up their own quota, never the member's.
//!
//! - Asking: `otp.per_email` codes per e-mail from one address group,
//!   `otp.per_address` from one address group over all e-mails, and
//!   `otp.per_email_all_addresses` per e-mail in all (so a mailbox cannot be
//!   flooded from many addresses), each within `otp.rate_window`.
//! - Guessing: `otp.max_attempts` per code (a code belongs to the browser
//!   flow that asked for it), `otp.max_wrong_per_day` per e-mail from one
//!   address group, `otp.max_wrong_per_address_per_day` from one address
//!   group over all e-mails. Reaching a daily limit blocks that address
//!   group's tries, not the e-mail's.

use crate::error::StoreError;
use crate::provider::Provider;
use crate::secret::hash_token;

const DAY: i64 = 24 * 3600;

/// The counters of one e-mail asked for or guessed at from one address group.
pub(crate) struct OtpAsker<'a> {
    pub email: &'a str,
    pub group: &'a str,
}

impl OtpAsker<'_> {
    fn pair(&self, what: &str) -> String {
        format!("{what}:{}:{}", hash_token(self.email), self.group)
    }
    fn address(&self, what: &str) -> String {
        format!("{what}:ip:{}", self.group)
    }
}

impl Provider {
    /// Counts a code request; false if any of the three quotas is used up.
    /// Counted for every e-mail asked, registered or not, so refusing tells
    /// nothing. The e-mail's quota over all addresses counts only requests
    /// the asker's own quotas let through: a stranger asking on past their
    /// own quota must not use up the member's.
    pub(crate) async fn count_otp_request(&self, who: &OtpAsker<'_>) -> Result<bool, StoreError> {
        let s = &self.settings.otp;
        let pair = self.kv.incr(&who.pair("otprate"), s.rate_window).await?;
        let address = self.kv.incr(&who.address("otprate"), s.rate_window).await?;
        if pair > s.per_email || address > s.per_address {
            tracing::warn!(pair, address, "otp.rate_limited");
            return Ok(false);
        }
        let all = self
            .kv
            .incr(&format!("otprate:all:{}", hash_token(who.email)), s.rate_window)
            .await?;
        if all > s.per_email_all_addresses {
            tracing::warn!(pair, address, all, "otp.rate_limited");
            return Ok(false);
        }
        Ok(true)
    }

    /// True when this address group has used up a day's wrong tries, for this
    /// e-mail or over all e-mails.
    pub(crate) async fn otp_guesses_blocked(&self, who: &OtpAsker<'_>) -> Result<bool, StoreError> {
        let keys = [who.pair("otpblocked"), who.address("otpblocked")];
        Ok(self.kv.get_many_raw(&keys).await?.iter().any(Option::is_some))
    }

    /// Counts a wrong guess; true if it used up a daily limit.
    pub(crate) async fn count_wrong_otp(&self, who: &OtpAsker<'_>) -> Result<bool, StoreError> {
        let s = &self.settings.otp;
        let pair = self.kv.incr(&who.pair("otpwrong"), DAY).await?;
        let address = self.kv.incr(&who.address("otpwrong"), DAY).await?;
        let mut blocked = false;
        if pair >= s.max_wrong_per_day {
            self.kv.mark(&who.pair("otpblocked"), DAY).await?;
            blocked = true;
        }
        if address >= s.max_wrong_per_address_per_day {
            self.kv.mark(&who.address("otpblocked"), DAY).await?;
            blocked = true;
        }
        if blocked {
            tracing::warn!(pair, address, "otp.guesses_blocked");
        }
        Ok(blocked)
    }
}
