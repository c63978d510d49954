//! Members: e-mail unique (stored lower-cased, so case-insensitive), password hash or none.

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
                    .table("members")
                    .col(ColumnDef::new("id").string_len(36).not_null().primary_key())
                    .col(ColumnDef::new("email").string_len(254).not_null().unique_key())
                    .col(ColumnDef::new("name").string_len(200).null())
                    .col(ColumnDef::new("org_number").string_len(9).null())
                    .col(ColumnDef::new("org_name").string_len(200).null())
                    .col(ColumnDef::new("password_hash").string_len(200).null())
                    .col(ColumnDef::new("status").string_len(16).not_null())
                    .col(ColumnDef::new("failed_logins").integer().not_null().default(0))
                    .col(ColumnDef::new("created_at").big_integer().not_null())
                    .col(ColumnDef::new("updated_at").big_integer().not_null())
                    .to_owned(),
            )
            .await
    }
}
