//! `CleanupStore`: each batch one short transaction deleting at most
//! `batch` rows chosen by a sub-select on an indexed column. On PostgreSQL
//! the transaction first tries a transaction-scoped advisory lock, so one
//! node cleans up at a time and the others skip their turn instead of
//! deleting the same rows; SQLite has one writer.

use crate::{SqlStore, db_error};
use async_trait::async_trait;
use hk_idp_core::error::StoreError;
use hk_idp_core::ports::store::{CleanupStore, Sweep};
use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait, Value};

/// The advisory-lock key of the clean-up ("hkidcln" in ASCII).
pub const CLEANUP_LOCK: i64 = 0x0068_6b69_6463_6c6e;

/// The statement removing one batch; `{before}` and `{limit}` are the
/// backend's placeholders.
fn statement(what: Sweep) -> &'static str {
    match what {
        Sweep::RefreshTokens => {
            "DELETE FROM refresh_tokens WHERE hash IN \
             (SELECT hash FROM refresh_tokens WHERE expires_at < {before} LIMIT {limit})"
        }
        Sweep::RefreshFamilies => {
            "DELETE FROM refresh_families WHERE id IN \
             (SELECT id FROM refresh_families WHERE expires_at < {before} LIMIT {limit})"
        }
        Sweep::Consents => {
            "DELETE FROM consents WHERE (member_id, client_id) IN \
             (SELECT c.member_id, c.client_id FROM consents c \
              WHERE NOT EXISTS (SELECT 1 FROM clients k WHERE k.id = c.client_id) \
                 OR NOT EXISTS (SELECT 1 FROM members m WHERE m.id = c.member_id) \
              LIMIT {limit})"
        }
        Sweep::AuditEvents => {
            "DELETE FROM audit_events WHERE id IN \
             (SELECT id FROM audit_events WHERE at < {before} LIMIT {limit})"
        }
    }
}

fn bound(what: Sweep, backend: DbBackend, before: i64, batch: u32) -> Statement {
    let sql = statement(what);
    let mut values: Vec<Value> = Vec::new();
    let mut text = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(at) = rest.find('{') {
        text.push_str(&rest[..at]);
        let end = rest[at..].find('}').map_or(rest.len(), |e| at + e + 1);
        values.push(match &rest[at..end] {
            "{before}" => before.into(),
            _ => i64::from(batch).into(),
        });
        match backend {
            DbBackend::Postgres => text.push_str(&format!("${}", values.len())),
            _ => text.push('?'),
        }
        rest = &rest[end..];
    }
    text.push_str(rest);
    Statement::from_sql_and_values(backend, text, values)
}

#[async_trait]
impl CleanupStore for SqlStore {
    async fn sweep(&self, what: Sweep, before: i64, batch: u32) -> Result<Option<u64>, StoreError> {
        let backend = self.db.get_database_backend();
        let txn = self.db.begin().await.map_err(db_error)?;
        if backend == DbBackend::Postgres {
            let lock = Statement::from_string(
                backend,
                format!("SELECT pg_try_advisory_xact_lock({CLEANUP_LOCK}) AS got"),
            );
            let got = txn
                .query_one_raw(lock)
                .await
                .map_err(db_error)?
                .and_then(|row| row.try_get::<bool>("", "got").ok())
                .unwrap_or(false);
            if !got {
                txn.rollback().await.map_err(db_error)?;
                return Ok(None);
            }
        }
        let done = txn
            .execute_raw(bound(what, backend, before, batch))
            .await
            .map_err(db_error)?;
        txn.commit().await.map_err(db_error)?;
        Ok(Some(done.rows_affected()))
    }
}

/// The tables that grow with use, for `SqlStore::row_counts`.
const COUNTED: [&str; 6] = [
    "refresh_tokens",
    "refresh_families",
    "consents",
    "audit_events",
    "mail_outbox",
    "members",
];

impl SqlStore {
    /// Rows in each table that grows with use: what a soak or an operator
    /// watches to see the database not grow with finished logins.
    pub async fn row_counts(&self) -> Result<Vec<(&'static str, u64)>, StoreError> {
        let backend = self.db.get_database_backend();
        let mut counts = Vec::with_capacity(COUNTED.len());
        for table in COUNTED {
            let stmt = Statement::from_string(backend, format!("SELECT COUNT(*) AS n FROM {table}"));
            let n = self
                .db
                .query_one_raw(stmt)
                .await
                .map_err(db_error)?
                .and_then(|row| row.try_get::<i64>("", "n").ok())
                .unwrap_or(0);
            counts.push((table, u64::try_from(n).unwrap_or(0)));
        }
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_follow_the_backend() {
        let pg = bound(Sweep::AuditEvents, DbBackend::Postgres, 5, 10);
        assert!(pg.sql.contains("at < $1 LIMIT $2"), "{}", pg.sql);
        let lite = bound(Sweep::Consents, DbBackend::Sqlite, 5, 10);
        assert!(lite.sql.contains("LIMIT ?)"), "{}", lite.sql);
        assert_eq!(lite.values.map(|v| v.0.len()), Some(1));
    }
}
