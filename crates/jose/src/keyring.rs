//! The loaded keys: one signer per algorithm, verifiers for every published
//! key, and the JWKS document as bytes, swapped whole on change.

use crate::sealer::Sealer;
use hk_idp_core::error::CoreError;
use hk_idp_core::oauth::signing_key::{SigningAlg, StoredKey};
use hk_idp_core::ports::signer::{Claims, TokenSigner};
use josekit::jwk::Jwk;
use josekit::jws::{ES256, EdDSA, JwsHeader, JwsSigner, JwsVerifier, RS256};
use josekit::jwt::{self, JwtPayload};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

#[derive(Debug, thiserror::Error)]
pub enum KeyRingError {
    #[error("key {kid}: {reason}")]
    BadKey { kid: String, reason: String },
    #[error("secrets are encrypted at rest; configure the key-encryption key (keys.encryption_key)")]
    MissingKek,
    #[error(
        "a secret is sealed under a key-encryption key that is not configured: \
         set it as keys.encryption_key or in keys.previous_encryption_keys"
    )]
    UnknownKek,
    #[error("the key-encryption key must be 32 bytes, base64-encoded")]
    BadKek,
    #[error("stored secret ({purpose}): {reason}")]
    Sealed { purpose: String, reason: String },
}

#[derive(Default)]
struct Loaded {
    signers: HashMap<SigningAlg, (String, Box<dyn JwsSigner>)>,
    verifiers: HashMap<String, Box<dyn JwsVerifier>>,
    jwks: Arc<[u8]>,
}

pub struct KeyRing {
    sealer: Arc<Sealer>,
    loaded: RwLock<Arc<Loaded>>,
}

/// What a signing key's sealed header says it is for.
pub(crate) fn key_purpose(kid: &str) -> String {
    format!("signing key {kid}")
}

/// Which key signs per algorithm at `now` (publish first, then sign): of the
/// keys not yet retired, the newest published at least `publish_first`
/// seconds ago, so every relying party's cached JWKS has it. A rotation
/// leaves the old key signing until then. With none that old (the very
/// first keys, or a rotation soon after them), the one published longest.
pub fn signing_kids(keys: &[StoredKey], now: i64, publish_first: i64) -> HashMap<SigningAlg, &str> {
    let mut chosen: HashMap<SigningAlg, (bool, i64, &str)> = HashMap::new();
    for key in keys.iter().filter(|k| k.retire_after.is_none_or(|r| r > now)) {
        let published = key.created_at + publish_first <= now;
        let rank = if published { key.created_at } else { -key.created_at };
        let candidate = (published, rank, key.kid.as_str());
        let best = chosen.entry(key.alg).or_insert(candidate);
        if (candidate.0, candidate.1) > (best.0, best.1) {
            *best = candidate;
        }
    }
    chosen.into_iter().map(|(alg, (_, _, kid))| (alg, kid)).collect()
}

impl KeyRing {
    /// Private keys are stored as `sealer` seals them.
    pub fn new(sealer: Arc<Sealer>) -> Self {
        Self {
            sealer,
            loaded: RwLock::new(Arc::new(Loaded {
                jwks: Arc::from(&b"{\"keys\":[]}"[..]),
                ..Default::default()
            })),
        }
    }

    pub fn sealer(&self) -> &Sealer {
        &self.sealer
    }

    /// Seals a private JWK for storage.
    pub(crate) fn seal(&self, jwk: &Jwk) -> Result<String, KeyRingError> {
        let kid = jwk.key_id().unwrap_or_default();
        self.sealer.seal(&key_purpose(kid), &jwk.to_string())
    }

    fn open(&self, key: &StoredKey) -> Result<Jwk, KeyRingError> {
        let plain = self.sealer.open(&key_purpose(&key.kid), &key.private_key)?;
        Jwk::from_bytes(plain).map_err(|e| KeyRingError::BadKey {
            kid: key.kid.clone(),
            reason: e.to_string(),
        })
    }

