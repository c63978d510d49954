//! Named server secrets shared by all nodes (e.g. the CSRF key).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("server_secrets")
                    .col(ColumnDef::new("name").string_len(64).not_null().primary_key())
                    .col(ColumnDef::new("value").text().not_null())
                    .to_owned(),
            )
            .await
    }
}
