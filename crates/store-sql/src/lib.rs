//! Durable stores on sea-orm: members, clients, signing keys, refresh-token
//! families and audit events, on SQLite (the embedded default) and PostgreSQL.

mod audit;
mod cleanup;
pub use cleanup::CLEANUP_LOCK;
mod client;
mod consent;
mod entity;
mod error;
mod key;
mod member;
mod outbox;
mod refresh;

use hk_idp_core::error::StoreError;
use hk_idp_migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, TransactionTrait};
use std::time::Duration;

pub use error::db_error;

/// PostgreSQL text cannot hold NUL: a key with one names no row, on either
/// database, and must not reach the driver as an error.
pub(crate) fn storable(key: &str) -> bool {
    !key.contains('\0')
}

/// The PostgreSQL advisory-lock key migrations run under ("hkid" in ASCII).
const MIGRATION_LOCK: i64 = 0x686b_6964;

/// All durable stores over one connection pool.
#[derive(Clone)]
pub struct SqlStore {
    db: DatabaseConnection,
}

impl SqlStore {
    /// Connects to `sqlite://…` or `postgres://…`. For SQLite the file's folder is created.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            let file = path.split('?').next().unwrap_or_default();
            if let Some(dir) = std::path::Path::new(file)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
            {
                std::fs::create_dir_all(dir)
                    .map_err(|e| StoreError::Backend(format!("cannot create {}: {e}", dir.display())))?;
            }
        }
        let mut opts = ConnectOptions::new(url.to_owned());
        opts.max_connections(if url.starts_with("sqlite") { 4 } else { 16 })
            .min_connections(1)
            // When the database is gone every request waits this long for a
            // connection before its 503: short, as a request that waits
            // seconds for a connection under load is better shed too.
            .connect_timeout(Duration::from_secs(2))
            .acquire_timeout(Duration::from_secs(3))
            .sqlx_logging(false);
        let db = Database::connect(opts).await.map_err(db_error)?;
        if url.starts_with("sqlite") {
            // WAL lets readers proceed while one writer writes; wait instead of failing on a lock.
            for pragma in [
                "PRAGMA journal_mode=WAL",
                "PRAGMA busy_timeout=5000",
                "PRAGMA synchronous=NORMAL",
            ] {
                db.execute_unprepared(pragma).await.map_err(db_error)?;
            }
        }
        Ok(Self { db })
    }

    /// Applies pending migrations.
    /// Applies pending migrations. On PostgreSQL under an advisory lock held
    /// by the whole run, so migrators started together (two deploy jobs)
    /// take turns: the second waits, then finds nothing to do.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        if self.db.get_database_backend() != DbBackend::Postgres {
            return Migrator::up(&self.db, None).await.map_err(db_error);
        }
        let txn = self.db.begin().await.map_err(db_error)?;
        txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
            .await
            .map_err(db_error)?;
        Migrator::up(&txn, None).await.map_err(db_error)?;
        txn.commit().await.map_err(db_error)
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        self.db.ping().await.map_err(db_error)
    }
}

#[async_trait::async_trait]
impl hk_idp_core::ports::store::Health for SqlStore {
    async fn ping(&self) -> Result<(), StoreError> {
        SqlStore::ping(self).await
    }

    fn pool(&self) -> Option<hk_idp_core::ports::store::PoolUse> {
        let (size, idle, max) = match self.db.get_database_backend() {
            DbBackend::Postgres => {
                let p = self.db.get_postgres_connection_pool();
                (p.size(), p.num_idle(), p.options().get_max_connections())
            }
            _ => {
                let p = self.db.get_sqlite_connection_pool();
                (p.size(), p.num_idle(), p.options().get_max_connections())
            }
        };
        let idle = u32::try_from(idle).unwrap_or(size);
        Some(hk_idp_core::ports::store::PoolUse {
            in_use: size.saturating_sub(idle),
            idle,
            max,
        })
    }
}