    /// Replaces the loaded keys. Every key in `keys` is published; per
    /// algorithm one signs (`signing_kids`).
    pub fn load(&self, keys: &[StoredKey], now: i64, publish_first: i64) -> Result<(), KeyRingError> {
        let mut next = Loaded::default();
        let mut public = Vec::new();
        let chosen = signing_kids(keys, now, publish_first);
        for key in keys {
            let jwk = self.open(key)?;
            let bad = |e: josekit::JoseError| KeyRingError::BadKey {
                kid: key.kid.clone(),
                reason: e.to_string(),
            };
            let (signer, verifier): (Box<dyn JwsSigner>, Box<dyn JwsVerifier>) = match key.alg {
                SigningAlg::RS256 => (
                    Box::new(RS256.signer_from_jwk(&jwk).map_err(bad)?),
                    Box::new(RS256.verifier_from_jwk(&jwk).map_err(bad)?),
                ),
                SigningAlg::ES256 => (
                    Box::new(ES256.signer_from_jwk(&jwk).map_err(bad)?),
                    Box::new(ES256.verifier_from_jwk(&jwk).map_err(bad)?),
                ),
                SigningAlg::EdDSA => (
                    Box::new(EdDSA.signer_from_jwk(&jwk).map_err(bad)?),
                    Box::new(EdDSA.verifier_from_jwk(&jwk).map_err(bad)?),
                ),
            };
            let mut pubkey = jwk.to_public_key().map_err(bad)?;
            pubkey.set_key_id(key.kid.clone());
            pubkey.set_algorithm(key.alg.as_str());
            pubkey.set_key_use("sig");
            public.push(Value::Object(pubkey.into()));
            next.verifiers.insert(key.kid.clone(), verifier);
            if chosen.get(&key.alg) == Some(&key.kid.as_str()) {
                next.signers.insert(key.alg, (key.kid.clone(), signer));
            }
        }
        let doc = serde_json::to_vec(&json!({ "keys": public })).unwrap_or_default();
        next.jwks = Arc::from(doc);
        if let Ok(mut slot) = self.loaded.write() {
            *slot = Arc::new(next);
        }
        Ok(())
    }

    /// The key id that signs for `alg`.
    pub fn signing_kid(&self, alg: SigningAlg) -> Option<String> {
        self.current().signers.get(&alg).map(|(kid, _)| kid.clone())
    }

    fn current(&self) -> Arc<Loaded> {
        self.loaded.read().map(|l| Arc::clone(&l)).unwrap_or_default()
    }

    /// Algorithms that have a signing key.
    pub fn signing_algs(&self) -> Vec<SigningAlg> {
        let mut v: Vec<SigningAlg> = self.current().signers.keys().copied().collect();
        v.sort();
        v
    }
}

impl TokenSigner for KeyRing {
    fn sign(&self, alg: SigningAlg, typ: &str, claims: &Claims) -> Result<String, CoreError> {
        let loaded = self.current();
        let (kid, signer) = loaded
            .signers
            .get(&alg)
            .ok_or_else(|| CoreError::Signing(format!("no signing key for {alg}")))?;
        let mut header = JwsHeader::new();
        header.set_token_type(typ);
        header.set_key_id(kid.clone());
        let payload = JwtPayload::from_map(claims.clone()).map_err(|e| CoreError::Signing(e.to_string()))?;
        jwt::encode_with_signer(&payload, &header, signer.as_ref()).map_err(|e| CoreError::Signing(e.to_string()))
    }

    fn verify(&self, token: &str) -> Result<(Claims, Option<String>), CoreError> {
        if token.len() > 16 * 1024 {
            return Err(CoreError::Invalid("token too long".into()));
        }
        let loaded = self.current();
        let (payload, header) = jwt::decode_with_verifier_selector(token, |h| {
            Ok(h.key_id().and_then(|kid| loaded.verifiers.get(kid)).map(|v| v.as_ref()))
        })
        .map_err(|e| CoreError::Invalid(format!("token rejected: {e}")))?;
        let typ = header.token_type().map(str::to_owned);
        Ok((payload.claims_set().clone(), typ))
    }

