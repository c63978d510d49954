//! RFC 7591/7592 client metadata and the registration access token's hash on
//! `clients`; `invited_at` on `members` so an invitation run can resume
//! without inviting anyone twice; audit events by kind and time.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
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
            let mut col = col;
            manager
                .alter_table(Table::alter().table("clients").add_column(&mut col).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table("members")
                    .add_column(ColumnDef::new("invited_at").big_integer().null())
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("idx_audit_events_kind_at", "kind"),
            ("idx_audit_events_member_at", "member_id"),
        ] {
            manager
                .create_index(
                    Index::create()
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
