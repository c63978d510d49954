//! RFC 7591/7592 client metadata and the registration access token's hash on
//! `clients`; `invited_at` on `members` so an invitation run can resume
//! without inviting anyone twice; audit events by kind and time.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Adds `col` unless an earlier, interrupted run added it already.
async fn add_column_once(manager: &SchemaManager<'_>, table: &'static str, mut col: ColumnDef) -> Result<(), DbErr> {
    let name = col.get_column_name();
    if manager.has_column(table, &name).await? {
        return Ok(());
    }
    manager
        .alter_table(Table::alter().table(table).add_column(&mut col).to_owned())
        .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// All or nothing on SQLite too (its DDL is transactional), with its record.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column per statement.
        for col in [
            ColumnDef::new("client_uri").text().null().to_owned(),
            ColumnDef::new("logo_uri").text().null().to_owned(),
            ColumnDef::new("contacts").text().not_null().default("[]").to_owned(),
            ColumnDef::new("scope").text().null().to_owned(),
            ColumnDef::new("registration_token_hash")
                .string_len(64)
                .null()
                .to_owned(),
            ColumnDef::new("updated_at")
                .big_integer()
                .not_null()
                .default(0)
                .to_owned(),
        ] {
            add_column_once(manager, "clients", col).await?;
        }
        add_column_once(
            manager,
            "members",
            ColumnDef::new("invited_at").big_integer().null().to_owned(),
        )
        .await?;
        for (name, col) in [
            ("idx_audit_events_kind_at", "kind"),
            ("idx_audit_events_member_at", "member_id"),
        ] {
            manager
                .create_index(
                    Index::create()
                        .if_not_exists()
                        .name(name)
                        .table("audit_events")
                        .col(col)
                        .col("at")
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
