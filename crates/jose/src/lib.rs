//! Signing keys with josekit: generation, encryption of stored secrets, JWS signing and
//! verification, and the pre-rendered JWKS (RFC 7517).

mod keyring;
mod lifecycle;
mod sealer;
mod secrets;

pub use keyring::{KeyRing, KeyRingError};
pub use lifecycle::{KeySchedule, ensure_keys, generate_key, reload_keys, rotate_keys};
pub use sealer::{Sealer, is_sealed};
pub use secrets::{Reseal, Resealed, reseal_secrets, server_secret};
