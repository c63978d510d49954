//! Signing and verifying JWTs, implemented with josekit in `jose`.

use crate::error::CoreError;
use crate::oauth::signing_key::SigningAlg;
use serde_json::{Map, Value};

pub type Claims = Map<String, Value>;

pub trait TokenSigner: Send + Sync {
    /// Signs `claims` with the current key for `alg`, header `typ` as given.
    fn sign(&self, alg: SigningAlg, typ: &str, claims: &Claims) -> Result<String, CoreError>;
    /// Verifies a JWT's signature with any published key and returns the
    /// claims and the header's `typ`. Expiry is the caller's rule.
    fn verify(&self, jwt: &str) -> Result<(Claims, Option<String>), CoreError>;
    /// The published keys as a JWKS document, pre-rendered.
    fn jwks(&self) -> std::sync::Arc<[u8]>;
}
