//! E-mail domains are now kept in their IDNA ASCII form (`kari@xn--blbr-roah.no`
//! for `kari@blåbær.no`), which is how lookups spell them: rewrite the rows
//! registered before. A row whose new spelling is already taken by another
//! member is left as it was and logged, for an admin to resolve.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The ASCII spelling of an address, if it differs and is valid.
fn ascii_form(email: &str) -> Option<String> {
    let (local, domain) = email.rsplit_once('@')?;
    if domain.is_ascii() {
        return None;
    }
    let domain = idna::domain_to_ascii_strict(domain).ok()?;
    Some(format!("{local}@{domain}"))
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// All or nothing on SQLite too (its DDL is transactional), with its record.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let select = Query::select().columns(["id", "email"]).from("members").to_owned();
        let rows = db.query_all(&select).await?;
        for row in rows {
            let id: String = row.try_get("", "id")?;
            let email: String = row.try_get("", "email")?;
            let Some(ascii) = ascii_form(&email) else { continue };
            let taken = Query::select()
                .column("id")
                .from("members")
                .and_where(Expr::col("email").eq(ascii.clone()))
                .to_owned();
            if db.query_one(&taken).await?.is_some() {
                tracing::warn!(member_id = %id, email = %ascii, "migration.idna_email_taken");
                continue;
            }
            let update = Query::update()
                .table("members")
                .value("email", ascii)
                .and_where(Expr::col("id").eq(id))
                .to_owned();
            db.execute(&update).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::ascii_form;

    #[test]
    fn unicode_domains_get_their_ascii_form() {
        assert_eq!(ascii_form("kari@blåbær.no").as_deref(), Some("kari@xn--blbr-roah.no"));
        assert_eq!(ascii_form("kari@hk.no"), None);
    }
}
