//! Short-lived state behind `hk_idp_core::kv::KvStore`: an in-process map for
//! one node, Redis for many. Both pass the suite in `tests/contract.rs`.

mod memory;
mod redis_store;

pub use memory::MemoryStore;
pub use redis_store::RedisStore;
