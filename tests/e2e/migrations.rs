//! Migrations are safe to run again and to run twice at once: an
//! interrupted run leaves nothing half done that stops the next, and two
//! `hk-idp migrate` started together (two Kubernetes jobs) both succeed.

use crate::on_both;
use crate::support::{Backend, PgDatabase};
use hk_idp_migrations::{Migrator, MigratorTrait};
use hk_idp_store_sql::SqlStore;
use sea_orm::{ConnectionTrait, Database};

on_both!(a_half_applied_migration_is_finished_by_the_next_run);

async fn database(b: Backend) -> (String, tempfile::TempDir, Option<PgDatabase>) {
    let dir = tempfile::tempdir().unwrap();
    let pg = match b {
        Backend::Embedded => None,
        Backend::PostgresRedis => Some(PgDatabase::create().await),
    };
    let url = match &pg {
        None => format!("sqlite://{}/m.sqlite?mode=rwc", dir.path().display()),
        Some(pg) => pg.url.clone(),
    };
    (url, dir, pg)
}

/// What a run stopped inside migration 9 left before migrations were
/// transactional on SQLite: its first column added, no record of it.
async fn a_half_applied_migration_is_finished_by_the_next_run(b: Backend) {
    let (url, _dir, _pg) = database(b).await;
    let db = Database::connect(&url).await.unwrap();
    Migrator::up(&db, Some(8)).await.unwrap();
    db.execute_unprepared("ALTER TABLE clients ADD COLUMN client_uri TEXT")
        .await
        .unwrap();
    let store = SqlStore::connect(&url).await.unwrap();
    store.migrate().await.expect("the next run finishes the schema");
    assert!(Migrator::get_pending_migrations(&db).await.unwrap().is_empty());
    db.execute_unprepared("SELECT client_uri, updated_at FROM clients")
        .await
        .expect("every column of migration 9");
}

/// Two migrators on one fresh PostgreSQL database at the same moment: the
/// advisory lock lets one apply everything while the other waits and then
/// finds nothing to do.
mod two_migrations_at_once_both_succeed {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs PostgreSQL and Redis (TEST_DATABASE_URL, TEST_REDIS_URL); run with -- --include-ignored"]
    async fn postgres_redis() {
        crate::support::require_services();
        super::two_migrations_at_once_both_succeed().await;
    }
}

async fn two_migrations_at_once_both_succeed() {
    let pg = PgDatabase::create().await;
    let (a, b) = (
        SqlStore::connect(&pg.url).await.unwrap(),
        SqlStore::connect(&pg.url).await.unwrap(),
    );
    for _ in 0..3 {
        let (ra, rb) = tokio::join!(a.migrate(), b.migrate());
        ra.expect("first migrator");
        rb.expect("second migrator");
    }
    let db = Database::connect(&pg.url).await.unwrap();
    assert!(Migrator::get_pending_migrations(&db).await.unwrap().is_empty());
}
