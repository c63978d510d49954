//! The storage set-ups every scenario runs on, and the rule for what runs
//! without them: the PostgreSQL + Redis variants are `#[ignore]`d, so a plain
//! `cargo test --workspace` counts them as ignored, not passed; CI runs them
//! with `-- --include-ignored`, where a missing service fails the test.

/// The storage set-ups every scenario runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite file and the in-process store: the embedded default.
    Embedded,
    /// PostgreSQL and Redis from `TEST_DATABASE_URL` / `TEST_REDIS_URL`.
    PostgresRedis,
}

/// Runs a scenario on both set-ups; the PostgreSQL + Redis variant is ignored
/// unless asked for (`-- --include-ignored`).
#[macro_export]
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn embedded() {
                    super::$name($crate::support::Backend::Embedded).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[ignore = "needs PostgreSQL and Redis (TEST_DATABASE_URL, TEST_REDIS_URL); run with -- --include-ignored"]
                async fn postgres_redis() {
                    $crate::support::require_services();
                    super::$name($crate::support::Backend::PostgresRedis).await;
                }
            }
        )*
    };
}

/// For a test that was asked for by `--include-ignored`: PostgreSQL and Redis
/// must be configured, or the test fails saying what is missing.
pub fn require_services() {
    assert!(
        std::env::var("TEST_DATABASE_URL").is_ok() && std::env::var("TEST_REDIS_URL").is_ok(),
        "set TEST_DATABASE_URL (a PostgreSQL URL whose user may create databases) and TEST_REDIS_URL"
    );
}
