//! sea-orm entities, private to this crate; converted to core types at the trait boundary.

pub mod audit_event;
pub mod client;
pub mod consent;
pub mod mail_outbox;
pub mod member;
pub mod refresh_family;
pub mod refresh_token;
pub mod server_secret;
pub mod signing_key;
