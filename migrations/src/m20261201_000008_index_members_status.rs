//! Members by status (pending ones for invitations), in id order.

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
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("idx_members_status_id")
                    .table("members")
                    .col("status")
                    .col("id")
                    .to_owned(),
            )
            .await
    }
}
