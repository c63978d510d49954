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

/// When keys change hands (README, `keys rotate`).
#[derive(Debug, Clone, Copy)]
pub struct KeySchedule {
    /// Seconds a new key is published before it signs: the JWKS cache
    /// lifetime plus the nodes' reload interval.
    pub publish_first: i64,
    /// Seconds a retired key stays published: the longest token lifetime
    /// plus the reload interval (a node may sign with it until it reloads).
    pub keep_retired: i64,
}

/// Makes sure every algorithm has a signing key, removes keys past their
/// grace period, and loads the published keys into `ring`.
pub async fn ensure_keys(
    store: &dyn KeyStore,
    ring: &KeyRing,
    now: i64,
    schedule: KeySchedule,
) -> Result<(), CoreError> {
    store.delete_keys_retired_before(now - schedule.keep_retired).await?;
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
    ring.load(&keys, now, schedule.publish_first).map_err(internal)
}

/// Adds new keys, published at once, and retires the signing ones after
/// `publish_first`, when the new ones take over; one transaction. Returns
/// the new keys.
pub async fn rotate_keys(
    store: &dyn KeyStore,
    ring: &KeyRing,
    now: i64,
    schedule: KeySchedule,
) -> Result<Vec<StoredKey>, CoreError> {
    let fresh = SigningAlg::ALL
        .into_iter()
        .map(|alg| generate_key(ring, alg, now))
        .collect::<Result<Vec<_>, _>>()
        .map_err(internal)?;
    store.rotate_keys(now + schedule.publish_first, &fresh).await?;
    Ok(fresh)
}
