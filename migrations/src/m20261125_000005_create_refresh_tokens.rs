//! Refresh-token families and their tokens (hashed), indexed for revocation.

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
                    .table("refresh_families")
                    .col(ColumnDef::new("id").string_len(36).not_null().primary_key())
                    .col(ColumnDef::new("client_id").string_len(64).not_null())
                    .col(ColumnDef::new("member_id").string_len(36).not_null())
                    .col(ColumnDef::new("scope").text().not_null())
                    .col(ColumnDef::new("sid").string_len(36).not_null())
                    .col(ColumnDef::new("auth_time").big_integer().not_null())
                    .col(ColumnDef::new("offline").boolean().not_null())
                    .col(ColumnDef::new("created_at").big_integer().not_null())
                    .col(ColumnDef::new("expires_at").big_integer().not_null())
                    .col(ColumnDef::new("revoked").boolean().not_null().default(false))
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("idx_refresh_families_member", "member_id"),
            ("idx_refresh_families_sid", "sid"),
            ("idx_refresh_families_client", "client_id"),
            ("idx_refresh_families_expires", "expires_at"),
        ] {
            manager
                .create_index(
                    Index::create()
                        .if_not_exists()
                        .name(name)
                        .table("refresh_families")
                        .col(col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .if_not_exists()
                    .table("refresh_tokens")
                    .col(ColumnDef::new("hash").string_len(64).not_null().primary_key())
                    .col(ColumnDef::new("family_id").string_len(36).not_null())
                    .col(ColumnDef::new("created_at").big_integer().not_null())
                    .col(ColumnDef::new("expires_at").big_integer().not_null())
                    .col(ColumnDef::new("spent").boolean().not_null().default(false))
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("idx_refresh_tokens_family", "family_id"),
            ("idx_refresh_tokens_expires", "expires_at"),
        ] {
            manager
                .create_index(
                    Index::create()
                        .if_not_exists()
                        .name(name)
                        .table("refresh_tokens")
                        .col(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
