//! The mail outbox: mail waiting to be sent, kept in the database so that
//! any node delivers it, once, when the node that queued it is gone.

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
                    .table("mail_outbox")
                    .col(ColumnDef::new("id").string_len(36).not_null().primary_key())
                    .col(ColumnDef::new("kind").string_len(32).not_null())
                    // The message as JSON, sealed under keys.encryption_key when set.
                    .col(ColumnDef::new("payload").text().not_null())
                    .col(ColumnDef::new("attempts").integer().not_null())
                    .col(ColumnDef::new("created_at").big_integer().not_null())
                    // Milliseconds: when it is due (again), or until when a
                    // node that took it has it.
                    .col(ColumnDef::new("due_at_ms").big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("mail_outbox_due")
                    .table("mail_outbox")
                    .col("due_at_ms")
                    .to_owned(),
            )
            .await
    }
}
