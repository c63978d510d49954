//! Key lifecycle: generated on first start, rotated by `hk-idp keys rotate`,
//! removed once every token they signed has expired.

use crate::keyring::{KeyRing, KeyRingError};
use hk_idp_core::error::CoreError;
use hk_idp_core::oauth::signing_key::{SigningAlg, StoredKey};
use hk_idp_core::ports::store::KeyStore;
use josekit::jwk::Jwk;
use josekit::jwk::alg::ec::EcCurve;
use josekit::jwk::alg::ed::EdCurve;

fn internal(e: impl std::fmt::Display) -> CoreError {
    CoreError::Internal(e.to_string())
}

/// A fresh private key for `alg`, sealed for storage by `ring`.
pub fn generate_key(ring: &KeyRing, alg: SigningAlg, now: i64) -> Result<StoredKey, KeyRingError> {
    let kid = uuid::Uuid::new_v4().simple().to_string();
    let bad = |e: josekit::JoseError| KeyRingError::BadKey {
        kid: kid.clone(),
        reason: e.to_string(),
    };
    let mut jwk = match alg {
        SigningAlg::RS256 => Jwk::generate_rsa_key(2048).map_err(bad)?,
        SigningAlg::ES256 => Jwk::generate_ec_key(EcCurve::P256).map_err(bad)?,
        SigningAlg::EdDSA => Jwk::generate_ed_key(EdCurve::Ed25519).map_err(bad)?,
    };
    jwk.set_key_id(kid.clone());
    jwk.set_algorithm(alg.as_str());
    Ok(StoredKey {
        private_key: ring.seal(&jwk)?,
        kid,
        alg,
        created_at: now,
        retire_after: None,
    })
}

/// Makes sure every algorithm has a signing key, removes keys past their
/// grace period, and loads the published keys into `ring`.
pub async fn ensure_keys(store: &dyn KeyStore, ring: &KeyRing, now: i64, grace: i64) -> Result<(), CoreError> {
    store.delete_keys_retired_before(now - grace).await?;
    let keys = store.list_keys().await?;
    let mut created = false;
    for alg in SigningAlg::ALL {
        if !keys.iter().any(|k| k.alg == alg && k.retire_after.is_none()) {
            store
                .insert_key(&generate_key(ring, alg, now).map_err(internal)?)
                .await?;
            tracing::info!(alg = alg.as_str(), "keys.generated");
            created = true;
        }
    }
    let keys = if created { store.list_keys().await? } else { keys };
    ring.load(&keys).map_err(internal)
}

/// Retires the signing keys and adds new ones; the old stay published for `grace` seconds.
pub async fn rotate_keys(store: &dyn KeyStore, ring: &KeyRing, now: i64) -> Result<Vec<StoredKey>, CoreError> {
    store.retire_active_keys(now).await?;
    let mut fresh = Vec::new();
    for alg in SigningAlg::ALL {
        let key = generate_key(ring, alg, now).map_err(internal)?;
        store.insert_key(&key).await?;
        fresh.push(key);
    }
    Ok(fresh)
}
