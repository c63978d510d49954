//! Migrations are safe to run again and to run twice at once: an
//! interrupted run leaves nothing half done that stops the next, and two
//! `hk-idp migrate` started together (two Kubernetes jobs) both succeed.

use crate::on_both;
use crate::support::{Backend, PgDatabase};
use hk_idp_migrations::{Migrator, MigratorTrait};
use hk_idp_store_sql::SqlStore;
use sea_orm::{ConnectionTrait, Database};

on_both!(
    a_half_applied_migration_is_finished_by_the_next_run,
    duplicate_signing_keys_from_a_start_up_race_are_retired_not_lost,
);

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

/// Two keys per algorithm left by nodes that started at once before
/// migration 11: the newest keeps signing, the other is retired now (still
/// published, so its tokens verify), and the index then keeps it that way.
async fn duplicate_signing_keys_from_a_start_up_race_are_retired_not_lost(b: Backend) {
    let (url, _dir, _pg) = database(b).await;
    let db = Database::connect(&url).await.unwrap();
    Migrator::up(&db, Some(10)).await.unwrap();
    for (kid, at) in [("older", 100), ("newer", 200)] {
        db.execute_unprepared(&format!(
            "INSERT INTO signing_keys (kid, alg, private_key, created_at) VALUES ('{kid}', 'RS256', '{{}}', {at})"
        ))
        .await
        .unwrap();
    }
    let store = SqlStore::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let keys = hk_idp_core::ports::store::KeyStore::list_keys(&store).await.unwrap();
    let retire = |kid: &str| keys.iter().find(|k| k.kid == kid).map(|k| k.retire_after);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert_eq!(retire("newer"), Some(None), "the newest keeps signing");
    let older = retire("older")
        .flatten()
        .expect("the older one is retired, not deleted");
    assert!((now - 60..=now + 60).contains(&older), "retired now: {older} vs {now}");
    let second = db
        .execute_unprepared(
            "INSERT INTO signing_keys (kid, alg, private_key, created_at) VALUES ('third', 'RS256', '{}', 300)",
        )
        .await;
    assert!(second.is_err(), "one not-retired key per algorithm");
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
