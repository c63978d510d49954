//! Clients (relying parties). URI and grant lists are JSON arrays in text columns.

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
                    .table("clients")
                    .col(ColumnDef::new("id").string_len(64).not_null().primary_key())
                    .col(ColumnDef::new("secret_hash").string_len(64).null())
                    .col(ColumnDef::new("name").string_len(200).not_null())
                    .col(ColumnDef::new("redirect_uris").text().not_null())
                    .col(ColumnDef::new("post_logout_redirect_uris").text().not_null())
                    .col(ColumnDef::new("grant_types").text().not_null())
                    .col(ColumnDef::new("auth_method").string_len(32).not_null())
                    .col(ColumnDef::new("id_token_alg").string_len(16).not_null())
                    .col(ColumnDef::new("initiate_login_uri").text().null())
                    .col(ColumnDef::new("first_party").boolean().not_null().default(false))
                    .col(ColumnDef::new("created_at").big_integer().not_null())
                    .to_owned(),
            )
            .await
    }
}
