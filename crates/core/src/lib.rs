//! HK ID domain: the OAuth 2.0 / OpenID Connect rules, members, clients and the
//! traits that storage, signing and the clock implement. Free of HTTP and SQL.

pub mod audit;
pub mod authorize;
pub mod client;
pub mod client_cache;
pub mod clock;
pub mod code;
pub mod consent;
pub mod discovery;
pub mod email;
pub mod error;
pub mod grant;
pub mod import;
pub mod invite;
pub mod keys;
pub mod kv;
pub mod locale;
pub mod login;
pub mod logout;
pub mod mail;
pub mod member;
pub mod org_number;
pub mod otp;
pub mod params;
pub mod password;
pub mod password_policy;
pub mod pkce;
pub mod provider;
pub mod refresh;
pub mod registration;
pub mod registry;
pub mod revocation;
pub mod scope;
pub mod secret;
pub mod session;
pub mod settings;
pub mod signer;
pub mod store;
pub mod throttle;
pub mod token;
pub mod userinfo;

pub use error::{CoreError, OAuthError, OAuthErrorCode, StoreError};
pub use provider::Provider;
pub use settings::ProviderSettings;
