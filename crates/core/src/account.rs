//! The member's side: who a member is, logging in and its throttling,
//! passwords (hashing and policy), one-time codes by mail, SSO sessions.

pub mod email;
pub mod login;
pub mod login_throttle;
pub mod member;
pub mod one_time_code;
pub mod org_number;
pub mod otp_limits;
pub mod otp_purpose;
pub mod password_hashing;
pub mod password_policy;
pub mod session;
pub mod throttle_rule;
