//! What the domain needs from outside, as traits: durable stores, the
//! short-lived store, the token signer, the mailer, sealing at rest, the clock and the
//! operator's counters (`telemetry`). The
//! in-process short-lived store lives here too; SQL, Redis, JOSE and SMTP
//! implementations live in their own crates.

pub mod clock;
pub mod kv;
pub mod mailer;
pub mod memory_kv;
pub mod sealing;
pub mod signer;
pub mod store;
pub mod telemetry;
