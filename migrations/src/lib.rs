//! Database migrations, one file per change, whose schema is never edited
//! after merge. The same set serves SQLite and PostgreSQL. Each runs in a
//! transaction with its record (on SQLite too) and is safe to run again:
//! tables and indexes `IF NOT EXISTS`, columns only if absent. The caller
//! (`SqlStore::migrate`) holds a PostgreSQL advisory lock meanwhile.

pub use sea_orm_migration::prelude::*;

mod m20261125_000001_create_members;
mod m20261125_000002_create_clients;
mod m20261125_000003_create_signing_keys;
mod m20261125_000004_create_server_secrets;
mod m20261125_000005_create_refresh_tokens;
mod m20261125_000006_create_audit_events;
mod m20261201_000007_create_consents;
mod m20261201_000008_index_members_status;
mod m20261201_000009_registration_and_invitations;
mod m20261201_000010_idna_member_emails;
mod m20261203_000011_one_active_key_per_alg;
mod m20261203_000012_audit_request_id;
mod m20261203_000013_mail_outbox;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_create_members::Migration),
            Box::new(m20261125_000002_create_clients::Migration),
            Box::new(m20261125_000003_create_signing_keys::Migration),
            Box::new(m20261125_000004_create_server_secrets::Migration),
            Box::new(m20261125_000005_create_refresh_tokens::Migration),
            Box::new(m20261125_000006_create_audit_events::Migration),
            Box::new(m20261201_000007_create_consents::Migration),
            Box::new(m20261201_000008_index_members_status::Migration),
            Box::new(m20261201_000009_registration_and_invitations::Migration),
            Box::new(m20261201_000010_idna_member_emails::Migration),
            Box::new(m20261203_000011_one_active_key_per_alg::Migration),
            Box::new(m20261203_000012_audit_request_id::Migration),
            Box::new(m20261203_000013_mail_outbox::Migration),
        ]
    }
}
