//! Members by status (pending ones for invitations), in id order.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("idx_members_status_id")
                    .table("members")
                    .col("status")
                    .col("id")
                    .to_owned(),
            )
            .await
    }
}