    /// The JWKS document, rendered when the keys were loaded.
    fn jwks(&self) -> Arc<[u8]> {
        Arc::clone(&self.current().jwks)
    }
}

#[cfg(test)]
mod tests {
    use super::signing_kids;
    use hk_idp_core::oauth::signing_key::{SigningAlg, StoredKey};

    fn key(kid: &str, created_at: i64, retire_after: Option<i64>) -> StoredKey {
        StoredKey {
            kid: kid.into(),
            alg: SigningAlg::ES256,
            private_key: String::new(),
            created_at,
            retire_after,
        }
    }

    fn signer(keys: &[StoredKey], now: i64) -> String {
        signing_kids(keys, now, 360)[&SigningAlg::ES256].to_owned()
    }

    #[test]
    fn a_new_key_signs_only_once_every_cache_has_it() {
        // Rotated at 1000: the old key retires at 1360, when the new one has been published for 360 s.
        let keys = [key("old", 0, Some(1360)), key("new", 1000, None)];
        assert_eq!(signer(&keys, 1000), "old");
        assert_eq!(signer(&keys, 1359), "old");
        assert_eq!(signer(&keys, 1360), "new");
        assert_eq!(signer(&keys, 9999), "new");
    }

    #[test]
    fn the_first_keys_sign_at_once_and_rotations_in_a_row_hand_over_in_order() {
        assert_eq!(signer(&[key("first", 1000, None)], 1000), "first");
        // Rotated 100 s after the first start: the first keys go on signing.
        let keys = [key("first", 1000, Some(1460)), key("next", 1100, None)];
        assert_eq!(signer(&keys, 1100), "first");
        assert_eq!(signer(&keys, 1460), "next");
        // Rotated at 1000 and again at 1100.
        let keys = [
            key("a", 0, Some(1360)),
            key("b", 1000, Some(1460)),
            key("c", 1100, None),
        ];
        assert_eq!(signer(&keys, 1200), "a");
        assert_eq!(signer(&keys, 1400), "b");
        assert_eq!(signer(&keys, 1460), "c");
    }
}

#[cfg(test)]
mod verify_properties {
    //! What a stranger hands us as a token (`id_token_hint`, a bearer
    //! token): never a panic, always a refusal unless we signed it.
    #![allow(clippy::unwrap_used)]
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use proptest::prelude::*;

    /// One ring for every case: RSA keys take long to make.
    fn ring() -> &'static KeyRing {
        static RING: std::sync::OnceLock<KeyRing> = std::sync::OnceLock::new();
        RING.get_or_init(|| {
            let ring = KeyRing::new(Arc::default());
            let keys: Vec<_> = SigningAlg::ALL
                .into_iter()
                .map(|alg| crate::generate_key(&ring, alg, 0).unwrap())
                .collect();
            ring.load(&keys, 0, 0).unwrap();
            ring
        })
    }

    fn part() -> impl Strategy<Value = String> {
        let header = prop_oneof![
            Just(r#"{"alg":"none"}"#.to_owned()),
            Just(r#"{"alg":"RS256","kid":"unknown"}"#.to_owned()),
            Just(r#"{"alg":"HS256"}"#.to_owned()),
            ".{0,60}",
        ];
        prop_oneof![
            header.prop_map(|h| URL_SAFE_NO_PAD.encode(h)),
            "[A-Za-z0-9_-]{0,60}",
            ".{0,30}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn any_token_we_did_not_sign_is_refused(parts in proptest::collection::vec(part(), 0..6)) {
            let token = parts.join(".");
            prop_assert!(ring().verify(&token).is_err(), "{token}");
        }
    }
}
