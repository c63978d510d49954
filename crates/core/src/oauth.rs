//! The protocol side: OAuth 2.0 and OpenID Connect endpoints' rules, clients
//! and their registration, tokens and the keys that sign them.

pub mod authorization_code;
pub mod authorize;
pub mod client;
pub mod client_cache;
pub mod client_registration;
pub mod consent;
pub mod discovery;
pub mod id_token_hint;
pub mod introspection;
pub mod logout;
pub mod params;
pub mod pkce;
pub mod refresh_grant;
pub mod refresh_token;
pub mod revocation;
mod revocation_markers;
pub mod scope;
pub mod signing_key;
pub mod token_endpoint;
pub mod token_minting;
pub mod userinfo;
