//! The settings the domain needs, one typed section per `config/default.toml`
//! table, each with its check. The binary deserialises these sections
//! directly from the layered configuration, so a new setting is three edits:
//! the TOML default, the field here (with its check), the README table.

use crate::account::password_hashing::Argon2Settings;
use crate::account::throttle_rule::ThrottleRule;
use crate::oauth::signing_key::SigningAlg;
use serde::Deserialize;

/// A value out of range; names the setting as `section.name`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("setting {setting}: {reason}")]
pub struct SettingError {
    pub setting: &'static str,
    pub reason: String,
}

fn refuse(setting: &'static str, reason: impl Into<String>) -> Result<(), SettingError> {
    Err(SettingError {
        setting,
        reason: reason.into(),
    })
}

/// Every `(name, value)` must be from 1 to 4294967295 (so sums with the
/// clock never overflow).
fn positive(values: &[(&'static str, i64)]) -> Result<(), SettingError> {
    match values.iter().find(|(_, v)| !(1..=i64::from(u32::MAX)).contains(v)) {
        Some((name, _)) => refuse(name, "must be between 1 and 4294967295"),
        None => Ok(()),
    }
}

/// A count as `positive` checks it.
fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// `[tokens]`: lifetimes in seconds and the access-token algorithm.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSettings {
    pub code_ttl: i64,
    pub access_token_ttl: i64,
    pub id_token_ttl: i64,
    pub refresh_token_ttl: i64,
    /// Seconds a spent refresh token still gets its successor again (a
    /// retried or concurrent refresh); 0: no grace.
    pub refresh_grace: i64,
    pub access_token_alg: SigningAlg,
    /// `aud` of access tokens issued without a `resource`; empty: the issuer.
    pub default_audience: String,
}

impl TokenSettings {
    pub fn check(&self) -> Result<(), SettingError> {
        // RFC 6749 §4.1.2: codes are short-lived; docs/SECURITY-RULES.md §5 caps them at 60 s.
        if !(1..=60).contains(&self.code_ttl) {
            return refuse("tokens.code_ttl", "must be between 1 and 60 seconds");
        }
        if !(0..=60).contains(&self.refresh_grace) {
            return refuse("tokens.refresh_grace", "must be between 0 and 60 seconds");
        }
        positive(&[
            ("tokens.access_token_ttl", self.access_token_ttl),
            ("tokens.id_token_ttl", self.id_token_ttl),
            ("tokens.refresh_token_ttl", self.refresh_token_ttl),
        ])
    }
}

/// `[session]`: the SSO session and the time a person may take to log in.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionSettings {
    pub ttl: i64,
    pub login_request_ttl: i64,
    /// Requests parked for the login page per address group within
    /// `login_request_ttl` (docs/ABUSE-LIMITS.md).
    pub parked_per_address: u64,
}

impl SessionSettings {
    pub fn check(&self) -> Result<(), SettingError> {
        positive(&[
            ("session.ttl", self.ttl),
            ("session.login_request_ttl", self.login_request_ttl),
            ("session.parked_per_address", count(self.parked_per_address)),
        ])
    }
}

/// `[passwords]`: argon2id parameters and the password rules.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordSettings {
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
    /// Hashes computed at once; more requests wait their turn.
    pub max_concurrent: usize,
    /// Shortest new password, in characters.
    pub min_length: usize,
    /// Consecutive failures after which a password stops working.
    pub max_failed_logins: i32,
}

impl PasswordSettings {
    pub fn check(&self) -> Result<(), SettingError> {
        // OWASP's floor, and what the hasher can run (memory ≥ 8 KiB per lane).
        if let Err(e) = self.argon2().params() {
            return refuse("passwords.argon2_*", e.to_string());
        }
        if !(8..=256).contains(&self.min_length) {
            return refuse("passwords.min_length", "must be between 8 and 256");
        }
        positive(&[
            (
                "passwords.max_concurrent",
                i64::try_from(self.max_concurrent).unwrap_or(i64::MAX),
            ),
            ("passwords.max_failed_logins", i64::from(self.max_failed_logins)),
        ])
    }
}

impl PasswordSettings {
    /// The hasher's parameters.
    pub fn argon2(&self) -> Argon2Settings {
        Argon2Settings {
            memory_kib: self.argon2_memory_kib,
            iterations: self.argon2_iterations,
            parallelism: self.argon2_parallelism,
            max_concurrent: self.max_concurrent,
        }
    }
}

/// `[otp]`: one-time codes for activation and forgotten passwords.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtpSettings {
    /// Seconds a code is valid.
    pub ttl: i64,
    /// Wrong tries after which a code is void.
    pub max_attempts: u64,
    /// Wrong tries per e-mail from one address group within a day, over all
    /// its codes; beyond it that group's tries for the e-mail are void until
    /// the day has passed.
    pub max_wrong_per_day: u64,
    /// Wrong tries from one address group within a day over all e-mails.
    pub max_wrong_per_address_per_day: u64,
    /// Codes that may be asked within `rate_window` s: per e-mail from one
    /// address group, per address group, per e-mail from all addresses.
    pub per_email: u64,
    pub per_address: u64,
    pub per_email_all_addresses: u64,
    pub rate_window: i64,
}

