//! The settings the domain needs, parsed once by the binary.

use crate::keys::SigningAlg;
use crate::throttle::ThrottleRule;

#[derive(Debug, Clone)]
pub struct ProviderSettings {
    /// Public base URL without a trailing slash; the `iss` of every token.
    pub issuer: String,
    pub code_ttl: i64,
    pub access_token_ttl: i64,
    pub id_token_ttl: i64,
    pub refresh_token_ttl: i64,
    pub session_ttl: i64,
    /// How long a person may take on the login page.
    pub login_request_ttl: i64,
    pub access_token_alg: SigningAlg,
    /// `aud` of access tokens issued without a `resource` parameter.
    pub default_audience: String,
    /// Consecutive failures after which a password stops working.
    pub max_failed_logins: i32,
    /// Shortest new password, in characters.
    pub password_min_length: usize,
    /// Seconds a one-time code is valid.
    pub otp_ttl: i64,
    /// Wrong tries after which a code is void.
    pub otp_max_attempts: u64,
    /// Wrong tries per e-mail within a day, over all its codes; beyond it
    /// every code for that e-mail is void until the day has passed.
    pub otp_max_wrong_per_day: u64,
    /// Codes that may be asked per e-mail, and per client address, within the window.
    pub otp_per_email: u64,
    pub otp_per_address: u64,
    pub otp_rate_window: i64,
    pub account_throttle: ThrottleRule,
    pub address_throttle: ThrottleRule,
}

impl ProviderSettings {
    /// Defaults for the given issuer (the values of `config/default.toml`).
    pub fn for_issuer(issuer: &str) -> Self {
        Self {
            issuer: issuer.trim_end_matches('/').to_owned(),
            code_ttl: 60,
            access_token_ttl: 600,
            id_token_ttl: 600,
            refresh_token_ttl: 30 * 24 * 3600,
            session_ttl: 8 * 3600,
            login_request_ttl: 3600,
            access_token_alg: SigningAlg::ES256,
            default_audience: issuer.trim_end_matches('/').to_owned(),
            max_failed_logins: 100,
            password_min_length: 15,
            otp_ttl: 600,
            otp_max_attempts: 5,
            otp_max_wrong_per_day: 20,
            otp_per_email: 5,
            otp_per_address: 30,
            otp_rate_window: 3600,
            account_throttle: ThrottleRule {
                free_failures: 5,
                max_delay: 60,
                window: 900,
            },
            address_throttle: ThrottleRule {
                free_failures: 20,
                max_delay: 900,
                window: 3600,
            },
        }
    }

    /// The longest a signed token stays valid: how long a retired key stays published.
    pub fn max_token_lifetime(&self) -> i64 {
        self.access_token_ttl.max(self.id_token_ttl)
    }

    pub fn is_https(&self) -> bool {
        self.issuer.starts_with("https://")
    }
}
