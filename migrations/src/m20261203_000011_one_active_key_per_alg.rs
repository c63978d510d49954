//! At most one signing key per algorithm that is not yet retired, kept by a
//! partial unique index: of two nodes that generate first keys at the same
//! start-up, one set is stored and both load it. Duplicates left by such a
//! race before this index are retired now (still published, so tokens they
//! signed verify until the usual grace ends); the newest of each stays.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// All or nothing on SQLite too (its DDL is transactional), with its record.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let now = match db.get_database_backend() {
            DbBackend::Postgres => "CAST(EXTRACT(EPOCH FROM now()) AS BIGINT)",
            _ => "CAST(strftime('%s', 'now') AS INTEGER)",
        };
        db.execute_unprepared(&format!(
            "UPDATE signing_keys SET retire_after = {now} \
             WHERE retire_after IS NULL AND EXISTS (\
               SELECT 1 FROM signing_keys newer \
               WHERE newer.alg = signing_keys.alg AND newer.retire_after IS NULL \
                 AND (newer.created_at > signing_keys.created_at \
                      OR (newer.created_at = signing_keys.created_at AND newer.kid > signing_keys.kid)))"
        ))
        .await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX IF NOT EXISTS idx_signing_keys_one_active_per_alg \
             ON signing_keys (alg) WHERE retire_after IS NULL",
        )
        .await?;
        Ok(())
    }
}
