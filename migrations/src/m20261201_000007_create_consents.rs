//! Consents: which scopes a member has allowed a third-party client.

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
                    .table("consents")
                    .col(ColumnDef::new("member_id").string_len(36).not_null())
                    .col(ColumnDef::new("client_id").string_len(64).not_null())
                    .col(ColumnDef::new("scope").text().not_null())
                    .col(ColumnDef::new("granted_at").big_integer().not_null())
                    .primary_key(Index::create().col("member_id").col("client_id"))
                    .to_owned(),
            )
            .await
    }
}
