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

/// At start-up: gives every algorithm without one a first signing key, then
/// loads the keys as `reload_keys` does. Of nodes starting at once on an
/// empty table, one set is stored (the store keeps one not-retired key per
/// algorithm) and every node loads it.
pub async fn ensure_keys(
    store: &dyn KeyStore,
    ring: &KeyRing,
    now: i64,
    schedule: KeySchedule,
) -> Result<(), CoreError> {
    let keys = store.list_keys().await?;
    for alg in SigningAlg::ALL {
        if !keys.iter().any(|k| k.alg == alg && k.retire_after.is_none()) {
            let stored = store
                .insert_first_key(&generate_key(ring, alg, now).map_err(internal)?)
                .await?;
            let event = if stored {
                "keys.generated"
            } else {
                "keys.generated_elsewhere"
            };
            tracing::info!(alg = alg.as_str(), "{event}");
        }
    }
    reload_keys(store, ring, now, schedule).await
}

/// Removes keys past their grace period and loads the published ones into
/// `ring`. Never makes keys: a reload in the middle of a rotation (or of
/// another node's start-up) must not add a set of its own.
pub async fn reload_keys(
    store: &dyn KeyStore,
    ring: &KeyRing,
    now: i64,
    schedule: KeySchedule,
) -> Result<(), CoreError> {
    store.delete_keys_retired_before(now - schedule.keep_retired).await?;
    let keys = store.list_keys().await?;
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::Sealer;
    use hk_idp_core::testing::MemoryDb;
    use std::sync::Arc;

    const SCHEDULE: KeySchedule = KeySchedule {
        publish_first: 360,
        keep_retired: 3600,
    };

    fn not_retired(keys: &[StoredKey]) -> usize {
        keys.iter().filter(|k| k.retire_after.is_none()).count()
    }

    /// The hardening issue's race: a reload while no key is "not retired"
    /// (in the middle of a rotation, or of another node's start-up) made a
    /// key set of its own. Only start-up makes keys.
    #[tokio::test]
    async fn a_reload_never_makes_keys_only_start_up_does() {
        let db = MemoryDb::default();
        let ring = KeyRing::new(Arc::new(Sealer::default()));
        ensure_keys(&db, &ring, 1000, SCHEDULE).await.unwrap();
        let first = db.list_keys().await.unwrap();
        assert_eq!(not_retired(&first), SigningAlg::ALL.len());
        // Every key set to retire, none to take over yet.
        db.rotate_keys(2000, &[]).await.unwrap();
        reload_keys(&db, &ring, 1001, SCHEDULE).await.unwrap();
        let after = db.list_keys().await.unwrap();
        assert_eq!(after.len(), first.len(), "the reload made no keys");
        assert_eq!(not_retired(&after), 0);
        // A start-up (of a node whose table has none) does.
        ensure_keys(&db, &ring, 1002, SCHEDULE).await.unwrap();
        assert_eq!(not_retired(&db.list_keys().await.unwrap()), SigningAlg::ALL.len());
    }
}
