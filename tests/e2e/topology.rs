//! The production topology: three `hk-idp serve` processes on one
//! PostgreSQL and one Redis behind nginx, which terminates TLS with a
//! certificate from a CA made for the test, balances round-robin and sets
//! `X-Forwarded-For` and `X-Request-Id`. The issuer is the proxy's https
//! URL. Each test starts its own cluster; they need PostgreSQL, Redis and
//! nginx, and run with `-- --include-ignored` (CI installs nginx).

mod across_nodes;
mod addresses;
mod codes;
mod everywhere;
mod keys;
mod mail;
mod node_loss;
mod sentinel;
mod stores;

/// A topology scenario, run when asked for by `--include-ignored`.
#[macro_export]
macro_rules! in_topology {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[ignore = "needs PostgreSQL, Redis and nginx (TEST_DATABASE_URL, TEST_REDIS_URL, /usr/sbin/nginx); run with -- --include-ignored"]
                async fn postgres_redis_nginx() {
                    $crate::support::cluster::require_topology();
                    super::$name().await;
                }
            }
        )*
    };
}