impl OtpSettings {
    pub fn check(&self) -> Result<(), SettingError> {
        positive(&[
            ("otp.ttl", self.ttl),
            ("otp.max_attempts", count(self.max_attempts)),
            ("otp.max_wrong_per_day", count(self.max_wrong_per_day)),
            ("otp.per_email", count(self.per_email)),
            ("otp.per_address", count(self.per_address)),
            ("otp.per_email_all_addresses", count(self.per_email_all_addresses)),
            (
                "otp.max_wrong_per_address_per_day",
                count(self.max_wrong_per_address_per_day),
            ),
            ("otp.rate_window", self.rate_window),
        ])
    }

    /// Whole minutes a code is valid, as the mail says it.
    pub fn valid_minutes(&self) -> i64 {
        (self.ttl + 59) / 60
    }
}

/// `[login]`: throttling of failed logins per account and per client address.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginSettings {
    pub account_free_failures: u64,
    pub account_max_delay: i64,
    pub address_free_failures: u64,
    pub address_max_delay: i64,
    pub failure_window: i64,
}

impl LoginSettings {
    pub fn check(&self) -> Result<(), SettingError> {
        positive(&[
            ("login.account_max_delay", self.account_max_delay),
            ("login.address_max_delay", self.address_max_delay),
            ("login.failure_window", self.failure_window),
        ])
    }

    pub fn account_throttle(&self) -> ThrottleRule {
        ThrottleRule {
            free_failures: self.account_free_failures,
            max_delay: self.account_max_delay,
            window: self.failure_window,
        }
    }

    pub fn address_throttle(&self) -> ThrottleRule {
        ThrottleRule {
            free_failures: self.address_free_failures,
            max_delay: self.address_max_delay,
            window: self.failure_window,
        }
    }
}

/// `[clients]`: the per-node cache of client registrations.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSettings {
    /// Seconds a node reuses a client's registration from memory; 0: no cache.
    pub cache_ttl: u64,
}

/// Everything the domain services read, built once by the binary.
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    /// Public base URL without a trailing slash; the `iss` of every token.
    pub issuer: String,
    pub tokens: TokenSettings,
    pub session: SessionSettings,
    pub passwords: PasswordSettings,
    pub otp: OtpSettings,
    pub login: LoginSettings,
}

impl ProviderSettings {
    /// `aud` of access tokens issued without a `resource` parameter.
    pub fn default_audience(&self) -> &str {
        match self.tokens.default_audience.as_str() {
            "" => &self.issuer,
            aud => aud,
        }
    }

    /// The longest a signed token stays valid: how long a retired key stays published.
    pub fn max_token_lifetime(&self) -> i64 {
        self.tokens.access_token_ttl.max(self.tokens.id_token_ttl)
    }

    pub fn is_https(&self) -> bool {
        self.issuer.starts_with("https://")
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::default_settings;

    #[test]
    fn the_defaults_pass_their_checks() {
        let s = default_settings();
        s.tokens.check().unwrap();
        s.session.check().unwrap();
        s.passwords.check().unwrap();
        s.otp.check().unwrap();
        s.login.check().unwrap();
    }

    #[test]
    fn out_of_range_values_name_their_setting() {
        let mut s = default_settings();
        s.tokens.code_ttl = 61;
        assert_eq!(s.tokens.check().unwrap_err().setting, "tokens.code_ttl");
        s.otp.ttl = 0;
        assert_eq!(s.otp.check().unwrap_err().setting, "otp.ttl");
        s.passwords.argon2_memory_kib = 1024;
        assert_eq!(s.passwords.check().unwrap_err().setting, "passwords.argon2_*");
        // What the hasher could not run: 4 TiB per hash, fewer than 8 KiB per lane.
        let mut p = default_settings().passwords;
        p.argon2_memory_kib = u32::MAX;
        assert_eq!(p.check().unwrap_err().setting, "passwords.argon2_*");
        let mut p = default_settings().passwords;
        p.argon2_parallelism = 2433;
        assert_eq!(p.check().unwrap_err().setting, "passwords.argon2_*");
        p.argon2_parallelism = 1 << 29;
        assert_eq!(p.check().unwrap_err().setting, "passwords.argon2_*");
        s.login.failure_window = -1;
        assert_eq!(s.login.check().unwrap_err().setting, "login.failure_window");
        s.session.ttl = i64::MAX;
        assert_eq!(s.session.check().unwrap_err().setting, "session.ttl");
    }

    #[test]
    fn an_empty_default_audience_is_the_issuer() {
        let mut s = default_settings();
        assert_eq!(s.default_audience(), s.issuer);
        s.tokens.default_audience = "https://api.hk.no".into();
        assert_eq!(s.default_audience(), "https://api.hk.no");
    }
}
