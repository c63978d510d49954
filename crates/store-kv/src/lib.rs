//! Short-lived state on Redis, behind `hk_idp_core::ports::kv::KvStore`, for
//! many nodes. The in-process store for one node is
//! `hk_idp_core::ports::memory_kv::MemoryStore`; both pass the suite in
//! `tests/e2e/kv_contract.rs`.

mod connection;
mod redis_store;

pub use redis_store::RedisStore;
