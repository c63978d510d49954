//! Random tokens, their storage hashes and constant-time comparison.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// base64url, except that it never begins with `-`: generated identifiers
/// and secrets end up on command lines (`hk-idp client show ID`), where a
/// leading `-` reads as a flag. A leading `-` becomes `A`.
fn encode(bytes: &[u8]) -> String {
    let mut s = URL_SAFE_NO_PAD.encode(bytes);
    if s.starts_with('-') {
        s.replace_range(..1, "A");
    }
    s
}

/// A URL-safe random token of `bytes` bytes of CSPRNG output.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buf);
    encode(&buf)
}

fn mac(key: &[u8], parts: &[&str]) -> Vec<u8> {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return Vec::new();
    };
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            mac.update(b"\0");
        }
        mac.update(part.as_bytes());
    }
    mac.finalize().into_bytes().to_vec()
}

/// Storage hash of a short secret under a server `key`: HMAC-SHA256 of
/// `parts` joined by NUL, base64url.
pub fn keyed_hash(key: &[u8], parts: &[&str]) -> String {
    URL_SAFE_NO_PAD.encode(mac(key, parts))
}

/// A token only the holder of `key` can derive from `parts` (HMAC-SHA256,
/// URL-safe, never beginning with `-`).
pub fn keyed_token(key: &[u8], parts: &[&str]) -> String {
    encode(&mac(key, parts))
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

    #[test]
    fn no_generated_token_begins_with_a_dash() {
        // One in 64 base64url strings begins with `-`: 20 000 would show one.
        for _ in 0..20_000 {
            let t = random_token(16);
            assert!(!t.starts_with('-'), "{t}");
        }
        let derived = (0..20_000).map(|i| keyed_token(b"k", &["refresh", &i.to_string()]));
        assert!(derived.into_iter().all(|t| !t.starts_with('-')));
    }

    #[test]
    fn keyed_tokens_depend_on_the_key_and_every_part() {
        let t = keyed_token(b"k", &["a", "b"]);
        assert_eq!(t, keyed_token(b"k", &["a", "b"]));
        assert_ne!(t, keyed_token(b"other", &["a", "b"]));
        assert_ne!(t, keyed_token(b"k", &["ab"]));
    }
}
