//! Audit events: who, what, when, from where. Never a secret.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// All or nothing on SQLite too (its DDL is transactional), with its record.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .if_not_exists()
                    .table("audit_events")
                    .col(ColumnDef::new("id").string_len(36).not_null().primary_key())
                    .col(ColumnDef::new("at").big_integer().not_null())
                    .col(ColumnDef::new("kind").string_len(64).not_null())
                    .col(ColumnDef::new("actor").string_len(128).not_null())
                    .col(ColumnDef::new("member_id").string_len(36).null())
                    .col(ColumnDef::new("client_id").string_len(64).null())
                    .col(ColumnDef::new("ip").string_len(64).null())
                    .col(ColumnDef::new("detail").text().null())
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("idx_audit_events_at", "at"),
            ("idx_audit_events_member", "member_id"),
            ("idx_audit_events_kind", "kind"),
        ] {
            manager
                .create_index(
                    Index::create()
                        .if_not_exists()
                        .name(name)
                        .table("audit_events")
                        .col(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
