//! Named server secrets shared by all nodes (e.g. the CSRF key).

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
                    .table("server_secrets")
                    .col(ColumnDef::new("name").string_len(64).not_null().primary_key())
                    .col(ColumnDef::new("value").text().not_null())
                    .to_owned(),
            )
            .await
    }
}
