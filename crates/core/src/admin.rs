//! The admin's side: the member registry, CSV import, invitations and the
//! audit trail, shared by the CLI and the admin API.

pub mod audit_trail;
pub mod invitation;
pub mod member_import;
pub mod member_registry;
