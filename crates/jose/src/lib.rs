//! Signing keys with josekit: generation, encryption at rest, JWS signing and
//! verification, and the pre-rendered JWKS (RFC 7517).

mod keyring;
mod lifecycle;

pub use keyring::{KeyRing, KeyRingError};
pub use lifecycle::{KeySchedule, ensure_keys, generate_key, rotate_keys};
