//! The request id (`X-Request-Id`) an audit event was recorded under, so an
//! event can be found in the logs and at the proxy.

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
        if manager.has_column("audit_events", "request_id").await? {
            return Ok(());
        }
        manager
            .alter_table(
                Table::alter()
                    .table("audit_events")
                    .add_column(ColumnDef::new("request_id").string_len(64).null())
                    .to_owned(),
            )
            .await
    }
}
