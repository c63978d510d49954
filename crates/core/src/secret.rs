//! Random tokens, their storage hashes and constant-time comparison.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A URL-safe random token of `bytes` bytes of CSPRNG output.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// Storage hash of a high-entropy secret (client secret, refresh token, code):
/// SHA-256, base64url. Such secrets need no slow hash; a leak of the table
/// does not reveal them.
pub fn hash_token(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// Compares two secrets in time independent of where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// Checks a presented secret against its stored hash in constant time.
pub fn verify_token_hash(presented: &str, stored_hash: &str) -> bool {
    constant_time_eq(&hash_token(presented), stored_hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_hashes_verify() {
        let a = random_token(32);
        let b = random_token(32);
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(verify_token_hash(&a, &hash_token(&a)));
        assert!(!verify_token_hash(&b, &hash_token(&a)));
    }
}
