//! Signing keys: private JWK (or its JWE when a key-encryption key is set).

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
                    .table("signing_keys")
                    .col(ColumnDef::new("kid").string_len(64).not_null().primary_key())
                    .col(ColumnDef::new("alg").string_len(16).not_null())
                    .col(ColumnDef::new("private_key").text().not_null())
                    .col(ColumnDef::new("created_at").big_integer().not_null())
                    .col(ColumnDef::new("retire_after").big_integer().null())
                    .to_owned(),
            )
            .await
    }
}
