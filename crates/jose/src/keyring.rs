//! The loaded keys: one signer per algorithm, verifiers for every published
//! key, and the JWKS document as bytes, swapped whole on change.

use hk_idp_core::error::CoreError;
use hk_idp_core::oauth::signing_key::{SigningAlg, StoredKey};
use hk_idp_core::ports::signer::{Claims, TokenSigner};
use josekit::jwe::{Dir, JweHeader};
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
    #[error("signing keys are encrypted at rest; configure the key-encryption key (keys.encryption_key)")]
    MissingKek,
    #[error("the key-encryption key must be 32 bytes, base64-encoded")]
    BadKek,
}

#[derive(Default)]
struct Loaded {
    signers: HashMap<SigningAlg, (String, Box<dyn JwsSigner>)>,
    verifiers: HashMap<String, Box<dyn JwsVerifier>>,
    jwks: Arc<[u8]>,
}

pub struct KeyRing {
    kek: Option<Vec<u8>>,
    loaded: RwLock<Arc<Loaded>>,
}

impl KeyRing {
    /// `kek`: 32-byte key-encryption key; with it, private keys are stored as JWE (dir, A256GCM).
    pub fn new(kek: Option<Vec<u8>>) -> Result<Self, KeyRingError> {
        if kek.as_ref().is_some_and(|k| k.len() != 32) {
            return Err(KeyRingError::BadKek);
        }
        Ok(Self {
            kek,
            loaded: RwLock::new(Arc::new(Loaded {
                jwks: Arc::from(&b"{\"keys\":[]}"[..]),
                ..Default::default()
            })),
        })
    }

    /// Seals a private JWK for storage.
    pub(crate) fn seal(&self, jwk: &Jwk) -> Result<String, KeyRingError> {
        let plain = jwk.to_string();
        let Some(kek) = &self.kek else {
            return Ok(plain);
        };
        let bad = |e: josekit::JoseError| KeyRingError::BadKey {
            kid: jwk.key_id().unwrap_or("?").into(),
            reason: e.to_string(),
        };
        let enc = Dir.encrypter_from_bytes(kek).map_err(bad)?;
        let mut header = JweHeader::new();
        header.set_content_encryption("A256GCM");
        josekit::jwe::serialize_compact(plain.as_bytes(), &header, &enc).map_err(bad)
    }

    fn open(&self, key: &StoredKey) -> Result<Jwk, KeyRingError> {
        let bad = |reason: String| KeyRingError::BadKey {
            kid: key.kid.clone(),
            reason,
        };
        let bytes = if key.private_key.starts_with('{') {
            key.private_key.as_bytes().to_vec()
        } else {
            let kek = self.kek.as_ref().ok_or(KeyRingError::MissingKek)?;
            let dec = Dir.decrypter_from_bytes(kek).map_err(|e| bad(e.to_string()))?;
            josekit::jwe::deserialize_compact(&key.private_key, &dec)
                .map_err(|_| bad("cannot decrypt: wrong key-encryption key?".into()))?
                .0
        };
        Jwk::from_bytes(bytes).map_err(|e| bad(e.to_string()))
    }

    /// Replaces the loaded keys. `keys` are the published ones; those not
    /// retired sign (the newest per algorithm).
    pub fn load(&self, keys: &[StoredKey]) -> Result<(), KeyRingError> {
        let mut next = Loaded::default();
        let mut public = Vec::new();
        let mut newest: HashMap<SigningAlg, i64> = HashMap::new();
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
            if key.retire_after.is_none() && newest.get(&key.alg).is_none_or(|t| key.created_at >= *t) {
                newest.insert(key.alg, key.created_at);
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
