//! HK ID domain: the OAuth 2.0 / OpenID Connect rules, members, clients and the
//! traits that storage, signing, mail and the clock implement. Free of HTTP and SQL.
//!
//! - `oauth`: the protocol side (authorization, tokens, clients, logout).
//! - `account`: the member's side (login, passwords, one-time codes, sessions).
//! - `admin`: the admin's side (member registry, import, invitations, audit trail).
//! - `ports`: the traits other crates implement, and the in-process stores.
//!
//! `provider`, `settings`, `ports` and the plain type modules (`audit`, `error`,
//! `locale`, `secret`, `account::otp_purpose`, `account::throttle_rule`, …)
//! never import a module that holds `impl Provider` services, so no module
//! imports another that imports it back.

pub mod account;
pub mod admin;
pub mod audit;
pub mod cleanup;
pub mod client_address;
pub mod error;
pub mod locale;
pub mod mail_queue;
pub mod oauth;
pub mod ports;
pub mod provider;
pub mod secret;
pub mod settings;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

#[cfg(test)]
mod parser_properties;

pub use error::{CoreError, OAuthError, OAuthErrorCode, StoreError};
pub use provider::Provider;
pub use settings::ProviderSettings;
